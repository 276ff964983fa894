#pragma once
// SDSS spec / spec-lite reader and writer (DR7-DR17 SDSS and BOSS layouts).
//
// Standard layout ("sdss-coadd"): HDU named COADD (flux, loglam, ivar, and_mask) plus one HDU named
// SPECOBJ (SDSS) or SPALL (BOSS) with a single row of metadata; HDUs are found by EXTNAME, so extra
// HDUs (SPZLINE, per-exposure B1-/R1- tables) are ignored. A COADD without SPECOBJ/SPALL is
// rejected: the catalogue cuts (z, ZWARNING, S/N) need that row.
//
// Non-standard layout ("sdss-wavelength-table"), e.g. re-packed files like NGC3522_SDSS.fits: no
// COADD HDU, the first extension is a table with `flux` and a linear `wavelength` column (ivar as
// `ivar` or `inverse_variance`) and there is no SPECOBJ. It is supported on purpose, because the
// spectrum itself is fine, but every metadata field stays NaN / -1 / "" (its header keywords are
// free-form strings we do not trust) and `layout` says so, so callers applying catalogue cuts
// skip it naturally (z is NaN).
#include <cmath>
#include <filesystem>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "galml/io/fits.hpp"
#include "galml/io/spectrum.hpp"

namespace galml::io {

namespace detail {

// Wavelengths must be finite and strictly increasing (Spectrum's contract); a corrupt file fails here.
inline void check_wavelength(const FitsFile& f, const std::vector<double>& w, const char* col) {
  for (size_t i = 0; i < w.size(); ++i) {
    if (!std::isfinite(w[i]) || w[i] <= 0 || (i > 0 && !(w[i] > w[i - 1])))
      f.fail_msg("wavelength not finite, positive and strictly increasing at pixel " + std::to_string(i), col);
  }
}

inline std::string_view trim_ws_view(std::string_view v) {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  return v;
}

// First row of an optional metadata column; leaves `out` untouched when the column is absent.
template <class T, class U>
inline void meta(const FitsFile& f, const char* col, U& out, long long k = 0) {
  if (!f.has_column(col)) return;
  auto c = f.read_column<T>(col);
  if (c.repeat <= k || c.values.empty()) return;
  if constexpr (std::is_same_v<T, std::string>) {
    out = std::string(trim_ws_view(c.values[static_cast<size_t>(k)]));  // 22A SPECOBJID is right-aligned
  } else {
    out = static_cast<U>(c.values[static_cast<size_t>(k)]);
  }
}

inline void read_pixels(FitsFile& f, Spectrum& s, bool loglam) {
  auto flux = f.read_column<float>("flux");
  GALML_CHECK(flux.repeat == 1, "FITS: '", f.path().string(), "' HDU '", f.current_name(),
              "': flux is a vector column; expected one pixel per row");
  s.flux = std::move(flux.values);
  if (loglam) {
    auto ll = f.read_column<double>("loglam");
    s.wavelength.resize(ll.values.size());
    for (size_t i = 0; i < ll.values.size(); ++i) s.wavelength[i] = std::pow(10.0, ll.values[i]);
    check_wavelength(f, s.wavelength, "loglam");
  } else {
    s.wavelength = f.read_column<double>("wavelength").values;
    check_wavelength(f, s.wavelength, "wavelength");
  }
  const char* ivar_col = f.has_column("ivar") ? "ivar" : f.has_column("inverse_variance") ? "inverse_variance" : nullptr;
  if (!ivar_col) f.fail_msg("missing column 'ivar' (or 'inverse_variance')");
  s.ivar = f.read_column<float>(ivar_col).values;
  if (f.has_column("and_mask")) s.and_mask = f.read_column<int32_t>("and_mask").values;
  GALML_CHECK(s.wavelength.size() == s.flux.size() && s.ivar.size() == s.flux.size() &&
                  (s.and_mask.empty() || s.and_mask.size() == s.flux.size()),
              "FITS: '", f.path().string(), "' HDU '", f.current_name(), "': column lengths differ");
}

}  // namespace detail

inline Spectrum read_sdss_spectrum(const std::filesystem::path& path) {
  FitsFile f = FitsFile::open(path);
  Spectrum s;
  s.source = path.string();
  auto coadd = f.find_hdu("COADD");
  if (!coadd) {
    // Non-standard layout: first extension with flux + wavelength and no SPECOBJ.
    if (f.num_hdus() >= 2) {
      f.move_to(1);
      if (f.current_type() == HduType::binary_table && f.has_column("flux") && f.has_column("wavelength") &&
          !f.has_hdu("SPECOBJ") && !f.has_hdu("SPALL")) {
        detail::read_pixels(f, s, false);
        s.layout = "sdss-wavelength-table";
        return s;
      }
    }
    f.move_to("COADD");  // throws "missing HDU 'COADD' (file has: ...)"
  }
  f.move_to(*coadd);
  if (f.current_type() != HduType::binary_table) f.fail_msg("COADD is not a binary table");
  if (!f.has_column("loglam")) f.fail_msg("missing column 'loglam'");
  detail::read_pixels(f, s, true);

  auto meta_hdu = f.find_hdu("SPECOBJ");
  if (!meta_hdu) meta_hdu = f.find_hdu("SPALL");
  if (!meta_hdu) f.move_to("SPECOBJ");  // throws, naming the file and the HDUs it has
  f.move_to(*meta_hdu);
  if (f.current_type() != HduType::binary_table) f.fail_msg("metadata HDU is not a binary table");
  if (f.num_rows() != 1) f.fail_msg("expected exactly 1 metadata row, found " + std::to_string(f.num_rows()));
  detail::meta<double>(f, "Z", s.z);
  detail::meta<int32_t>(f, "ZWARNING", s.zwarning);
  detail::meta<std::string>(f, "CLASS", s.cls);
  detail::meta<std::string>(f, "SUBCLASS", s.subclass);
  detail::meta<double>(f, "SN_MEDIAN_ALL", s.sn_median_all);
  detail::meta<double>(f, "SN_MEDIAN", s.sn_median_r, 2);  // [u,g,r,i,z]: r is index 2
  detail::meta<int32_t>(f, "PLATE", s.plate);
  detail::meta<int32_t>(f, "MJD", s.mjd);
  detail::meta<int32_t>(f, "FIBERID", s.fiberid);
  detail::meta<double>(f, f.has_column("PLUG_RA") ? "PLUG_RA" : "RA", s.ra);
  detail::meta<double>(f, f.has_column("PLUG_DEC") ? "PLUG_DEC" : "DEC", s.dec);
  detail::meta<std::string>(f, "SPECOBJID", s.targetid);  // 22A in SDSS, K in BOSS: both to text
  s.layout = "sdss-coadd";
  return s;
}

// Writes PRIMARY (empty), COADD and SPECOBJ so read_sdss_spectrum round-trips every field. loglam,
// Z, S/N and coordinates are written as doubles (SDSS uses float) so the round trip is exact.
inline void write_sdss_spectrum(const std::filesystem::path& path, const Spectrum& s) {
  const size_t n = s.flux.size();
  GALML_CHECK(s.wavelength.size() == n && s.ivar.size() == n && (s.and_mask.empty() || s.and_mask.size() == n),
              "write_sdss_spectrum('", path.string(), "'): wavelength/flux/ivar/and_mask lengths differ (",
              s.wavelength.size(), "/", n, "/", s.ivar.size(), "/", s.and_mask.size(), ")");
  std::vector<double> loglam(n);
  for (size_t i = 0; i < n; ++i) {
    GALML_CHECK(std::isfinite(s.wavelength[i]) && s.wavelength[i] > 0 && (i == 0 || s.wavelength[i] > s.wavelength[i - 1]),
                "write_sdss_spectrum('", path.string(), "'): wavelength must be positive and strictly increasing (pixel ", i, ")");
    loglam[i] = std::log10(s.wavelength[i]);
  }
  std::vector<int32_t> mask = s.and_mask.empty() ? std::vector<int32_t>(n, 0) : s.and_mask;
  FitsFile f = FitsFile::create(path);
  f.write_empty_primary();
  f.write_key("ORIGIN", std::string("galml"), "written by galml::io::write_sdss_spectrum");
  f.write_table("COADD", {{"flux", s.flux, 1, "1e-17 erg/s/cm^2/Angstrom"},
                          {"loglam", loglam, 1, "log10(Angstrom)"},
                          {"ivar", s.ivar, 1, ""},
                          {"and_mask", mask, 1, ""}});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  f.write_table("SPECOBJ", {{"PLATE", std::vector<int32_t>{s.plate}, 1, ""},
                            {"MJD", std::vector<int32_t>{s.mjd}, 1, ""},
                            {"FIBERID", std::vector<int32_t>{s.fiberid}, 1, ""},
                            {"PLUG_RA", std::vector<double>{s.ra}, 1, "deg"},
                            {"PLUG_DEC", std::vector<double>{s.dec}, 1, "deg"},
                            {"CLASS", std::vector<std::string>{s.cls}, 1, ""},
                            {"SUBCLASS", std::vector<std::string>{s.subclass}, 1, ""},
                            {"Z", std::vector<double>{s.z}, 1, ""},
                            {"ZWARNING", std::vector<int32_t>{s.zwarning}, 1, ""},
                            {"SN_MEDIAN", std::vector<double>{nan, nan, s.sn_median_r, nan, nan}, 5, ""},
                            {"SN_MEDIAN_ALL", std::vector<double>{s.sn_median_all}, 1, ""},
                            {"SPECOBJID", std::vector<std::string>{s.targetid}, 1, ""}});
  f.commit();
}

}  // namespace galml::io

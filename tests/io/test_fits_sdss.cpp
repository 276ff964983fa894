// SDSS spec reader against the independent astropy reference (shared/data/sdss-real/reference.csv),
// the non-standard layout, write->read round trips and bad-input errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "galml/io/csv.hpp"
#include "galml/io/fits.hpp"
#include "galml/io/sdss.hpp"
#include "io/io_test_util.hpp"

using namespace galml::io;
using galml_io_test::have_shared;
using galml_io_test::shared_dir;
using galml_io_test::tmp_path;

static std::string join_names(const std::vector<std::string>& v) {
  std::string s;
  for (auto& x : v) s += (s.empty() ? "" : "|") + x;
  return s;
}

TEST_CASE("read_sdss_spectrum reproduces reference.csv for every real spectrum", "[io][sdss]") {
  if (!have_shared("data/sdss-real/reference.csv")) { SUCCEED(); return; }
  auto ref = CsvTable::read(shared_dir() / "data/sdss-real/reference.csv");
  auto dir = shared_dir() / "data/sdss-real/spectra";
  size_t n_files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) n_files += e.path().extension() == ".fits";
  REQUIRE(ref.rows() == n_files);  // every file in spectra/ has a reference row
  for (size_t r = 0; r < ref.rows(); ++r) {
    auto path = dir / ref.get_string(r, "file");
    INFO(path.string());
    Spectrum s = read_sdss_spectrum(path);
    {
      FitsFile f = FitsFile::open(path);
      CHECK(join_names(f.hdu_names()) == ref.get_string(r, "hdus"));
    }
    CHECK(s.layout == "sdss-coadd");
    CHECK(s.source == path.string());
    REQUIRE(static_cast<int64_t>(s.flux.size()) == ref.get_int(r, "npix"));
    CHECK(s.wavelength.size() == s.flux.size());
    CHECK(s.ivar.size() == s.flux.size());
    CHECK(s.and_mask.size() == s.flux.size());
    CHECK(std::abs(s.wavelength.front() - ref.get_double(r, "lam_min")) < 1e-3);
    CHECK(std::abs(s.wavelength.back() - ref.get_double(r, "lam_max")) < 1e-3);
    for (size_t i = 1; i < s.wavelength.size(); ++i) REQUIRE(s.wavelength[i] > s.wavelength[i - 1]);
    // Reference values are printed with 7 (z) and 5 (S/N) significant digits.
    CHECK(s.z == Approx(ref.get_double(r, "z")).epsilon(1e-6));
    CHECK(s.zwarning == ref.get_int(r, "zwarning"));
    CHECK(s.cls == ref.get_string(r, "cls"));
    CHECK(s.subclass == ref.get_string(r, "subclass"));
    CHECK(s.sn_median_all == Approx(ref.get_double(r, "sn_median_all")).epsilon(1e-4));
    CHECK(s.plate == ref.get_int(r, "plate"));
    CHECK(s.mjd == ref.get_int(r, "mjd"));
    CHECK(s.fiberid == ref.get_int(r, "fiberid"));
    // Fields not in the reference: present, plausible and well formed.
    CHECK(std::isfinite(s.sn_median_r));
    CHECK(s.ra >= 0.0);
    CHECK(s.ra < 360.0);
    CHECK(std::abs(s.dec) <= 90.0);
    CHECK(!s.targetid.empty());
    CHECK(s.targetid.find(' ') == std::string::npos);
    CHECK(s.flag.empty());
  }
}

TEST_CASE("spec file name parses to the plate/mjd/fiberid stored inside it", "[io][sdss]") {
  if (!have_shared("data/sdss-real/spectra")) { SUCCEED(); return; }
  for (auto& e : std::filesystem::directory_iterator(shared_dir() / "data/sdss-real/spectra")) {
    auto key = parse_sdss_spec_filename(e.path().filename().string());
    if (!key) continue;  // NGC4636_SDSS_DR12.fits does not follow the pattern
    Spectrum s = read_sdss_spectrum(e.path());
    CHECK(std::get<0>(*key) == s.plate);
    CHECK(std::get<1>(*key) == s.mjd);
    CHECK(std::get<2>(*key) == s.fiberid);
    CHECK(sdss_spec_filename(s.plate, s.mjd, s.fiberid) == e.path().filename().string());
  }
}

TEST_CASE("non-standard wavelength-table file is read with NaN metadata and says so", "[io][sdss]") {
  if (!have_shared("data/sdss-real/nonstandard/NGC3522_SDSS.fits")) { SUCCEED(); return; }
  auto path = shared_dir() / "data/sdss-real/nonstandard/NGC3522_SDSS.fits";
  Spectrum s = read_sdss_spectrum(path);
  CHECK(s.layout == "sdss-wavelength-table");
  FitsFile f = FitsFile::open(path);
  f.move_to(1);
  REQUIRE(static_cast<long long>(s.flux.size()) == f.num_rows());
  auto wave = f.read_column<double>("wavelength").values;
  auto ivar = f.read_column<double>("inverse_variance").values;
  CHECK(s.wavelength == wave);
  CHECK(s.ivar.size() == ivar.size());
  CHECK(s.ivar[100] == static_cast<float>(ivar[100]));
  CHECK(s.and_mask.size() == s.flux.size());
  CHECK(std::isnan(s.z));
  CHECK(s.zwarning == -1);
  CHECK(s.plate == -1);
  CHECK(s.cls.empty());
  CHECK(std::isnan(s.sn_median_all));
}

static Spectrum synthetic_spectrum() {
  Spectrum s;
  for (int i = 0; i < 500; ++i) {
    s.wavelength.push_back(std::pow(10.0, 3.5800 + 1e-4 * i));
    s.flux.push_back(static_cast<float>(1.5 + std::sin(0.05 * i)));
    s.ivar.push_back(i % 37 == 0 ? 0.0f : 4.0f + 0.01f * static_cast<float>(i));
    s.and_mask.push_back(i % 37 == 0 ? (1 << 23) : 0);
  }
  s.z = 0.123456789012;
  s.zwarning = 4;
  s.cls = "GALAXY";
  s.subclass = "AGN BROADLINE";
  s.sn_median_all = 17.25;
  s.sn_median_r = 21.5;
  s.plate = 266;
  s.mjd = 51602;
  s.fiberid = 13;
  s.ra = 146.93412345678;
  s.dec = -0.5212345678;
  s.targetid = "299492975510054912";
  return s;
}

TEST_CASE("write_sdss_spectrum round-trips through read_sdss_spectrum", "[io][sdss]") {
  Spectrum s = synthetic_spectrum();
  auto path = tmp_path("roundtrip-spec.fits");
  write_sdss_spectrum(path, s);
  CHECK_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  Spectrum r = read_sdss_spectrum(path);
  CHECK(r.layout == "sdss-coadd");
  REQUIRE(r.flux.size() == s.flux.size());
  CHECK(r.flux == s.flux);
  CHECK(r.ivar == s.ivar);
  CHECK(r.and_mask == s.and_mask);
  for (size_t i = 0; i < s.wavelength.size(); ++i) REQUIRE(r.wavelength[i] == Approx(s.wavelength[i]).epsilon(1e-13));
  CHECK(r.z == s.z);
  CHECK(r.zwarning == s.zwarning);
  CHECK(r.cls == s.cls);
  CHECK(r.subclass == s.subclass);
  CHECK(r.sn_median_all == s.sn_median_all);
  CHECK(r.sn_median_r == s.sn_median_r);
  CHECK(r.plate == s.plate);
  CHECK(r.mjd == s.mjd);
  CHECK(r.fiberid == s.fiberid);
  CHECK(r.ra == s.ra);
  CHECK(r.dec == s.dec);
  CHECK(r.targetid == s.targetid);
  FitsFile f = FitsFile::open(path);
  CHECK(join_names(f.hdu_names()) == "PRIMARY|COADD|SPECOBJ");

  // Overwriting keeps the layout and replaces the content.
  s.z = 0.5;
  s.and_mask.clear();
  write_sdss_spectrum(path, s);
  Spectrum r2 = read_sdss_spectrum(path);
  CHECK(r2.z == 0.5);
  CHECK(r2.and_mask == std::vector<int32_t>(s.flux.size(), 0));
}

TEST_CASE("real spectrum survives read -> write -> read", "[io][sdss]") {
  if (!have_shared("data/sdss-real/spectra/spec-3586-55181-0003.fits")) { SUCCEED(); return; }
  Spectrum a = read_sdss_spectrum(shared_dir() / "data/sdss-real/spectra/spec-3586-55181-0003.fits");
  auto path = tmp_path("roundtrip-real.fits");
  write_sdss_spectrum(path, a);
  Spectrum b = read_sdss_spectrum(path);
  CHECK(b.flux == a.flux);
  CHECK(b.ivar == a.ivar);
  CHECK(b.and_mask == a.and_mask);
  CHECK(b.wavelength.front() == Approx(a.wavelength.front()).epsilon(1e-13));
  CHECK(b.z == a.z);
  CHECK(b.zwarning == a.zwarning);
  CHECK(b.cls == a.cls);
  CHECK(b.targetid == a.targetid);
  CHECK(b.sn_median_r == a.sn_median_r);
}

TEST_CASE("write_sdss_spectrum rejects inconsistent spectra without touching the target", "[io][sdss]") {
  Spectrum s = synthetic_spectrum();
  auto path = tmp_path("reject-spec.fits");
  write_sdss_spectrum(path, s);
  Spectrum bad = s;
  bad.ivar.pop_back();
  REQUIRE_THROWS_WITH(write_sdss_spectrum(path, bad), Catch::Contains("reject-spec.fits") && Catch::Contains("lengths differ"));
  bad = s;
  std::swap(bad.wavelength[3], bad.wavelength[4]);
  REQUIRE_THROWS_WITH(write_sdss_spectrum(path, bad), Catch::Contains("strictly increasing"));
  CHECK(read_sdss_spectrum(path).z == s.z);  // the earlier file is intact
}

TEST_CASE("missing SPECOBJ HDU and missing loglam column are clear errors", "[io][sdss]") {
  Spectrum s = synthetic_spectrum();
  auto no_meta = tmp_path("no-specobj.fits");
  {
    FitsFile f = FitsFile::create(no_meta);
    f.write_empty_primary();
    f.write_table("COADD", {{"flux", s.flux, 1, ""}, {"loglam", std::vector<double>(s.flux.size(), 3.6), 1, ""},
                            {"ivar", s.ivar, 1, ""}});
    f.commit();
  }
  // loglam constant -> wavelength not increasing is found before the metadata check
  REQUIRE_THROWS_WITH(read_sdss_spectrum(no_meta), Catch::Contains("no-specobj.fits") && Catch::Contains("strictly increasing"));
  {
    std::vector<double> ll;
    for (auto w : s.wavelength) ll.push_back(std::log10(w));
    FitsFile f = FitsFile::create(no_meta);
    f.write_empty_primary();
    f.write_table("COADD", {{"flux", s.flux, 1, ""}, {"loglam", ll, 1, ""}, {"ivar", s.ivar, 1, ""}});
    f.commit();
  }
  REQUIRE_THROWS_WITH(read_sdss_spectrum(no_meta),
                      Catch::Contains("no-specobj.fits") && Catch::Contains("missing HDU 'SPECOBJ'") && Catch::Contains("COADD"));

  auto no_loglam = tmp_path("no-loglam.fits");
  {
    FitsFile f = FitsFile::create(no_loglam);
    f.write_empty_primary();
    f.write_table("COADD", {{"flux", s.flux, 1, ""}, {"ivar", s.ivar, 1, ""}});
    f.write_table("SPECOBJ", {{"Z", std::vector<double>{0.1}, 1, ""}});
    f.commit();
  }
  REQUIRE_THROWS_WITH(read_sdss_spectrum(no_loglam), Catch::Contains("no-loglam.fits") && Catch::Contains("COADD") &&
                                                         Catch::Contains("missing column 'loglam'"));

  auto no_ivar = tmp_path("no-ivar.fits");
  {
    std::vector<double> ll;
    for (auto w : s.wavelength) ll.push_back(std::log10(w));
    FitsFile f = FitsFile::create(no_ivar);
    f.write_empty_primary();
    f.write_table("COADD", {{"flux", s.flux, 1, ""}, {"loglam", ll, 1, ""}});
    f.write_table("SPECOBJ", {{"Z", std::vector<double>{0.1}, 1, ""}});
    f.commit();
  }
  REQUIRE_THROWS_WITH(read_sdss_spectrum(no_ivar), Catch::Contains("no-ivar.fits") && Catch::Contains("ivar"));

  auto no_coadd = tmp_path("no-coadd.fits");
  {
    FitsFile f = FitsFile::create(no_coadd);
    f.write_empty_primary();
    f.write_table("SPECOBJ", {{"Z", std::vector<double>{0.1}, 1, ""}});
    f.commit();
  }
  REQUIRE_THROWS_WITH(read_sdss_spectrum(no_coadd), Catch::Contains("no-coadd.fits") && Catch::Contains("missing HDU 'COADD'"));
}

TEST_CASE("empty, non-FITS and missing files are clear errors", "[io][sdss]") {
  auto empty = tmp_path("empty.fits");
  galml_io_test::spit(empty, {});
  REQUIRE_THROWS_WITH(read_sdss_spectrum(empty), Catch::Contains("empty.fits") && Catch::Contains("empty file"));
  auto text = tmp_path("not-fits.fits");
  std::string t(6000, 'x');
  galml_io_test::spit(text, std::vector<char>(t.begin(), t.end()));
  REQUIRE_THROWS_WITH(read_sdss_spectrum(text), Catch::Contains("not-fits.fits") && Catch::Contains("FITS"));
  REQUIRE_THROWS_WITH(read_sdss_spectrum(tmp_path("does-not-exist.fits")),
                      Catch::Contains("does-not-exist.fits") && Catch::Contains("not found"));
  REQUIRE_THROWS_WITH(read_sdss_spectrum(std::filesystem::path(GALML_TEST_TMP_DIR)), Catch::Contains("not a regular file"));
}

TEST_CASE("truncated real spectrum and corrupt NAXIS2 are errors, not crashes or huge allocations", "[io][sdss]") {
  if (!have_shared("data/sdss-real/spectra/spec-0266-51602-0013.fits")) { SUCCEED(); return; }
  auto bytes = galml_io_test::slurp(shared_dir() / "data/sdss-real/spectra/spec-0266-51602-0013.fits");
  auto p = tmp_path("truncated.fits");
  for (size_t cut : {size_t(100), size_t(2880), size_t(2880 * 3 + 500), bytes.size() / 2, bytes.size() - 2880 * 8}) {
    galml_io_test::spit(p, std::vector<char>(bytes.begin(), bytes.begin() + static_cast<long>(cut)));
    INFO("cut at " << cut);
    REQUIRE_THROWS_WITH(read_sdss_spectrum(p), Catch::Contains("truncated.fits"));
  }
  // COADD NAXIS2 = 3838 rows -> 999999999 rows: must be caught by the file-size guard.
  std::string s(bytes.begin(), bytes.end());
  std::string card = "NAXIS2  =                 3838";
  auto pos = s.find(card);
  REQUIRE(pos != std::string::npos);
  s.replace(pos, card.size(), "NAXIS2  =            999999999");
  p = tmp_path("huge-naxis2.fits");
  galml_io_test::spit(p, std::vector<char>(s.begin(), s.end()));
  REQUIRE_THROWS_WITH(read_sdss_spectrum(p), Catch::Contains("huge-naxis2.fits") && Catch::Contains("COADD"));
}

#pragma once
// The built-in mock survey: writes SDSS-like spec-PPPP-MMMMM-FFFF.fits files and a catalog.csv with
// the columns of a CasJobs export of the MTLforGalSpecZ selection (SpecObj + galSpecExtra +
// emissionLinesPort + galSpecExtra masses), plus truth.csv with what the generator used. Images of the
// same galaxies: mock/images.hpp (write_survey_images); stars: mock/stars.hpp.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "galml/core/error.hpp"
#include "galml/data/progress.hpp"
#include "galml/io/csv.hpp"
#include "galml/io/sdss.hpp"
#include "galml/mock/galaxies.hpp"

namespace galml::mock {

struct SurveySummary {
  int64_t galaxies = 0, files = 0, catalog_rows = 0;
  std::filesystem::path spectra_dir, catalog, truth;
};

inline const std::vector<std::string>& catalog_columns() {
  static const std::vector<std::string> c = {"specobjid", "plate",    "mjd",      "fiberid", "z",          "zwarning",
                                             "snMedian_r", "bptclass", "port_bpt", "oh_p50",  "lgm_tot_p50"};
  return c;
}

namespace detail {
// Fixed formats so the catalogue bytes depend only on the values (determinism across runs/threads).
inline std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
}  // namespace detail

// Writes <out_dir>/spectra/*.fits, <out_dir>/catalog.csv and <out_dir>/truth.csv. Same options -> same
// bytes, whatever n_threads is. Galaxies are generated in parallel; each writes its own file.
inline SurveySummary write_survey(const std::filesystem::path& out_dir, const MockOptions& o) {
  namespace fs = std::filesystem;
  const fs::path spectra = out_dir / "spectra";
  std::error_code ec;
  fs::create_directories(spectra, ec);
  GALML_CHECK(!ec, "mock::write_survey: cannot create '", spectra.string(), "': ", ec.message());
  const std::vector<int> cls = survey_classes(o);
  const int64_t n = int64_t(cls.size());
  std::vector<GalaxyTruth> truth(cls.size());
  std::vector<double> sn_r(cls.size());
  data::Progress prog("mock survey", n, o.progress);
  data::parallel_items(n, o.n_threads, [&](int64_t k) {
    MockGalaxy g = make_galaxy(k, cls[size_t(k)], o);
    if (g.truth.write_file) {
      const fs::path f = spectra / io::sdss_spec_filename(g.truth.plate, g.truth.mjd, g.truth.fiberid);
      fs::remove(f);  // cfitsio refuses to overwrite
      io::write_sdss_spectrum(f, g.spectrum);
    }
    sn_r[size_t(k)] = g.spectrum.sn_median_r;
    truth[size_t(k)] = std::move(g.truth);
    prog.add();
  });

  SurveySummary sum;
  sum.galaxies = n;
  sum.spectra_dir = spectra;
  sum.catalog = out_dir / "catalog.csv";
  sum.truth = out_dir / "truth.csv";
  using detail::fmt;
  std::vector<std::vector<std::string>> rows, trows;
  for (int64_t k = 0; k < n; ++k) {
    const GalaxyTruth& t = truth[size_t(k)];
    sum.files += t.write_file;
    std::vector<std::string> row = {std::to_string(t.specobjid), std::to_string(t.plate), std::to_string(t.mjd),
                                    std::to_string(t.fiberid), fmt("%.7f", t.z), std::to_string(t.zwarning),
                                    fmt("%.4f", sn_r[size_t(k)]), std::to_string(t.bptclass), t.port_bpt,
                                    t.oh_p50 == -9999.0 ? std::string("-9999") : fmt("%.4f", t.oh_p50),
                                    fmt("%.4f", t.lgm_tot_p50)};
    rows.push_back(row);
    if (t.duplicate_row) rows.push_back(row);  // CasJobs joins can repeat a row
    trows.push_back({std::to_string(t.specobjid), io::sdss_spec_filename(t.plate, t.mjd, t.fiberid), std::to_string(t.cls),
                     t.liner ? "1" : "0", fmt("%.7f", t.z), fmt("%.4f", t.log_mstar), fmt("%.4f", t.f_young), fmt("%.4f", t.mh),
                     std::isnan(t.oh) ? std::string("nan") : fmt("%.4f", t.oh), fmt("%.4f", t.log_n2ha), fmt("%.4f", t.log_o3hb),
                     fmt("%.4f", t.ebv_gas), fmt("%.3f", t.ew_ha), fmt("%.3f", t.snr_target), fmt("%.6f", t.loglam_start),
                     t.write_file ? "1" : "0"});
  }
  sum.catalog_rows = int64_t(rows.size());
  io::write_csv(sum.catalog, catalog_columns(), rows);
  io::write_csv(sum.truth,
                {"specobjid", "file", "true_class", "liner", "z", "log_mstar", "f_young", "mh", "oh_true", "log_n2ha", "log_o3hb",
                 "ebv_gas", "ew_ha", "snr_target", "loglam_start", "has_file"},
                trows);
  return sum;
}

}  // namespace galml::mock

// The mock survey on disk: FITS files readable by read_sdss_spectrum, the CasJobs-style catalogue,
// and byte-identical output for the same seed whatever the thread count.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "galml/io/class_map.hpp"
#include "galml/io/csv.hpp"
#include "galml/io/sdss.hpp"
#include "galml/mock/survey.hpp"

using namespace galml;
namespace fs = std::filesystem;

namespace {
std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}
}  // namespace

TEST_CASE("mock survey: files, catalogue, determinism", "[mock][fits]") {
  const fs::path a = fs::path(GALML_TEST_TMP_DIR) / "mock_a", b = fs::path(GALML_TEST_TMP_DIR) / "mock_b",
                 c = fs::path(GALML_TEST_TMP_DIR) / "mock_c";
  for (auto& p : {a, b, c}) fs::remove_all(p);
  mock::MockOptions o;
  o.n_per_class = 60;
  o.seed = 11;
  o.progress = false;
  o.duplicate_row_fraction = 0.02;  // make sure the small survey has some of each oddity
  o.missing_file_fraction = 0.02;
  o.n_threads = 2;
  auto sa = mock::write_survey(a, o);
  o.n_threads = 1;
  auto sb = mock::write_survey(b, o);
  o.seed = 12;
  mock::write_survey(c, o);

  CHECK(sa.galaxies == 240);
  CHECK(sa.files < 240);
  CHECK(sa.catalog_rows > 240);
  CHECK(slurp(a / "catalog.csv") == slurp(b / "catalog.csv"));
  CHECK(slurp(a / "truth.csv") == slurp(b / "truth.csv"));
  CHECK(slurp(a / "catalog.csv") != slurp(c / "catalog.csv"));
  int nfiles = 0, same = 0;
  for (auto& e : fs::directory_iterator(a / "spectra")) {
    ++nfiles;
    same += slurp(e.path()) == slurp(b / "spectra" / e.path().filename());
  }
  CHECK(nfiles == sa.files);
  CHECK(same == nfiles);

  auto cat = io::CsvTable::read(a / "catalog.csv");
  for (auto& col : mock::catalog_columns()) CHECK(cat.has_column(col));
  int disagree = 0, zwarn = 0, no_oh_sf = 0, read = 0;
  for (size_t r = 0; r < cat.rows(); ++r) {
    const int cls = io::agreed_galaxy_class(int(cat.get_int(r, "bptclass")), cat.get_string(r, "port_bpt"));
    disagree += cls < 0;
    zwarn += cat.get_int(r, "zwarning") != 0;
    no_oh_sf += cls == 1 && std::isnan(cat.get_double(r, "oh_p50"));
    const fs::path f = a / "spectra" / io::sdss_spec_filename(cat.get_int(r, "plate"), cat.get_int(r, "mjd"), cat.get_int(r, "fiberid"));
    if (fs::exists(f) && read < 20) {
      auto s = io::read_sdss_spectrum(f);
      CHECK(s.z == Approx(cat.get_double(r, "z")).margin(1e-6));
      CHECK(s.zwarning == cat.get_int(r, "zwarning"));
      CHECK(s.cls == "GALAXY");
      CHECK(s.targetid == cat.get_string(r, "specobjid"));
      CHECK(s.sn_median_r == Approx(cat.get_double(r, "snMedian_r")).margin(1e-4));
      ++read;
    }
  }
  WARN("mock catalogue: " << cat.rows() << " rows, " << disagree << " disagreeing classes, " << zwarn << " ZWARNING != 0, "
                          << no_oh_sf << " SF without oh_p50");
  CHECK(disagree > 0);
  CHECK(read == 20);
}

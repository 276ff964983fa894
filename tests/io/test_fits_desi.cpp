// DESI coadd reader against shared/data/desi-real/reference.csv (computed independently with numpy).
#include <catch2/catch.hpp>

#include <cmath>
#include <map>

#include "galml/io/csv.hpp"
#include "galml/io/desi.hpp"
#include "io/io_test_util.hpp"

using namespace galml::io;
using galml_io_test::have_shared;
using galml_io_test::shared_dir;
using galml_io_test::tmp_path;

TEST_CASE("read_desi_coadd matches reference.csv (merged grid, mean flux, TARGETID)", "[io][desi]") {
  if (!have_shared("data/desi-real/reference.csv")) { SUCCEED(); return; }
  auto ref = CsvTable::read(shared_dir() / "data/desi-real/reference.csv");
  std::map<std::string, std::vector<Spectrum>> files;
  for (size_t r = 0; r < ref.rows(); ++r) {
    auto name = ref.get_string(r, "file");
    if (!files.count(name)) files[name] = read_desi_coadd(shared_dir() / "data/desi-real" / name);
    const auto& v = files[name];
    auto row = static_cast<size_t>(ref.get_int(r, "row"));
    REQUIRE(row < v.size());
    const Spectrum& s = v[row];
    INFO(name << " row " << row);
    CHECK(s.layout == "desi-coadd");
    CHECK(s.targetid == ref.get_string(r, "targetid"));
    REQUIRE(static_cast<int64_t>(s.flux.size()) == ref.get_int(r, "npix"));
    CHECK(s.wavelength.size() == s.flux.size());
    CHECK(s.wavelength.front() == Approx(ref.get_double(r, "lam_min")).margin(1e-4));
    CHECK(s.wavelength.back() == Approx(ref.get_double(r, "lam_max")).margin(1e-4));
    const double step = ref.get_double(r, "step");
    for (size_t i = 1; i < s.wavelength.size(); ++i) REQUIRE(s.wavelength[i] - s.wavelength[i - 1] == Approx(step).margin(1e-4));
    double mean = 0;
    for (float f : s.flux) mean += f;
    mean /= static_cast<double>(s.flux.size());
    const double expect = ref.get_double(r, "mean_flux");
    if (expect == 0.0) {
      // Blanked target: read, all zero, and flagged.
      CHECK(mean == 0.0);
      CHECK_FALSE(s.flag.empty());
      CHECK(s.flag.find("blank") != std::string::npos);
    } else {
      CHECK(mean == Approx(expect).epsilon(1e-5));
      CHECK(s.flag.empty());
      CHECK(std::isfinite(s.ra));
    }
  }
  CHECK(files.size() == 2);
}

TEST_CASE("DESI merge: overlap is the ivar-weighted mean, plain mean where ivar sums to 0", "[io][desi]") {
  // Two arms on a 1 A grid overlapping at 102..104 A; target 0 has ivar, target 1 has ivar 0 there.
  auto path = tmp_path("desi-synthetic.fits");
  {
    FitsFile f = FitsFile::create(path);
    f.write_empty_primary();
    f.write_table("FIBERMAP", {{"TARGETID", std::vector<int64_t>{11, 22}, 1, ""}});
    f.write_image<double>("B_WAVELENGTH", {100, 101, 102, 103, 104}, {5});
    f.write_image<float>("B_FLUX", {1, 1, 2, 2, 2, 5, 5, 5, 5, 5}, {5, 2});
    f.write_image<float>("B_IVAR", {1, 1, 1, 3, 0, 0, 0, 0, 0, 0}, {5, 2});
    f.write_image<double>("R_WAVELENGTH", {102, 103, 104, 105}, {4});
    f.write_image<float>("R_FLUX", {4, 6, 8, 9, 1, 1, 1, 1}, {4, 2});
    f.write_image<float>("R_IVAR", {1, 1, 2, 1, 0, 0, 0, 0}, {4, 2});
    f.commit();
  }
  auto v = read_desi_coadd(path);
  REQUIRE(v.size() == 2);
  REQUIRE(v[0].wavelength == std::vector<double>{100, 101, 102, 103, 104, 105});
  CHECK(v[0].targetid == "11");
  CHECK(v[1].targetid == "22");
  CHECK(v[0].flux[0] == 1.0f);
  CHECK(v[0].flux[2] == Approx((2.0 * 1 + 4.0 * 1) / 2));   // weights 1, 1
  CHECK(v[0].flux[3] == Approx((2.0 * 3 + 6.0 * 1) / 4));   // weights 3, 1
  CHECK(v[0].flux[4] == Approx(8.0));                        // B ivar 0: R only
  CHECK(v[0].ivar[3] == 4.0f);
  CHECK(v[0].flux[5] == 9.0f);
  CHECK(v[1].flux[2] == Approx((5.0 + 1.0) / 2));            // summed ivar 0: plain mean
  CHECK(v[1].ivar[2] == 0.0f);
  CHECK(v[1].flag.find("ivar") != std::string::npos);
  CHECK(v[0].flag.empty());
}

TEST_CASE("DESI reader errors name the file and what is missing", "[io][desi]") {
  auto path = tmp_path("desi-bad.fits");
  {
    FitsFile f = FitsFile::create(path);
    f.write_empty_primary();
    f.write_table("FIBERMAP", {{"TARGETID", std::vector<int64_t>{11, 22}, 1, ""}});
    f.commit();
  }
  REQUIRE_THROWS_WITH(read_desi_coadd(path), Catch::Contains("desi-bad.fits") && Catch::Contains("missing HDU 'B_WAVELENGTH'"));
  {
    FitsFile f = FitsFile::create(path);
    f.write_empty_primary();
    f.write_table("FIBERMAP", {{"TARGETID", std::vector<int64_t>{11, 22}, 1, ""}});
    f.write_image<double>("B_WAVELENGTH", {100, 101, 102}, {3});
    f.write_image<float>("B_FLUX", std::vector<float>(9, 1.0f), {3, 3});
    f.commit();
  }
  REQUIRE_THROWS_WITH(read_desi_coadd(path), Catch::Contains("desi-bad.fits") && Catch::Contains("B_FLUX must be 3 x 2"));
  {
    FitsFile f = FitsFile::create(path);
    f.write_empty_primary();
    f.write_table("SCORES", {{"X", std::vector<int64_t>{1}, 1, ""}});
    f.commit();
  }
  REQUIRE_THROWS_WITH(read_desi_coadd(path), Catch::Contains("desi-bad.fits") && Catch::Contains("missing HDU 'FIBERMAP'"));
}

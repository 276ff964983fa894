// Preprocessing on real SDSS / DESI files against numpy reference values (shared/data/*/grid-checks.csv).
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <map>

#include "galml/data/preprocess.hpp"
#include "galml/io/csv.hpp"
#include "galml/io/desi.hpp"
#include "galml/io/sdss.hpp"

namespace fs = std::filesystem;
using namespace galml;

namespace {
fs::path shared_dir() { return fs::path(GALML_SHARED_DIR); }

// Value on `grid` at wavelength w (grid point, exact).
double at_wavelength(const io::Spectrum& s, double w) {
  for (size_t i = 0; i < s.wavelength.size(); ++i)
    if (std::abs(s.wavelength[i] - w) < 1e-6) return s.flux[i];
  FAIL("wavelength " << w << " not on grid");
  return 0;
}
}  // namespace

TEST_CASE("SDSS real spectra: obs and rest grids match numpy", "[data][preprocess][real]") {
  const fs::path dir = shared_dir() / "data" / "sdss-real";
  if (!fs::exists(dir / "grid-checks.csv")) { WARN("shared SDSS data absent: " << dir); return; }
  auto ref = io::CsvTable::read(dir / "grid-checks.csv");
  std::map<std::string, io::Spectrum> obs, rest;
  std::map<std::string, std::string> rest_reject;
  int checked = 0;
  double worst = 0;
  for (size_t r = 0; r < ref.rows(); ++r) {
    const std::string file = ref.get_string(r, "file"), grid = ref.get_string(r, "grid");
    if (!obs.count(file)) {
      const io::Spectrum raw = io::read_sdss_spectrum(dir / "spectra" / file);
      io::Spectrum a = raw, b = raw;
      auto ra = data::mtl_pipeline()(a);
      REQUIRE_FALSE(ra.has_value());
      data::Pipeline p;
      p.add("rest", data::ToRestFrame{}).add("interp", data::InterpolateToGrid{data::kGcsRestGrid, true}).add("mean", data::MeanNormalize{});
      // spec-3586 (z = 0.59) does not cover the rest grid: numpy has no values for it, we reject it.
      if (auto rb = p(b)) rest_reject[file] = *rb;
      else { REQUIRE(b.flux.size() == 1600); rest[file] = std::move(b); }
      REQUIRE(a.flux.size() == 5161);
      obs[file] = std::move(a);
    }
    const double w = ref.get_double(r, "wavelength"), want = ref.get_double(r, "value");
    INFO(file << " " << grid << " @" << w << " " << (rest_reject.count(file) ? rest_reject[file] : ""));
    const bool is_obs = grid.rfind("obs", 0) == 0;
    REQUIRE((is_obs || rest.count(file)));
    const double got = at_wavelength(is_obs ? obs[file] : rest[file], w);
    CHECK(got == Approx(want).epsilon(1e-5).margin(1e-6));
    worst = std::max(worst, std::abs(got - want) / std::max(1e-12, std::abs(want)));
    ++checked;
  }
  CHECK(checked == int(ref.rows()));
  REQUIRE(rest_reject.size() == 1);
  CHECK(rest_reject.begin()->first == "spec-3586-55181-0003.fits");
  CHECK(rest_reject.begin()->second.find("grid not covered: spectrum ends at") != std::string::npos);
  WARN("SDSS grid checks: " << checked << " values, worst relative error " << worst);
}

TEST_CASE("SDSS real: a spectrum not reaching the grid is rejected with the start wavelength", "[data][preprocess][real]") {
  const fs::path f = shared_dir() / "data" / "sdss-real" / "spectra" / "spec-0266-51602-0001.fits";
  if (!fs::exists(f)) { WARN("shared SDSS data absent"); return; }
  io::Spectrum s = io::read_sdss_spectrum(f);
  auto r = data::InterpolateToGrid{data::LinearGrid{s.wavelength.front() - 10.0, 9000, 1}, true}(s);
  REQUIRE(r.has_value());
  CHECK(r->find("grid not covered: spectrum starts at") == 0);
}

TEST_CASE("DESI real coadds: obs grid matches numpy", "[data][preprocess][real]") {
  const fs::path dir = shared_dir() / "data" / "desi-real";
  if (!fs::exists(dir / "grid-checks.csv")) { WARN("shared DESI data absent: " << dir); return; }
  auto ref = io::CsvTable::read(dir / "grid-checks.csv");
  std::map<std::string, std::vector<io::Spectrum>> files;
  int checked = 0;
  for (size_t r = 0; r < ref.rows(); ++r) {
    const std::string file = ref.get_string(r, "file");
    if (!files.count(file)) files[file] = io::read_desi_coadd(dir / file);
    io::Spectrum s = files[file].at(size_t(ref.get_int(r, "row")));
    REQUIRE(s.targetid == ref.get_string(r, "targetid"));
    auto rej = data::mtl_pipeline()(s);
    REQUIRE_FALSE(rej.has_value());
    const double w = ref.get_double(r, "wavelength"), want = ref.get_double(r, "value");
    INFO(file << " row " << ref.get_int(r, "row") << " @" << w);
    CHECK(at_wavelength(s, w) == Approx(want).epsilon(1e-5).margin(1e-6));
    ++checked;
  }
  CHECK(checked > 0);
  // Blanked targets: all-zero flux must be rejected with a reason, never divided by zero.
  int blank = 0;
  for (auto& [f, v] : files)
    for (auto s : v)
      if (!s.flag.empty()) {
        auto rej = data::mtl_pipeline()(s);
        REQUIRE(rej.has_value());
        CHECK(rej->find("mean flux") != std::string::npos);
        ++blank;
      }
  WARN("DESI grid checks: " << checked << " values; blanked targets rejected: " << blank);
}

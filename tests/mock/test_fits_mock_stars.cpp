// Mock stars: stellar-evolution approximations (lifetimes, phases, stage thresholds), photometry
// (Sun at 10 pc, Teff-colour monotonic, extinction), stage fractions, and the on-disk survey
// (spectra readable by read_sdss_spectrum, byte-identical for any thread count).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "galml/io/csv.hpp"
#include "galml/io/sdss.hpp"
#include "galml/mock/stars.hpp"

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

TEST_CASE("mock stars: lifetimes, evolution, stage thresholds", "[mock][stars]") {
  CHECK(mock::log_lifetime(1.0) == Approx(10.0));
  CHECK(mock::lifetime_yr(2.0) == Approx(1e10 * std::pow(2.0, -2.5)));
  double prev = 1e30;
  for (double m = 0.6; m <= 2.5; m += 0.1) {
    CHECK(mock::lifetime_yr(m) < prev);  // lifetimes decrease with mass
    prev = mock::lifetime_yr(m);
  }
  mock::StarOptions o;
  mock::StarTruth t;
  // The zero-age Sun.
  REQUIRE(mock::evolve_star(1.0, 0.0, 1e6, o, t));
  CHECK(t.teff == Approx(5772).epsilon(0.002));
  CHECK(t.logg == Approx(4.438).margin(0.01));
  CHECK(t.phase == int(mock::StellarPhase::main_sequence));
  CHECK(t.stage == int(mock::StellarStage::medium));
  // Hotter with mass on the main sequence; phases follow the fractions of tau.
  mock::StarTruth a, b;
  REQUIRE(mock::evolve_star(0.7, 0.0, 1e9, o, a));
  REQUIRE(mock::evolve_star(1.5, 0.0, 1e9, o, b));
  CHECK(a.stage == int(mock::StellarStage::cool));
  CHECK(b.stage == int(mock::StellarStage::hot));
  REQUIRE(mock::evolve_star(1.0, 0.0, 1.05e10, o, t));
  CHECK(t.phase == int(mock::StellarPhase::subgiant));
  REQUIRE(mock::evolve_star(1.0, 0.0, 1.3e10, o, t));
  CHECK(t.phase == int(mock::StellarPhase::red_giant_branch));
  CHECK(t.stage == int(mock::StellarStage::red_giant));
  CHECK(t.radius > 3);
  CHECK_FALSE(mock::evolve_star(1.0, 0.0, 1.4e10, o, t));  // remnant
  // Thresholds (spec §4.1 [ASSUMPTION]) are configurable.
  CHECK(mock::stage_from(5500, 3.7) == int(mock::StellarStage::subgiant));
  mock::StageThresholds th;
  th.subgiant_logg = 3.6;
  CHECK(mock::stage_from(5500, 3.7, th) == int(mock::StellarStage::medium));
}

TEST_CASE("mock stars: photometry", "[mock][stars]") {
  // A 5772 K blackbody Sun with lines at 10 pc: M_r(AB) = 4.65 (Willmer 2018) within the model's crudeness.
  const auto sun = mock::detail::star_ab_mags(5772, 4.438, 0.0, 1.0, 10.0);
  CHECK(sun[2] == Approx(4.65).margin(0.3));
  CHECK(sun[1] - sun[2] == Approx(0.44).margin(0.2));  // solar g-r (AB) ~ 0.44
  // Teff-colour: g-r and r-i fall monotonically with Teff.
  double gr_prev = 1e9, ri_prev = 1e9;
  for (double T = 4000; T <= 9500; T += 250) {
    const auto m = mock::detail::star_ab_mags(T, 4.3, -0.5, 1.0, 10.0);
    INFO("Teff " << T);
    CHECK(m[1] - m[2] < gr_prev);
    CHECK(m[2] - m[3] < ri_prev);
    gr_prev = m[1] - m[2];
    ri_prev = m[2] - m[3];
  }
  // Metal-poor stars are bluer in u-g at fixed Teff (less blanketing).
  const auto rich = mock::detail::star_ab_mags(5500, 4.4, 0.2, 1.0, 10.0), poor = mock::detail::star_ab_mags(5500, 4.4, -1.5, 1.0, 10.0);
  CHECK(poor[0] - poor[1] < rich[0] - rich[1] - 0.1);
}

TEST_CASE("mock stars: sample statistics", "[mock][stars]") {
  mock::StarOptions o;
  o.seed = 99;
  std::array<int, 5> count{};
  const int N = 1500;
  double gr_cool = 0, gr_hot = 0;
  int n_cool = 0, n_hot = 0;
  for (int k = 0; k < N; ++k) {
    const auto s = mock::make_star(k, o);
    const auto& t = s.truth;
    ++count[size_t(t.stage)];
    REQUIRE(t.stage == mock::stage_from(t.teff, t.logg, o.thresholds));
    REQUIRE(t.log_lifetime == Approx(10 - 2.5 * std::log10(t.mass)));
    REQUIRE(t.age_yr < o.rgb_end * t.lifetime);
    REQUIRE(t.ebv >= 0);
    for (size_t b = 0; b < 5; ++b) REQUIRE(t.extinction[b] == Approx(mock::kSF11R[b] * t.ebv));
    // Observed r = true r + extinction (+ small noise) lies in the requested range.
    REQUIRE(t.psf_mag[2] > o.rmag_min - 0.2);
    REQUIRE(t.psf_mag[2] < o.rmag_max + 0.2);
    if (t.phase == int(mock::StellarPhase::red_giant_branch)) REQUIRE(t.age_yr >= t.lifetime);
    const double gr = (t.psf_mag[1] - t.extinction[1]) - (t.psf_mag[2] - t.extinction[2]);
    if (t.teff < 5000) { gr_cool += gr; ++n_cool; }
    if (t.teff > 6500) { gr_hot += gr; ++n_hot; }
    REQUIRE(s.spectrum.cls == "STAR");
    REQUIRE(s.spectrum.sn_median_r > 10);
  }
  for (int c = 0; c < 5; ++c) {
    INFO(mock::kStageNames[size_t(c)] << ": " << count[size_t(c)] << " of " << N);
    CHECK(count[size_t(c)] > N * 0.02);  // every class present
    CHECK(count[size_t(c)] < N * 0.6);   // none dominates completely
  }
  REQUIRE(n_cool > 10);
  REQUIRE(n_hot > 10);
  CHECK(gr_cool / n_cool > gr_hot / n_hot + 0.3);  // cool stars are redder (extinction-corrected)
}

TEST_CASE("mock stars: survey on disk", "[mock][stars][fits]") {
  const fs::path a = fs::path(GALML_TEST_TMP_DIR) / "mock_stars_a", b = fs::path(GALML_TEST_TMP_DIR) / "mock_stars_b";
  for (auto& p : {a, b}) fs::remove_all(p);
  mock::StarOptions o;
  o.n_stars = 24;
  o.seed = 5;
  o.progress = false;
  o.n_threads = 2;
  auto sa = mock::write_star_survey(a, o);
  o.n_threads = 1;
  mock::write_star_survey(b, o);
  REQUIRE(sa.files == 24);
  CHECK(slurp(sa.catalog) == slurp(b / "stars.csv"));
  CHECK(slurp(sa.truth) == slurp(b / "stars_truth.csv"));
  auto cat = io::CsvTable::read(sa.catalog);
  REQUIRE(cat.rows() == 24);
  for (const auto& c : mock::star_catalog_columns()) CHECK(cat.has_column(c));
  for (size_t r = 0; r < cat.rows(); ++r) {
    const std::string f = io::sdss_spec_filename(cat.get_int(r, "plate"), cat.get_int(r, "mjd"), cat.get_int(r, "fiberid"));
    REQUIRE(slurp(sa.spectra_dir / f) == slurp(b / "spectra" / f));
    const auto s = io::read_sdss_spectrum(sa.spectra_dir / f);
    CHECK(s.cls == "STAR");
    CHECK(s.z == Approx(cat.get_double(r, "z")).margin(1e-8));
    CHECK(s.sn_median_all == Approx(cat.get_double(r, "snMedian")).margin(1e-4));
    CHECK(s.wavelength.front() < 3830);
    CHECK(s.wavelength.back() > 9100);
    for (float v : s.flux) REQUIRE(std::isfinite(v));
  }
  o.seed = 6;
  const fs::path c = fs::path(GALML_TEST_TMP_DIR) / "mock_stars_c";
  fs::remove_all(c);
  mock::write_star_survey(c, o);
  CHECK(slurp(c / "stars.csv") != slurp(sa.catalog));
}

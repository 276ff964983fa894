// Mock galaxy images: cosmology and profile helpers, flux conservation, determinism, colour physics
// (passive redder than star-forming), and the on-disk survey (FITS per band + PNG + images.csv).
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "galml/data/image_transforms.hpp"
#include "galml/io/csv.hpp"
#include "galml/mock/images.hpp"

using namespace galml;
namespace fs = std::filesystem;

namespace {
std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}
double plane_sum(const io::Image& im, int c, int r0, int r1) {
  double s = 0;
  for (int y = r0; y < r1; ++y)
    for (int x = r0; x < r1; ++x) s += im.at(c, y, x);
  return s;
}
}  // namespace

TEST_CASE("mock images: cosmology and Sersic helpers", "[mock][images]") {
  // Flat LambdaCDM H0 = 70, Om = 0.3 (e.g. Wright 2006 calculator): D_L(0.1) = 460 Mpc, D_L(1) = 6607 Mpc.
  CHECK(mock::luminosity_distance_mpc(0.1) == Approx(460.0).epsilon(0.003));
  CHECK(mock::luminosity_distance_mpc(1.0) == Approx(6607.0).epsilon(0.003));
  CHECK(mock::angular_diameter_distance_mpc(0.1) * 1.1 * 1.1 == Approx(mock::luminosity_distance_mpc(0.1)));
  // 1 kpc at z = 0.1 is about 0.54 arcsec (1.84 kpc/arcsec).
  CHECK(mock::kpc_to_arcsec(1.0, 0.1) == Approx(1.0 / 1.84).epsilon(0.01));
  CHECK(mock::sersic_bn(1.0) == Approx(1.678).epsilon(1e-3));
  CHECK(mock::sersic_bn(4.0) == Approx(7.669).epsilon(1e-3));
  // Shen et al. 2003 sizes: a few kpc at 1e10-1e11 Msun; early types grow faster with mass.
  CHECK(mock::shen03_late_re_kpc(10.0) == Approx(2.65).epsilon(0.02));
  CHECK(mock::shen03_early_re_kpc(11.0) == Approx(4.17).epsilon(0.02));
}

TEST_CASE("mock images: flux conservation and determinism", "[mock][images]") {
  mock::MockOptions so;
  so.seed = 5;
  auto g = mock::make_galaxy(3, 0, so).truth;
  g.z = 0.2;  // small on the sky: nearly all light inside the stamp
  mock::MockImageOptions o;
  o.size = 96;
  o.noise_scale = 0;
  o.neighbour_fraction = 0;
  o.ugriz = true;
  const auto im = mock::render_galaxy(g, o);
  REQUIRE(im.bands.channels == 5);
  REQUIRE(im.names == std::vector<std::string>{"u", "g", "r", "i", "z"});
  for (int b = 0; b < 5; ++b) {
    const double want = std::pow(10.0, -0.4 * (im.mag[size_t(b)] - 22.5));
    INFO("band " << b);
    CHECK(plane_sum(im.bands, b, 0, 96) == Approx(want).epsilon(0.04));  // de Vaucouleurs wings leave the stamp
  }
  {
    mock::MockImageOptions m = o;
    m.psf = mock::PsfKind::moffat;  // broader wings, still flux-conserving
    const auto mi = mock::render_galaxy(g, m);
    CHECK(plane_sum(mi.bands, 2, 0, 96) == Approx(std::pow(10.0, -0.4 * (mi.mag[2] - 22.5))).epsilon(0.05));
  }
  const auto again = mock::render_galaxy(g, o);
  CHECK(again.bands.data == im.bands.data);
  CHECK(again.rgb.data == im.rgb.data);
  o.seed = 6;
  CHECK(mock::render_galaxy(g, o).bands.data != im.bands.data);
  // RGB in [0, 1], i -> R.
  for (float v : im.rgb.data) REQUIRE((v >= 0.0f && v <= 1.0f));
}

TEST_CASE("mock images: passive galaxies are redder than star-forming", "[mock][images]") {
  mock::MockOptions so;
  so.seed = 21;
  mock::MockImageOptions o;
  o.size = 48;
  o.seed = 21;
  double gr[2] = {0, 0}, gr_model[2] = {0, 0};
  int n[2] = {0, 0};
  for (int k = 0; k < 60; ++k) {
    const int cls = k % 2;  // 0 passive, 1 star-forming
    const auto t = mock::make_galaxy(k, cls, so).truth;
    const auto im = mock::render_galaxy(t, o);
    // Aperture photometry in the central 16x16 (g is channel 0, r channel 1), noise included.
    const double fg = plane_sum(im.bands, 0, 16, 32), fr = plane_sum(im.bands, 1, 16, 32);
    if (fg <= 0 || fr <= 0) continue;
    gr[cls] += -2.5 * std::log10(fg / fr);
    gr_model[cls] += im.mag[1] - im.mag[2];
    ++n[cls];
  }
  REQUIRE(n[0] > 20);
  REQUIRE(n[1] > 20);
  const double p = gr[0] / n[0], s = gr[1] / n[1];
  INFO("passive g-r " << p << ", star-forming g-r " << s);
  CHECK(p > s + 0.2);
  CHECK(gr_model[0] / n[0] > 0.7);  // red sequence at z ~ 0.08: g-r ~ 0.8-0.9
  CHECK(gr_model[1] / n[1] < 0.7);
}

#if defined(GALML_HAVE_STB) || defined(GALML_WITH_FITS)
TEST_CASE("mock images: survey on disk, byte-identical across thread counts", "[mock][images]") {
  const fs::path a = fs::path(GALML_TEST_TMP_DIR) / "mock_img_a", b = fs::path(GALML_TEST_TMP_DIR) / "mock_img_b";
  for (auto& p : {a, b}) fs::remove_all(p);
  mock::MockOptions so;
  so.n_per_class = 3;
  so.seed = 8;
  so.progress = false;
  mock::MockImageOptions o;
  o.size = 40;
  o.progress = false;
  o.neighbour_fraction = 0.5;
  so.n_threads = o.n_threads = 2;
  auto sa = mock::write_survey_images(a, so, o);
  so.n_threads = o.n_threads = 1;
  auto sb = mock::write_survey_images(b, so, o);
  REQUIRE(sa.galaxies == 12);
  REQUIRE(sa.image.size() == 12);
  auto idx = io::CsvTable::read(a / "images.csv");
  REQUIRE(idx.rows() == 12);
  auto extra = io::CsvTable::read(a / "tabular_extra.csv");
  REQUIRE(extra.rows() == 12);
  CHECK(extra.has_column("EW_Ha_6562"));
  CHECK(slurp(a / "images.csv") == slurp(b / "images.csv"));
  CHECK(slurp(a / "tabular_extra.csv") == slurp(b / "tabular_extra.csv"));
  for (size_t r = 0; r < idx.rows(); ++r) {
    const std::string img = idx.get_string(r, "image");
    REQUIRE_FALSE(img.empty());
    CHECK(slurp(a / img) == slurp(b / img));
#if defined(GALML_HAVE_STB)
    io::Image png = io::read_image_file(a / img);
    CHECK(png.channels == 3);
    CHECK(png.height == 40);
#endif
#if defined(GALML_WITH_FITS)
    const std::string f = idx.get_string(r, "image_fits");
    CHECK(slurp(a / f) == slurp(b / f));
    io::Image rb = io::read_fits_image(a / f, std::string_view("r"));
    CHECK(rb.channels == 1);
    CHECK(rb.width == 40);
    // GCSNet-style input: stack the band HDUs, z-score each channel.
    io::Image st = data::read_fits_bands(a / f, {"g", "r", "i"});
    CHECK(st.channels == 3);
    CHECK(st.at(1, 7, 9) == rb.at(0, 7, 9));
    CHECK_FALSE(data::channel_zscore(st));
#endif
  }
}
#endif

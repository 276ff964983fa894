// Image transforms: hand-computable cases, numpy goldens (tests/data/make_image_golden.py), the
// channel scaler's StateDict round trip, and the real SDSS JPEG cutouts in shared/.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "galml/data/image_transforms.hpp"

using namespace galml;
namespace fs = std::filesystem;

namespace {
io::Image make(int c, int h, int w, std::vector<float> v) {
  io::Image im;
  im.channels = c;
  im.height = h;
  im.width = w;
  im.data = std::move(v);
  return im;
}
io::Image iota(int c, int h, int w) {
  io::Image im = make(c, h, w, std::vector<float>(size_t(c * h * w)));
  for (size_t i = 0; i < im.data.size(); ++i) im.data[i] = float(i);
  return im;
}
}  // namespace

TEST_CASE("image transforms: hand-computed nearest, bilinear and crop", "[data][image]") {
  // 1x2x2 -> 4x4 bilinear (align_corners=False): rows/cols map to 0, 0.25, 0.75, 1 of the way.
  io::Image a = make(1, 2, 2, {0, 4, 8, 12});
  io::Image up = data::resize_bilinear(a, 4, 4);
  const std::vector<float> want = {0, 1, 3, 4, 2, 3, 5, 6, 6, 7, 9, 10, 8, 9, 11, 12};
  for (size_t i = 0; i < want.size(); ++i) CHECK(up.data[i] == Approx(want[i]).margin(1e-6));

  // 4 -> 2 bilinear without antialias: source 0.5 and 2.5, i.e. mean of pixel pairs.
  io::Image row = make(1, 1, 4, {0, 10, 20, 30});
  io::Image down = data::resize_bilinear(row, 1, 2);
  CHECK(down.data[0] == Approx(5));
  CHECK(down.data[1] == Approx(25));

  // Nearest 4 -> 2: floor rule takes pixels 0, 2; pixel-centre rule takes 1, 3.
  CHECK(data::resize_nearest(row, 1, 2).data == std::vector<float>{0, 20});
  CHECK(data::resize_nearest(row, 1, 2, data::NearestRule::pixel_centre).data == std::vector<float>{10, 30});
  // 2 -> 5 floor rule: 0,0,0,1,1 (dst*2//5).
  CHECK(data::resize_nearest(make(1, 1, 2, {7, 9}), 1, 5).data == std::vector<float>{7, 7, 7, 9, 9});

  // 256 -> 128 nearest (MMLforGalAM) is every other pixel, exactly.
  io::Image big = iota(1, 256, 256);
  io::Image small = data::resize_nearest(big, 128, 128);
  CHECK(small.at(0, 5, 7) == big.at(0, 10, 14));
  CHECK(small.at(0, 127, 127) == big.at(0, 254, 254));

  // Same size is the identity for all three resizers.
  io::Image x = iota(3, 5, 6);
  CHECK(data::resize_nearest(x, 5, 6).data == x.data);
  CHECK(data::resize_nearest(x, 5, 6, data::NearestRule::pixel_centre).data == x.data);
  CHECK(data::resize_bilinear(x, 5, 6).data == x.data);

  // Centre crop 5x6 -> 2x3 starts at ((5-2)/2, (6-3)/2) = (1, 1).
  io::Image cc = data::centre_crop(x, 2, 3);
  CHECK(cc.channels == 3);
  CHECK(cc.at(0, 0, 0) == x.at(0, 1, 1));
  CHECK(cc.at(2, 1, 2) == x.at(2, 2, 3));
  CHECK_THROWS_WITH(data::centre_crop(x, 6, 6), Catch::Contains("cannot crop 6x6 from a 3x5x6"));
  io::Image y = x;
  CHECK(data::CentreCrop{9, 9}(y).has_value());
}

TEST_CASE("image transforms: numpy goldens", "[data][image][golden]") {
  std::ifstream f(std::string(GALML_TEST_DATA_DIR) + "/golden/images/transforms.json");
  REQUIRE(f);
  const auto j = nlohmann::json::parse(f);
  const auto shp = j["input_shape"].get<std::vector<int>>();
  const io::Image in = make(shp[0], shp[1], shp[2], j["input"].get<std::vector<float>>());
  int n = 0;
  for (const auto& c : j["cases"]) {
    const std::string op = c["op"];
    const int h = c["h"], w = c["w"];
    const auto want = c["out"].get<std::vector<double>>();
    io::Image got;
    if (op == "nearest_floor") got = data::resize_nearest(in, h, w);
    else if (op == "nearest_centre") got = data::resize_nearest(in, h, w, data::NearestRule::pixel_centre);
    else if (op == "bilinear") got = data::resize_bilinear(in, h, w);
    else if (op == "crop") got = data::centre_crop(in, h, w);
    else if (op == "zscore") { got = in; REQUIRE_FALSE(data::channel_zscore(got)); }
    else if (op == "div255") { got = in; data::divide_by_255(got); }
    else FAIL("unknown op " << op);
    INFO(op << " " << h << "x" << w);
    REQUIRE(got.height == h);
    REQUIRE(got.width == w);
    REQUIRE(got.data.size() == want.size());
    const bool exact = op.rfind("nearest", 0) == 0 || op == "crop";
    for (size_t i = 0; i < want.size(); ++i) {
      if (exact) REQUIRE(double(got.data[i]) == want[i]);
      else REQUIRE(double(got.data[i]) == Approx(want[i]).epsilon(1e-6).margin(1e-5));  // float32 rounding
    }
    ++n;
  }
  CHECK(n == 24);
}

TEST_CASE("image transforms: band stacking", "[data][image]") {
  io::Image u = make(1, 2, 3, {1, 2, 3, 4, 5, 6}), g = make(1, 2, 3, {7, 8, 9, 10, 11, 12});
  io::Image s = data::stack_bands({u, g}, {"u", "g"});
  CHECK(s.channels == 2);
  CHECK(s.height == 2);
  CHECK(s.width == 3);
  CHECK(s.at(1, 1, 2) == 12);
  CHECK(s.at(0, 0, 1) == 2);
  io::Image r = make(1, 3, 3, std::vector<float>(9, 1.0f));
  CHECK_THROWS_WITH(data::stack_bands({u, g, r}, {"u", "g", "r"}), Catch::Contains("band 'r' is 3x3 but band 'u' is 2x3"));
  CHECK_THROWS_WITH(data::stack_bands({u, r}), Catch::Contains("band #1"));
  // crop_to_smallest: r (3x3) is centre-cropped to 2x3 (top row (3-2)/2 = 0).
  io::Image r2 = iota(1, 3, 3);
  data::StackOptions so;
  so.crop_to_smallest = true;
  io::Image s2 = data::stack_bands({u, r2}, {"u", "r"}, so);
  CHECK(s2.channels == 2);
  CHECK(s2.height == 2);
  CHECK(s2.at(1, 0, 0) == 0);
  CHECK(s2.at(1, 1, 2) == 5);
}

TEST_CASE("image transforms: z-score, scaler, non-finite", "[data][image]") {
  io::Image a = make(2, 1, 4, {1, 2, 3, 4, 5, 5, 5, 5});
  REQUIRE_FALSE(data::ChannelZScore{}(a));
  // channel 0: mean 2.5, population std sqrt(1.25)
  CHECK(a.data[0] == Approx(-1.5 / std::sqrt(1.25)));
  CHECK(a.data[3] == Approx(1.5 / std::sqrt(1.25)));
  // channel 1 is constant: std floored at 1e-6 -> zeros, no NaN
  for (int i = 4; i < 8; ++i) CHECK(a.data[size_t(i)] == 0.0f);

  io::Image bad = make(1, 1, 3, {1, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()});
  io::Image keep = bad;
  auto why = data::channel_zscore(keep);
  REQUIRE(why);
  CHECK(why->find("2 non-finite") != std::string::npos);
  CHECK(data::RejectNonFinite{}(keep).has_value());
  CHECK_FALSE(data::RejectNonFinite{0.7}(keep).has_value());
  data::ReplaceNonFinite{0.0f, 9.0f, -9.0f}(keep);
  CHECK(keep.data == std::vector<float>{1, 0, 9});
  io::Image neg = make(1, 1, 1, {-std::numeric_limits<float>::infinity()});
  data::ReplaceNonFinite{0.0f, 9.0f, -9.0f}(neg);
  CHECK(neg.data[0] == -9.0f);

  // Pipeline: the first rejection is reported with the step name.
  data::ImagePipeline p;
  p.add("finite", data::RejectNonFinite{}).add("zscore", data::ChannelZScore{});
  io::Image b2 = bad;
  auto r = p(b2);
  REQUIRE(r);
  CHECK(r->rfind("finite: ", 0) == 0);

  // Scaler: pooled over the training images, per channel; state dict round trip.
  std::vector<io::Image> train = {make(2, 1, 2, {0, 2, 10, 10}), make(2, 1, 2, {4, 6, 30, 30})};
  data::ChannelScaler sc;
  sc.fit(train);
  REQUIRE(sc.channels() == 2);
  CHECK(sc.center()[0] == Approx(3.0));
  CHECK(sc.scale()[0] == Approx(std::sqrt(5.0)));  // values 0,2,4,6
  CHECK(sc.center()[1] == Approx(20.0));
  CHECK(sc.scale()[1] == Approx(10.0));
  const fs::path sd = fs::path(GALML_TEST_TMP_DIR) / "channel_scaler.sd";
  sc.state_dict().save(sd);
  data::ChannelScaler sc2;
  sc2.load_state_dict(StateDict::load(sd));
  io::Image t = make(2, 1, 1, {3, 40});
  sc2.transform(t);
  CHECK(t.data[0] == Approx(0.0).margin(1e-7));
  CHECK(t.data[1] == Approx(2.0));
  sc2.inverse_transform(t);
  CHECK(t.data[0] == Approx(3.0));
  CHECK(t.data[1] == Approx(40.0));
  io::Image three = make(3, 1, 1, {1, 2, 3});
  CHECK_THROWS_WITH(sc2.transform(three), Catch::Contains("3 channels, scaler was fitted on 2"));
}

#if defined(GALML_HAVE_STB)
TEST_CASE("image transforms: real SDSS JPEG cutouts", "[data][image][real]") {
  const fs::path dir = fs::path(GALML_SHARED_DIR) / "data" / "sdss-real" / "images";
  if (!fs::exists(dir)) {
    WARN("skipped: " << dir.string() << " not found");
    return;
  }
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".jpg") continue;
    io::ImageOptions o;
    o.channels = 3;
    io::Image im = io::read_image_file(e.path(), o);
    INFO(e.path().string());
    CHECK(im.channels == 3);
    CHECK(im.height == 128);
    CHECK(im.width == 128);
    data::DivideBy255{}(im);
    float lo = 1, hi = 0;
    for (float v : im.data) { lo = std::min(lo, v); hi = std::max(hi, v); }
    CHECK(lo >= 0.0f);
    CHECK(hi <= 1.0f);
    CHECK(hi > lo);
    // MMLforGalAM path: nearest resize to 128 is the identity on a 128 cutout.
    CHECK(data::resize_nearest(im, 128, 128).data == im.data);
    ++n;
  }
  CHECK(n == 4);
}
#endif

// 2-D pooling: gradient checks in double, the adaptive bin rule (GCSNet's 75x75 -> 4x4 overlapping
// bins), floor-mode shapes, and max-pool ties/NaN behaviour.
#include <catch2/catch.hpp>

#include <cmath>
#include <iostream>
#include <limits>
#include <vector>

#include "galml/galml.hpp"
#include "galml/testing/gradcheck.hpp"

using namespace galml;
using galml::testing::check_layer;

TEST_CASE("2-D pooling output shapes", "[layers][pool2d]") {
  STATIC_REQUIRE(std::is_same_v<MaxPool2D<2>::output<Shape<32, 126, 126>>, Shape<32, 63, 63>>);  // M2
  STATIC_REQUIRE(std::is_same_v<MaxPool2D<2>::output<Shape<64, 61, 61>>, Shape<64, 30, 30>>);    // floor mode
  STATIC_REQUIRE(std::is_same_v<MaxPool2D<3, 2>::output<Shape<1, 9, 8>>, Shape<1, 4, 3>>);
  STATIC_REQUIRE(std::is_same_v<AvgPool2D<2>::output<Shape<2, 7, 9>>, Shape<2, 3, 4>>);
  STATIC_REQUIRE(std::is_same_v<AdaptiveAvgPool2D<4>::output<Shape<128, 75, 75>>, Shape<128, 4, 4>>);
  STATIC_REQUIRE(std::is_same_v<AdaptiveAvgPool2D<4, 2>::output<Shape<3, 10, 7>>, Shape<3, 4, 2>>);
  STATIC_REQUIRE(std::is_same_v<GlobalAvgPool2D::output<Shape<5, 3, 4>>, Shape<5>>);
  STATIC_REQUIRE(!MaxPool2D<3>::accepts<Shape<2, 2, 9>>);
}

TEST_CASE("2-D pooling gradients", "[layers][gradcheck][pool2d]") {
  auto check = [](auto r, const char* what) {
    INFO(what << ": " << r.worst << " rel " << r.max_rel_error << " (" << r.checked << " checked)");
    CHECK(r.checked > 20);
    CHECK(r.ok(1e-6));
    std::cout << "  gradcheck " << what << ": max rel error " << r.max_rel_error << ", max abs error " << r.max_abs_error << "\n";
  };
  check(check_layer<MaxPool2D<2>, Shape<2, 7, 9>>(), "maxpool 2");
  check(check_layer<MaxPool2D<3, 2>, Shape<2, 9, 8>>(), "maxpool 3/2 (overlapping windows)");
  check(check_layer<AvgPool2D<2>, Shape<2, 7, 9>>(), "avgpool 2");
  check(check_layer<AvgPool2D<3, 2>, Shape<2, 9, 8>>(), "avgpool 3/2");
  check(check_layer<AdaptiveAvgPool2D<4>, Shape<2, 10, 10>>(), "adaptive 10 -> 4");
  check(check_layer<AdaptiveAvgPool2D<4>, Shape<1, 75, 75>>(), "adaptive 75 -> 4");
  check(check_layer<AdaptiveAvgPool2D<3, 5>, Shape<2, 7, 11>>(), "adaptive 7x11 -> 3x5");
  check(check_layer<GlobalAvgPool2D, Shape<3, 5, 6>>(), "global");
}

TEST_CASE("AdaptiveAvgPool2D uses PyTorch's overlapping bins (75 -> 4)", "[layers][pool2d]") {
  AdaptiveAvgPool2D<4>::impl<Shape<1, 75, 75>, double, cpu> a;
  // [hstart x4, hend x4, wstart x4, wend x4]: rows/cols [0,19) [18,38) [37,57) [56,75) (spec §3.2)
  const std::vector<int32_t> want{0, 18, 37, 56, 19, 38, 57, 75, 0, 18, 37, 56, 19, 38, 57, 75};
  for (size_t i = 0; i < want.size(); ++i) CHECK(a.bins[int64_t(i)] == want[i]);
  // a constant image pools to the constant; a ramp in h to each bin's mean row
  std::vector<double> x(75 * 75), y(16);
  for (int h = 0; h < 75; ++h) for (int w = 0; w < 75; ++w) x[size_t(h * 75 + w)] = h;
  Context ctx;
  a.forward(x.data(), y.data(), 1, ctx);
  CHECK(y[0] == Approx(9.0));
  CHECK(y[4] == Approx(27.5));
  CHECK(y[15] == Approx(65.0));
}

TEST_CASE("MaxPool2D: first maximum wins on ties, NaN propagates", "[layers][pool2d]") {
  MaxPool2D<2>::impl<Shape<1, 2, 4>, double, cpu> mp;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> x{1, 1, 0, nan, 1, 0, 2, 0}, y(2), dy{1.0, 2.0}, dx(8);
  Context ctx;
  mp.forward(x.data(), y.data(), 1, ctx);
  CHECK(y[0] == 1.0);
  CHECK(std::isnan(y[1]));
  mp.backward(x.data(), y.data(), dy.data(), dx.data(), 1, ctx);
  CHECK(dx == std::vector<double>{1, 0, 0, 2, 0, 0, 0, 0});
}

// MinMaxNormalize: per-sample (x - min) / (max - min) over all features, against PyTorch autograd
// (tests/golden/make_layer_golden_pad.py, no ties), hand-computed gradients through the min and
// max elements, the tie rule (first occurrence), the max == min guard, and numeric gradient checks.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "galml/galml.hpp"
#include "galml/testing/gradcheck.hpp"

using namespace galml;
using nlohmann::json;

namespace {

struct Run {
  std::vector<double> y, dx;
};

template <class In>
Run run(const std::vector<double>& x, const std::vector<double>& dy, int64_t N) {
  using Impl = MinMaxNormalize::impl<In, double, cpu>;
  REQUIRE(int64_t(x.size()) == N * In::size);
  Run r{std::vector<double>(x.size()), std::vector<double>(x.size(), 123.0)};  // dx must be overwritten
  Impl layer;
  Context ctx;
  layer.forward(x.data(), r.y.data(), N, ctx);
  layer.backward(x.data(), r.y.data(), dy.data(), r.dx.data(), N, ctx);
  return r;
}

template <class In>
void golden(const std::string& name) {
  std::ifstream f(std::string(GALML_TEST_DATA_DIR) + "/golden/pad/" + name + ".json");
  REQUIRE(f.good());
  const json j = json::parse(f);
  INFO("case " << name);
  REQUIRE(j["in_shape"].get<std::vector<int>>() == std::vector<int>(In::dims.begin(), In::dims.end()));
  const auto x = j["x"].get<std::vector<double>>(), dy = j["dy"].get<std::vector<double>>();
  const auto want_y = j["y"].get<std::vector<double>>(), want_dx = j["dx"].get<std::vector<double>>();
  auto r = run<In>(x, dy, j["N"].get<int64_t>());
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max({m, std::abs(r.y[i] - want_y[i]), std::abs(r.dx[i] - want_dx[i])});
  INFO("max abs error " << m);
  CHECK(m <= 1e-12);
}

}  // namespace

TEST_CASE("MinMaxNormalize: shapes and name", "[layers][minmax]") {
  STATIC_REQUIRE(MinMaxNormalize::num_params<Shape<1024>> == 0);
  STATIC_REQUIRE(std::is_same_v<MinMaxNormalize::output<Shape<3, 8>>, Shape<3, 8>>);
  STATIC_REQUIRE(MinMaxNormalize::accepts<Shape<5>>);
  CHECK(MinMaxNormalize::name() == "MinMaxNormalize");
}

TEST_CASE("MinMaxNormalize parity with PyTorch autograd", "[layers][minmax][parity]") {
  golden<Shape<17>>("minmax_vec");
  golden<Shape<3, 8>>("minmax_2d");  // min/max over all 24 values of a sample, not per channel
}

TEST_CASE("MinMaxNormalize: hand-computed values and gradients", "[layers][minmax]") {
  // x = (2, 6, 3, 4): min 2 (x0), max 6 (x1), r = 4, y = (0, 1, 0.25, 0.5).
  // dy = (1, 2, 3, 4): sum dy = 10, sum dy*y = 0 + 2 + 0.75 + 2 = 4.75.
  // dx = dy/r = (0.25, 0.5, 0.75, 1); dx[min] += (4.75 - 10)/4 = -1.3125; dx[max] -= 4.75/4 = 1.1875.
  auto r = run<Shape<4>>({2, 6, 3, 4}, {1, 2, 3, 4}, 1);
  CHECK(r.y == std::vector<double>{0, 1, 0.25, 0.5});
  CHECK(r.dx[0] == Approx(0.25 - 1.3125).margin(1e-15));
  CHECK(r.dx[1] == Approx(0.5 - 1.1875).margin(1e-15));
  CHECK(r.dx[2] == Approx(0.75));
  CHECK(r.dx[3] == Approx(1.0));
  // y is invariant to shifting and to scaling x, so dx sums to 0 and dx . x = 0.
  const std::vector<double> x{2, 6, 3, 4};
  double s = 0, sx = 0;
  for (int i = 0; i < 4; ++i) { s += r.dx[i]; sx += r.dx[i] * x[i]; }
  CHECK(std::abs(s) < 1e-14);
  CHECK(std::abs(sx) < 1e-13);
}

TEST_CASE("MinMaxNormalize: ties go to the first occurrence", "[layers][minmax]") {
  // min 1 at x0 and x3, max 5 at x1 and x2: the extremum terms go to x0 (min) and x1 (max) only.
  // r = 4, y = (0, 1, 1, 0); dy = (1, 1, 1, 1): sum dy = 4, sum dy*y = 2.
  // dx = 0.25 each; dx0 += (2 - 4)/4 = -0.5; dx1 -= 2/4 = 0.5.
  auto r = run<Shape<4>>({1, 5, 5, 1}, {1, 1, 1, 1}, 1);
  CHECK(r.y == std::vector<double>{0, 1, 1, 0});
  CHECK(r.dx == std::vector<double>{-0.25, -0.25, 0.25, 0.25});
}

TEST_CASE("MinMaxNormalize: max == min gives output 0 and gradient 0, other samples unaffected", "[layers][minmax]") {
  // Sample 0 constant (3, 3, 3), sample 1 all zero, sample 2 normal.
  auto r = run<Shape<3>>({3, 3, 3, 0, 0, 0, -1, 1, 0}, {1, 2, 3, 4, 5, 6, 1, 1, 1}, 3);
  CHECK(r.y == std::vector<double>{0, 0, 0, 0, 0, 0, 0, 1, 0.5});
  for (int i = 0; i < 6; ++i) CHECK(r.dx[size_t(i)] == 0.0);
  for (int i = 6; i < 9; ++i) CHECK(std::isfinite(r.dx[size_t(i)]));
}

TEST_CASE("MinMaxNormalize: numeric gradient checks", "[layers][minmax][gradcheck]") {
  using testing::check_layer;
  auto r1 = check_layer<MinMaxNormalize, Shape<37>>();
  INFO(r1.worst); CHECK(r1.ok(1e-6));
  auto r2 = check_layer<MinMaxNormalize, Shape<4, 9>>();
  INFO(r2.worst); CHECK(r2.ok(1e-6));
  CHECK(r1.checked >= 3 * 37);
}

TEST_CASE("MinMaxNormalize in a float Model: outputs in [0, 1] with 0 and 1 attained", "[layers][minmax]") {
  using M = Model<Net<Input<"x", 64>, Dense<32>, MinMaxNormalize, Dense<2>>>;
  STATIC_REQUIRE(M::num_params == 64 * 32 + 32 + 32 * 2 + 2);
  using P = Model<Net<Input<"x", 64>, Dense<32>, MinMaxNormalize>>;
  P p;
  Rng rng(5);
  auto x = Tensor<float>::zeros({2, 64});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = float(rng.normal());
  const auto& y = p.forward(x);
  for (int n = 0; n < 2; ++n) {
    const float* row = y.data() + n * 32;
    CHECK(*std::min_element(row, row + 32) == 0.0f);
    CHECK(*std::max_element(row, row + 32) == Approx(1.0f));
  }
}

// Padded max pooling: MaxPool1D<K, S, Pad> against torch.nn.MaxPool1d(K, S, Pad) and
// MaxPool1DSame<K, S> against TensorFlow's "SAME" rule (goldens from
// tests/golden/make_layer_golden_pad.py, float64, 1e-12), hand-computed Keras "same" cases
// (asymmetric padding), shapes, names, and numeric gradient checks.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "galml/galml.hpp"
#include "galml/testing/gradcheck.hpp"

using namespace galml;
using nlohmann::json;

namespace {

std::vector<double> vec(const json& j) { return j.get<std::vector<double>>(); }

// Forward + backward of a parameterless layer on a golden case; returns the max abs error.
template <class Spec, class In>
double golden(const std::string& name) {
  using Impl = typename Spec::template impl<In, double, cpu>;
  using Out = typename Impl::out_shape;
  std::ifstream f(std::string(GALML_TEST_DATA_DIR) + "/golden/pad/" + name + ".json");
  REQUIRE(f.good());
  const json j = json::parse(f);
  INFO("case " << name);
  REQUIRE(j["in_shape"].get<std::vector<int>>() == std::vector<int>(In::dims.begin(), In::dims.end()));
  REQUIRE(j["out_shape"].get<std::vector<int>>() == std::vector<int>(Out::dims.begin(), Out::dims.end()));
  const int64_t N = j["N"].get<int64_t>();
  const auto x = vec(j["x"]), want_y = vec(j["y"]), dy = vec(j["dy"]), want_dx = vec(j["dx"]);
  std::vector<double> y(want_y.size()), dx(x.size(), 123.0);  // dx pre-filled: backward must overwrite
  Impl layer;
  Context ctx;
  layer.forward(x.data(), y.data(), N, ctx);
  layer.backward(x.data(), y.data(), dy.data(), dx.data(), N, ctx);
  double m = 0;
  for (size_t i = 0; i < y.size(); ++i) m = std::max(m, std::abs(y[i] - want_y[i]));
  for (size_t i = 0; i < dx.size(); ++i) m = std::max(m, std::abs(dx[i] - want_dx[i]));
  CHECK(m <= 1e-12);
  return m;
}

// Per-sample (C = 1) forward/backward on a given row, for hand-computed cases.
template <class Spec, int L>
std::pair<std::vector<double>, std::vector<double>> run_row(const std::vector<double>& x, const std::vector<double>& dy) {
  using Impl = typename Spec::template impl<Shape<1, L>, double, cpu>;
  using Out = typename Impl::out_shape;
  REQUIRE(int64_t(x.size()) == L);
  REQUIRE(int64_t(dy.size()) == Out::dims[1]);
  std::vector<double> y(size_t(Out::dims[1])), dx(x.size());
  Impl layer;
  Context ctx;
  layer.forward(x.data(), y.data(), 1, ctx);
  layer.backward(x.data(), y.data(), dy.data(), dx.data(), 1, ctx);
  return {y, dx};
}

}  // namespace

TEST_CASE("MaxPool1D<K, S, Pad>: shapes, names, existing spellings unchanged", "[layers][pool][padding]") {
  // Existing spellings keep their meaning (and their summary name).
  STATIC_REQUIRE(std::is_same_v<MaxPool1D<3>, MaxPool1D<3, 3, 0>>);
  STATIC_REQUIRE(std::is_same_v<MaxPool1D<3>::output<Shape<4, 14>>, Shape<4, 4>>);
  CHECK(MaxPool1D<3, 2>::name() == "MaxPool1D(k=3, s=2)");
  CHECK(MaxPool1D<3, 2, 1>::name() == "MaxPool1D(k=3, s=2, p=1)");
  // PyTorch: floor((L + 2p - k) / s) + 1.
  STATIC_REQUIRE(std::is_same_v<MaxPool1D<3, 2, 1>::output<Shape<64, 3400>>, Shape<64, 1700>>);  // stellar ResNet stem
  STATIC_REQUIRE(std::is_same_v<MaxPool1D<5, 1, 2>::output<Shape<16, 1280>>, Shape<16, 1280>>);  // GaSNet block
  STATIC_REQUIRE(std::is_same_v<MaxPool1D<2, 1, 1>::output<Shape<1, 7>>, Shape<1, 8>>);
  // Padding lets a window be longer than the input.
  STATIC_REQUIRE(MaxPool1D<5, 1, 2>::accepts<Shape<1, 1>>);
  STATIC_REQUIRE(!MaxPool1D<5, 1, 1>::accepts<Shape<1, 2>>);
  STATIC_REQUIRE(!MaxPool1D<3>::accepts<Shape<3>>);
}

TEST_CASE("MaxPool1D<K, S, Pad> parity with torch.nn.MaxPool1d(k, s, padding)", "[layers][pool][padding][parity]") {
  golden<MaxPool1D<3, 2, 1>, Shape<2, 14>>("maxpool_pad_k3_s2_p1");
  golden<MaxPool1D<3, 2, 1>, Shape<3, 13>>("maxpool_pad_k3_s2_p1_odd");
  golden<MaxPool1D<5, 1, 2>, Shape<2, 11>>("maxpool_pad_k5_s1_p2");
  golden<MaxPool1D<4, 3, 2>, Shape<2, 10>>("maxpool_pad_k4_s3_p2");
  golden<MaxPool1D<2, 1, 1>, Shape<1, 7>>("maxpool_pad_k2_s1_p1");
}

TEST_CASE("MaxPool1DSame<K, S> parity with TensorFlow SAME pooling (torch, -inf pad)", "[layers][pool][padding][parity]") {
  golden<MaxPool1DSame<5>, Shape<2, 11>>("maxpool_same_k5_s1");
  golden<MaxPool1DSame<4>, Shape<2, 9>>("maxpool_same_k4_s1");
  golden<MaxPool1DSame<3, 2>, Shape<2, 10>>("maxpool_same_k3_s2");
  golden<MaxPool1DSame<2, 3>, Shape<2, 10>>("maxpool_same_k2_s3");
  golden<MaxPool1DSame<6, 4>, Shape<2, 13>>("maxpool_same_k6_s4");
}

TEST_CASE("MaxPool1DSame<K, S>: Keras 'same' shapes and padding split, hand-computed", "[layers][pool][padding]") {
  // out = ceil(L/S); pad_total = max((out-1)*S + K - L, 0); left = pad_total/2.
  STATIC_REQUIRE(MaxPool1DSame<5>::out_len<1280> == 1280);
  STATIC_REQUIRE(MaxPool1DSame<5>::pad_total<1280> == 4 && MaxPool1DSame<5>::pad_left<1280> == 2);
  STATIC_REQUIRE(MaxPool1DSame<4>::pad_total<5> == 3 && MaxPool1DSame<4>::pad_left<5> == 1);      // 1 left, 2 right
  STATIC_REQUIRE(MaxPool1DSame<2, 2>::out_len<5> == 3 && MaxPool1DSame<2, 2>::pad_left<5> == 0);  // 0 left, 1 right
  STATIC_REQUIRE(MaxPool1DSame<2, 3>::pad_total<10> == 1 && MaxPool1DSame<2, 3>::pad_left<10> == 0);  // (4-1)*3 + 2 - 10
  STATIC_REQUIRE(std::is_same_v<MaxPool1DSame<3, 2>::output<Shape<7, 10>>, Shape<7, 5>>);
  STATIC_REQUIRE(MaxPool1DSame<9, 2>::accepts<Shape<1, 1>>);
  CHECK(MaxPool1DSame<5>::name() == "MaxPool1DSame(k=5, s=1)");

  SECTION("K=4, S=1, L=5: pad 1 left, 2 right (PyTorch cannot express this split)") {
    // padded: [-inf | 1 7 3 2 6 | -inf -inf]; windows of 4 starting at padded 0..4:
    //   [-inf 1 7 3] = 7 (x1), [1 7 3 2] = 7 (x1), [7 3 2 6] = 7 (x1), [3 2 6 -inf] = 6 (x4), [2 6 -inf -inf] = 6 (x4)
    auto [y, dx] = run_row<MaxPool1DSame<4>, 5>({1, 7, 3, 2, 6}, {1, 10, 100, 1000, 10000});
    CHECK(y == std::vector<double>{7, 7, 7, 6, 6});
    CHECK(dx == std::vector<double>{0, 111, 0, 0, 11000});
  }
  SECTION("K=2, S=2, L=5: out 3, pad 0 left, 1 right: the last window is x4 alone") {
    auto [y, dx] = run_row<MaxPool1DSame<2, 2>, 5>({4, -1, -3, -2, -5}, {1, 2, 3});
    CHECK(y == std::vector<double>{4, -2, -5});       // a negative lone sample still wins over the -inf pad
    CHECK(dx == std::vector<double>{1, 0, 0, 2, 3});
  }
  SECTION("K=5, S=1, L=6: pad 2 each side (GaSNet's pool) equals MaxPool1D<5, 1, 2>") {
    const std::vector<double> x{0.5, -2, 3, 1, -1, 2}, g{1, 2, 3, 4, 5, 6};
    // windows centred on each sample: [0..2]=3, [0..3]=3, [0..4]=3, [1..5]=3, [2..5]=3, [3..5]=2
    auto [y, dx] = run_row<MaxPool1DSame<5>, 6>(x, g);
    CHECK(y == std::vector<double>{3, 3, 3, 3, 3, 2});
    CHECK(dx == std::vector<double>{0, 0, 15, 0, 0, 6});
    auto [y2, dx2] = run_row<MaxPool1D<5, 1, 2>, 6>(x, g);
    CHECK(y2 == y);
    CHECK(dx2 == dx);
  }
  SECTION("ties: the first maximum in the window takes the gradient") {
    auto [y, dx] = run_row<MaxPool1DSame<3>, 4>({2, 2, 1, 2}, {1, 10, 100, 1000});
    // pad 1/1: [-inf 2 2]=x0, [2 2 1]=x0, [2 1 2]=x1, [1 2 -inf]=x3
    CHECK(y == std::vector<double>{2, 2, 2, 2});
    CHECK(dx == std::vector<double>{11, 100, 0, 1000});
  }
}

TEST_CASE("Padded max pools: numeric gradient checks", "[layers][pool][padding][gradcheck]") {
  using testing::check_layer;
  auto r1 = check_layer<MaxPool1D<3, 2, 1>, Shape<2, 13>>();
  INFO(r1.worst); CHECK(r1.ok(1e-6));
  auto r2 = check_layer<MaxPool1D<5, 1, 2>, Shape<3, 9>>();
  INFO(r2.worst); CHECK(r2.ok(1e-6));
  auto r3 = check_layer<MaxPool1DSame<4>, Shape<2, 9>>();
  INFO(r3.worst); CHECK(r3.ok(1e-6));
  auto r4 = check_layer<MaxPool1DSame<6, 4>, Shape<2, 13>>();
  INFO(r4.worst); CHECK(r4.ok(1e-6));
  CHECK(r1.checked > 0);
}

TEST_CASE("Padded max pool in a Model (float, batch 2)", "[layers][pool][padding]") {
  using Net1 = Net<Input<"x", 2, 12>, MaxPool1D<3, 2, 1>, MaxPool1DSame<4>>;
  Model<Net1> m;
  STATIC_REQUIRE(std::is_same_v<Model<Net1>::trunk_shape, Shape<2, 6>>);
  auto x = Tensor<float>::zeros({2, 2, 12});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = float((i * 37) % 11) - 5.0f;
  const auto& y = m.forward(x);
  CHECK(y.shape() == std::vector<int64_t>{2, 2, 6});
  CHECK(std::all_of(y.data(), y.data() + y.numel(), [](float v) { return std::isfinite(v); }));
}

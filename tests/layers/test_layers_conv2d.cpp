// Conv2D: double-precision gradient checks (valid, same, strided, explicit padding, 1x1, no bias),
// a direct-loop reference for the forward pass (also on the batch-1 path that splits output positions
// over threads), bit-identical weight gradients on any thread count, and a small image network
// (Conv2D, BatchNorm2D, ReLU, MaxPool2D, AdaptiveAvgPool2D, FlattenChannelsLast, Dense) checked whole.
#include <catch2/catch.hpp>

#include <cmath>
#include <iostream>
#include <vector>

#include "galml/galml.hpp"
#include "galml/testing/gradcheck.hpp"

using namespace galml;
using galml::testing::check_layer;

namespace {
// y[n, o, i, j] = b[o] + sum_{c, kh, kw} w[o, c, kh, kw] x[n, c, i*S + kh - P, j*S + kw - P]
template <class In, int O, int K, int S, int P>
std::vector<double> reference(const std::vector<double>& x, const double* w, const double* b, int64_t N) {
  constexpr int C = In::dims[0], H = In::dims[1], W = In::dims[2];
  constexpr int HO = (H + 2 * P - K) / S + 1, WO = (W + 2 * P - K) / S + 1;
  std::vector<double> y(size_t(N * O * HO * WO));
  for (int64_t n = 0; n < N; ++n)
    for (int o = 0; o < O; ++o)
      for (int i = 0; i < HO; ++i)
        for (int j = 0; j < WO; ++j) {
          double s = b ? b[o] : 0.0;
          for (int c = 0; c < C; ++c)
            for (int kh = 0; kh < K; ++kh)
              for (int kw = 0; kw < K; ++kw) {
                const int ih = i * S + kh - P, iw = j * S + kw - P;
                if (ih >= 0 && ih < H && iw >= 0 && iw < W) s += w[((o * C + c) * K + kh) * K + kw] * x[size_t(((n * C + c) * H + ih) * W + iw)];
              }
          y[size_t(((n * O + o) * HO + i) * WO + j)] = s;
        }
  return y;
}

template <class Spec, class In, int O, int K, int S, int P, bool Bias = true>
double forward_vs_reference(int64_t N) {
  using Impl = typename Spec::template impl<In, double, cpu>;
  constexpr int64_t NP = Spec::template num_params<In>;
  std::vector<double> p(static_cast<size_t>(NP)), g(p.size(), 0.0);
  Rng rng(5, 1);
  Impl::init(p.data(), rng, Init::pytorch);
  Impl layer;
  layer.bind(p.data(), g.data());
  std::vector<double> x(size_t(N * In::size)), y(size_t(N * Impl::out_shape::size));
  for (auto& v : x) v = rng.normal();
  Context ctx;
  layer.forward(x.data(), y.data(), N, ctx);
  const auto want = reference<In, O, K, S, P>(x, p.data(), Bias ? p.data() + int64_t(O) * In::dims[0] * K * K : nullptr, N);
  double m = 0;
  for (size_t i = 0; i < y.size(); ++i) m = std::max(m, std::abs(y[i] - want[i]));
  return m;
}
}  // namespace

TEST_CASE("Conv2D output shapes and names", "[layers][conv2d]") {
  STATIC_REQUIRE(std::is_same_v<Conv2D<32, 3>::output<Shape<3, 128, 128>>, Shape<32, 126, 126>>);                 // M2, valid
  STATIC_REQUIRE(std::is_same_v<Conv2D<32, 3, 1, Padding::same>::output<Shape<3, 128, 128>>, Shape<32, 128, 128>>);  // M3, same
  STATIC_REQUIRE(std::is_same_v<Conv2D<64, 3, 2, 1>::output<Shape<32, 150, 150>>, Shape<64, 75, 75>>);             // GCSNet stride-2 option
  STATIC_REQUIRE(std::is_same_v<Conv2D<8, 5, 1, Padding::same>::output<Shape<2, 9, 7>>, Shape<8, 9, 7>>);
  STATIC_REQUIRE(Conv2D<32, 3>::num_params<Shape<3, 128, 128>> == 32 * 3 * 9 + 32);
  STATIC_REQUIRE(!Conv2D<4, 5>::accepts<Shape<2, 4, 9>>);
  STATIC_REQUIRE(!Conv2D<4, 3>::accepts<Shape<2, 9>>);
  CHECK(Conv2D<32, 3, 1, Padding::same>::name() == "Conv2D(32, k=3, s=1, same)");
  CHECK(Conv2D<4, 3, 2, 1, false>::name() == "Conv2D(4, k=3, s=2, p=1, no bias)");
}

TEST_CASE("Conv2D gradients", "[layers][gradcheck][conv2d]") {
  auto check = [](auto r, const char* what) {
    INFO(what << ": " << r.worst << " rel " << r.max_rel_error << " (" << r.checked << " checked)");
    CHECK(r.checked > 20);
    CHECK(r.ok(1e-6));
    std::cout << "  gradcheck " << what << ": max rel error " << r.max_rel_error << ", max abs error " << r.max_abs_error << "\n";
  };
  check(check_layer<Conv2D<3, 3>, Shape<2, 6, 7>>(), "valid");
  check(check_layer<Conv2D<4, 3, 1, Padding::same>, Shape<3, 5, 6>>(), "same k3");
  check(check_layer<Conv2D<2, 5, 1, Padding::same>, Shape<2, 6, 5>>(), "same k5");
  check(check_layer<Conv2D<3, 3, 2, 1>, Shape<2, 9, 8>>(), "stride 2, pad 1");
  check(check_layer<Conv2D<3, 4, 3>, Shape<2, 11, 10>>(), "k4 stride 3, valid (remainder dropped)");
  check(check_layer<Conv2D<3, 3, 1, 2>, Shape<2, 4, 5>>(), "pad 2 > k/2");
  check(check_layer<Conv2D<5, 1, 1, Padding::valid, false>, Shape<3, 4, 5>>(), "1x1, no bias");
}

TEST_CASE("Conv2D forward matches a direct loop, batched and at batch 1 on 2 threads", "[layers][conv2d]") {
  const int saved = get_num_threads();
  set_num_threads(2);
  // batch 1: output positions split over threads, column ranges crossing image rows (16*16 = 256 positions)
  CHECK(forward_vs_reference<Conv2D<5, 3, 1, Padding::same>, Shape<3, 16, 16>, 5, 3, 1, 1>(1) < 1e-12);
  CHECK(forward_vs_reference<Conv2D<4, 3, 2, 1>, Shape<2, 31, 27>, 4, 3, 2, 1>(1) < 1e-12);
  CHECK(forward_vs_reference<Conv2D<3, 1, 1, Padding::valid, false>, Shape<4, 13, 17>, 3, 1, 1, 0, false>(1) < 1e-12);
  // batched: samples over threads
  CHECK(forward_vs_reference<Conv2D<5, 3, 1, Padding::same>, Shape<3, 16, 16>, 5, 3, 1, 1>(5) < 1e-12);
  CHECK(forward_vs_reference<Conv2D<4, 5, 2>, Shape<2, 19, 14>, 4, 5, 2, 0>(3) < 1e-12);
  set_num_threads(saved);
}

TEST_CASE("Conv2D weight gradients are the same bits on 1 and 3 threads", "[layers][conv2d][determinism]") {
  using L = Conv2D<6, 3, 1, Padding::same>;
  using In = Shape<3, 10, 9>;
  using Impl = L::impl<In, float, cpu>;
  constexpr int64_t NP = L::num_params<In>, N = 21;  // more samples than reduction chunks
  std::vector<float> p(static_cast<size_t>(NP)), x(size_t(N * In::size)), y(size_t(N * Impl::out_shape::size)), dy(y.size()), dx(x.size());
  Rng rng(9, 9);
  Impl::init(p.data(), rng, Init::pytorch);
  for (auto& v : x) v = float(rng.normal());
  for (auto& v : dy) v = float(rng.normal());
  auto grads = [&](int threads) {
    set_num_threads(threads);
    std::vector<float> g(size_t(NP), 0.0f);
    Impl layer;
    layer.bind(p.data(), g.data());
    Context ctx;
    layer.forward(x.data(), y.data(), N, ctx);
    layer.backward(x.data(), y.data(), dy.data(), dx.data(), N, ctx);
    return g;
  };
  const int saved = get_num_threads();
  const auto g1 = grads(1), g3 = grads(3);
  set_num_threads(saved);
  CHECK(g1 == g3);
}

TEST_CASE("A small image network (Conv2D, BatchNorm2D, pools, FlattenChannelsLast) checks out whole", "[layers][gradcheck][conv2d]") {
  using N = Net<Input<"img", 2, 12, 11>, Conv2D<4, 3, 1, Padding::same, false>, BatchNorm2D<>, ReLU, MaxPool2D<2>, Conv2D<3, 3>,
                AdaptiveAvgPool2D<2>, FlattenChannelsLast, Dense<3>>;
  // Relative errors floored at 1e-3: some input pixels get gradients ~1e-5, where the central
  // difference's rounding noise (~1e-10 absolute) would dominate a plain relative error.
  galml::testing::GradCheckOptions o; o.floor = 1e-3;
  auto r = galml::testing::check_model<N>(o);
  INFO(r.worst << " rel " << r.max_rel_error);
  CHECK(r.ok(1e-6));
  Model<N, double> m;
  auto sd = m.state_dict();
  CHECK(sd.contains("trunk.0.weight"));
  CHECK(sd.contains("trunk.1.running_var"));
  CHECK(sd.contains("trunk.4.bias"));
  CHECK(sd.vector<double>("trunk.1.running_mean") == std::vector<double>(4, 0.0));
}

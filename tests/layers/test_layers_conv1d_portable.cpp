// The portable build: GALML_NO_SIMD turns the AVX2 kernels off at compile time (what a non-x86
// target gets). Conv1D (+ fused ReLU), its gradients and MaxPool1D must still compile and agree with a
// double-precision network of the same weights.
#define GALML_NO_SIMD 1
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "galml/galml.hpp"
#include "galml/testing/gradcheck.hpp"

using namespace galml;

TEST_CASE("GALML_NO_SIMD: portable Conv1D + ReLU + MaxPool1D", "[layers][conv1d][portable]") {
  static_assert(GALML_X86_DISPATCH == 0);
  CHECK_FALSE(cpu_kernels::direct::direct_conv_active());
  using C = Chain<Conv1D<8, 3>, ReLU, Conv1D<20, 3, 1, 1>, ReLU, MaxPool1D<3>, Conv1D<6, 3>, ReLU>;
  using In = Shape<3, 64>;
  auto r = galml::testing::check_layer<C, Shape<2, 23>>();  // small: few ReLU kinks near a difference step
  INFO(r.worst << " rel " << r.max_rel_error);
  CHECK(r.ok(1e-6));
  // float against double, same weights
  using F = C::impl<In, float, cpu>;
  using D = C::impl<In, double, cpu>;
  constexpr int64_t np = C::num_params<In>;
  Rng rng(4, 2);
  std::vector<double> pd(static_cast<size_t>(np)), gd(pd.size(), 0.0);
  D::init(pd.data(), rng, Init::pytorch);
  std::vector<float> pf(pd.begin(), pd.end()), gf(pf.size(), 0.f);
  const int64_t N = 6, out = F::out_shape::size;
  std::vector<double> xd(size_t(N * In::size)), dyd(size_t(N * out)), yd(dyd.size()), dxd(xd.size());
  for (auto& v : xd) v = rng.normal();
  for (auto& v : dyd) v = rng.normal();
  std::vector<float> xf(xd.begin(), xd.end()), dyf(dyd.begin(), dyd.end()), yf(yd.size()), dxf(xd.size());
  F f; f.bind(pf.data(), gf.data());
  D d; d.bind(pd.data(), gd.data());
  Context ctx; ctx.mode = Mode::train;
  f.forward(xf.data(), yf.data(), N, ctx); d.forward(xd.data(), yd.data(), N, ctx);
  f.backward(xf.data(), yf.data(), dyf.data(), dxf.data(), N, ctx); d.backward(xd.data(), yd.data(), dyd.data(), dxd.data(), N, ctx);
  auto rel = [](const auto& a, const auto& b) {
    double s = 1e-3, e = 0;
    for (size_t i = 0; i < b.size(); ++i) { s = std::max(s, std::abs(double(b[i]))); e = std::max(e, std::abs(double(a[i]) - double(b[i]))); }
    return e / s;
  };
  CHECK(rel(yf, yd) < 1e-5);
  CHECK(rel(dxf, dxd) < 1e-5);
  CHECK(rel(gf, gd) < 1e-5);
}

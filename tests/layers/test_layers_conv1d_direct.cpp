// The AVX2 direct Conv1D kernels (backend/cpu/conv1d_direct.hpp) and the Conv1D + ReLU fusion in
// Chain: float results against a double-precision triple loop, over channel counts that are and are
// not multiples of the 4-channel register tile, lengths with every tail size, padding and kernel
// sizes; the Eigen fallback gives the same values; thread count does not change a bit. Also the CPU
// max pool (vectorised k = s = 3, winners recomputed in backward) against the argmax ops.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "galml/galml.hpp"
#include "galml/testing/gradcheck.hpp"

using namespace galml;
using cpu_kernels::Conv1dDims;

namespace {

struct Ref {
  std::vector<double> y, dx, dw, db;
};

// y = [relu](conv(x) + b); gradients of sum(g * y) (the ReLU mask taken from y when relu).
Ref reference(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b, const std::vector<float>& g, int64_t N,
              const Conv1dDims& d, bool relu) {
  Ref r;
  r.y.assign(size_t(N * d.cout * d.lout), 0.0);
  r.dx.assign(x.size(), 0.0);
  r.dw.assign(w.size(), 0.0);
  r.db.assign(b.size(), 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < d.cout; ++o)
      for (int64_t l = 0; l < d.lout; ++l) {
        double s = b[size_t(o)];
        for (int64_t c = 0; c < d.cin; ++c)
          for (int64_t k = 0; k < d.K; ++k) {
            const int64_t i = l + k - d.pad;
            if (i >= 0 && i < d.L) s += double(w[size_t((o * d.cin + c) * d.K + k)]) * x[size_t((n * d.cin + c) * d.L + i)];
          }
        if (relu && s < 0) s = 0;
        const size_t yi = size_t((n * d.cout + o) * d.lout + l);
        r.y[yi] = s;
        const double gz = (relu && !(s > 0)) ? 0.0 : double(g[yi]);
        r.db[size_t(o)] += gz;
        for (int64_t c = 0; c < d.cin; ++c)
          for (int64_t k = 0; k < d.K; ++k) {
            const int64_t i = l + k - d.pad;
            if (i < 0 || i >= d.L) continue;
            r.dw[size_t((o * d.cin + c) * d.K + k)] += gz * x[size_t((n * d.cin + c) * d.L + i)];
            r.dx[size_t((n * d.cin + c) * d.L + i)] += gz * w[size_t((o * d.cin + c) * d.K + k)];
          }
      }
  return r;
}

template <class A, class B>
double max_rel(const A& a, const B& b) {
  double scale = 1e-3, err = 0;
  for (size_t i = 0; i < b.size(); ++i) scale = std::max(scale, std::abs(double(b[i])));
  for (size_t i = 0; i < b.size(); ++i) err = std::max(err, std::abs(double(a[i]) - double(b[i])));
  return err / scale;
}

struct Out {
  std::vector<float> y, dx, dw, db;
};
Out run(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b, const std::vector<float>& g, int64_t N,
        const Conv1dDims& d, bool relu) {
  Out o;
  o.y.assign(size_t(N * d.cout * d.lout), 0.f);
  o.dx.assign(x.size(), 123.f);  // overwritten
  o.dw.assign(w.size(), 0.f);
  o.db.assign(b.size(), 0.f);
  cpu_kernels::conv1d_forward(x.data(), w.data(), b.data(), o.y.data(), N, d, relu);
  cpu_kernels::conv1d_backward(x.data(), w.data(), g.data(), o.dx.data(), o.dw.data(), o.db.data(), N, d, relu ? o.y.data() : nullptr);
  return o;
}

}  // namespace

TEST_CASE("direct Conv1D kernels match a double triple loop", "[layers][conv1d][direct]") {
  if (!cpu_kernels::direct::cpu_has_avx2_fma()) WARN("this CPU has no AVX2/FMA: the Eigen fallback is what runs here");
  Rng rng(11, 0);
  struct Case { int64_t cin, cout, K, pad, L, N; };
  const Case cases[] = {
      {1, 16, 3, 0, 61, 3},  {16, 16, 3, 0, 59, 2}, {3, 5, 3, 1, 40, 2},  {7, 9, 5, 2, 33, 3},  {12, 6, 1, 0, 25, 2},
      {5, 3, 4, 3, 17, 1},   {9, 13, 3, 0, 8, 2},   {2, 4, 3, 0, 3, 4},   {32, 8, 7, 0, 100, 2}, {6, 10, 2, 1, 24, 1},
      {4, 4, 3, 0, 26, 1},   {4, 4, 3, 0, 27, 1},   {4, 4, 3, 0, 34, 1},  {4, 4, 3, 0, 42, 1},  {4, 4, 3, 0, 50, 1},
      // Winograd F(4,3) (k = 3, >= 16 reduction channels): forward when cin >= 16, input gradient when cout >= 16;
      // every tail of the 32-output blocks, padding, channel counts off the 4-row tile, groups of samples
      {32, 8, 3, 0, 100, 3}, {40, 36, 3, 1, 61, 5}, {33, 9, 3, 0, 37, 4}, {9, 35, 3, 0, 70, 4}, {64, 64, 3, 0, 189, 3},
      {32, 32, 3, 0, 7, 9},  {48, 40, 3, 1, 3, 2},  {32, 12, 3, 0, 36, 2}, {32, 12, 3, 0, 35, 2}, {32, 12, 3, 0, 34, 2},
      // long rows (>= 512 outputs: weight gradient per sample in 1024-position segments, scalar tails)
      {5, 6, 3, 1, 600, 2},  {3, 4, 3, 0, 1100, 2}, {33, 8, 3, 0, 1030, 2}};
  for (const auto& c : cases)
    for (bool relu : {false, true}) {
      const Conv1dDims d{c.cin, c.L, c.cout, c.K, 1, c.pad, c.L + 2 * c.pad - c.K + 1};
      std::vector<float> x(size_t(c.N * c.cin * c.L)), w(size_t(c.cout * c.cin * c.K)), b(size_t(c.cout)), g(size_t(c.N * c.cout * d.lout));
      for (auto& v : x) v = float(rng.normal());
      for (auto& v : w) v = float(rng.normal() * 0.5);
      for (auto& v : b) v = float(rng.normal() * 0.1);
      for (auto& v : g) v = float(rng.normal());
      const Ref ref = reference(x, w, b, g, c.N, d, relu);
      const Out out = run(x, w, b, g, c.N, d, relu);
      INFO("cin " << c.cin << " cout " << c.cout << " K " << c.K << " pad " << c.pad << " L " << c.L << " N " << c.N << " relu " << relu);
      // Errors relative to the largest reference value. Direct sums: a few float roundings; Winograd
      // (k = 3, >= 16 reduction channels) adds its transforms' rounding: allowed 1e-5.
      const double tol_y = cpu_kernels::direct::winograd_ok(c.K, c.cin, c.cout) ? 1e-5 : 2e-6;
      const double tol_dx = cpu_kernels::direct::winograd_ok(c.K, c.cout, c.cin) ? 1e-5 : 2e-6;
      CHECK(max_rel(out.y, ref.y) < tol_y);
      CHECK(max_rel(out.dx, ref.dx) < tol_dx);
      CHECK(max_rel(out.dw, ref.dw) < 2e-6);
      CHECK(max_rel(out.db, ref.db) < 2e-6);
      // The Eigen fallback (strided/double/no-AVX2 path) computes the same values.
      cpu_kernels::direct::set_direct_conv(false);
      const Out eig = run(x, w, b, g, c.N, d, relu);
      cpu_kernels::direct::set_direct_conv(true);
      CHECK(max_rel(eig.y, out.y) < tol_y);
      CHECK(max_rel(eig.dx, out.dx) < tol_dx);
      CHECK(max_rel(eig.dw, out.dw) < 2e-6);
      CHECK(max_rel(eig.db, out.db) < 2e-6);
    }
}

TEST_CASE("direct Conv1D kernels give the same bits on any thread count", "[layers][conv1d][determinism]") {
  Rng rng(5, 1);
  for (const Conv1dDims d : {Conv1dDims{16, 203, 20, 3, 1, 1, 203}, Conv1dDims{36, 70, 40, 3, 1, 0, 68}})
  for (int64_t N : {1, 7, 40}) {
    std::vector<float> x(size_t(N * d.cin * d.L)), w(size_t(d.cout * d.cin * d.K)), b(size_t(d.cout)), g(size_t(N * d.cout * d.lout));
    for (auto& v : x) v = float(rng.normal());
    for (auto& v : w) v = float(rng.normal());
    for (auto& v : b) v = float(rng.normal());
    for (auto& v : g) v = float(rng.normal());
    std::vector<Out> outs;
    for (int t : {1, 2, 3}) {
      set_num_threads(t);
      outs.push_back(run(x, w, b, g, N, d, true));
    }
    set_num_threads(2);
    for (size_t i = 1; i < outs.size(); ++i) {
      CHECK(outs[i].y == outs[0].y);
      CHECK(outs[i].dx == outs[0].dx);
      CHECK(outs[i].dw == outs[0].dw);
      CHECK(outs[i].db == outs[0].db);
    }
  }
}

TEST_CASE("Chain fuses Conv1D + ReLU: gradients and values unchanged", "[layers][conv1d][fusion]") {
  // Double: the fused pair on the Eigen path, checked by central differences.
  using C = Chain<Conv1D<4, 3>, ReLU, Conv1D<3, 3, 1, 1>, ReLU, MaxPool1D<2>, Conv1D<2, 3>, ReLU>;
  auto r = galml::testing::check_layer<C, Shape<2, 17>>();
  INFO(r.worst << " rel " << r.max_rel_error);
  CHECK(r.checked > 50);
  CHECK(r.ok(1e-6));
  static_assert(C::impl<Shape<2, 17>, float, cpu>::fuses_next<0>() && C::impl<Shape<2, 17>, float, cpu>::fused_into_prev<1>());
  static_assert(!C::impl<Shape<2, 17>, float, cpu>::fuses_next<4>());

  // Float: the fused chain against the same chain written with the ReLUs as separate, unfusable
  // layers (an Identity between conv and ReLU blocks the fusion), same parameters.
  using U = Chain<Conv1D<4, 3>, Identity, ReLU, Conv1D<3, 3, 1, 1>, Identity, ReLU, MaxPool1D<2>, Conv1D<2, 3>, Identity, ReLU>;
  using In = Shape<2, 37>;
  using FI = C::impl<In, float, cpu>;
  using UI = U::impl<In, float, cpu>;
  static_assert(!UI::fuses_next<0>());
  constexpr int64_t np = C::num_params<In>;
  static_assert(np == U::num_params<In>);
  Rng rng(9, 9);
  std::vector<float> p(static_cast<size_t>(np)), gf(p.size(), 0.f), gu(p.size(), 0.f);
  FI::init(p.data(), rng, Init::pytorch);
  const int64_t N = 5, out = FI::out_shape::size;
  std::vector<float> x(size_t(N * In::size)), dy(size_t(N * out)), yf(dy.size()), yu(dy.size()), dxf(x.size()), dxu(x.size());
  for (auto& v : x) v = float(rng.normal());
  for (auto& v : dy) v = float(rng.normal());
  FI f; f.bind(p.data(), gf.data());
  UI u; u.bind(p.data(), gu.data());
  Context ctx;
  ctx.mode = Mode::train;
  f.forward(x.data(), yf.data(), N, ctx);
  u.forward(x.data(), yu.data(), N, ctx);
  f.backward(x.data(), yf.data(), dy.data(), dxf.data(), N, ctx);
  u.backward(x.data(), yu.data(), dy.data(), dxu.data(), N, ctx);
  CHECK(max_rel(yf, yu) < 1e-6);
  CHECK(max_rel(dxf, dxu) < 1e-6);
  CHECK(max_rel(gf, gu) < 1e-6);
}

TEST_CASE("CPU MaxPool1D: vectorised k = s = 3 values, winners found again in backward", "[layers][pool]") {
  // Against the argmax ops (the CUDA-shaped path): same values (NaN included), same gradients.
  Rng rng(21, 0);
  for (int64_t L : {3, 5, 23, 24, 25, 26, 50, 100}) {
    for (auto [K, S] : {std::pair<int64_t, int64_t>{3, 3}, {2, 2}, {3, 2}, {4, 3}}) {
      if (L < K) continue;
      const int64_t rows = 7, lout = (L - K) / S + 1;
      std::vector<float> x(size_t(rows * L)), y(size_t(rows * lout)), yref(y.size()), dy(y.size()), dx(x.size()), dxref(x.size());
      for (auto& v : x) v = float(int(rng.normal() * 2));  // small integers: many ties
      x[size_t(L / 2)] = std::numeric_limits<float>::quiet_NaN();
      x[size_t(2 * L + 1)] = std::numeric_limits<float>::quiet_NaN();
      x[size_t(3 * L + L - 1)] = std::numeric_limits<float>::quiet_NaN();
      for (auto& v : dy) v = float(rng.normal());
      std::vector<int32_t> arg(y.size());
      backend_ops::maxpool1d_forward_values(cpu{}, x.data(), y.data(), rows, L, K, S, lout);
      backend_ops::maxpool1d_forward(cpu{}, x.data(), yref.data(), arg.data(), rows, L, K, S, lout);
      backend_ops::maxpool1d_backward_from_input(cpu{}, x.data(), dy.data(), dx.data(), rows, L, K, S, lout);
      backend_ops::maxpool1d_backward(cpu{}, dy.data(), arg.data(), dxref.data(), rows, L, lout);
      INFO("L " << L << " K " << K << " S " << S);
      for (size_t i = 0; i < y.size(); ++i) {
        if (std::isnan(yref[i])) CHECK(std::isnan(y[i]));
        else CHECK(y[i] == yref[i]);
      }
      CHECK(dx == dxref);
    }
  }
}

TEST_CASE("fused Conv1D + ReLU propagates NaN like ReLU", "[layers][conv1d][nan]") {
  // A NaN input sample must make every output it touches NaN (not 0), on the direct and the Winograd paths,
  // and leave the others finite.
  for (const Conv1dDims d : {Conv1dDims{4, 40, 8, 3, 1, 0, 38}, Conv1dDims{32, 70, 12, 3, 1, 1, 70}}) {
    const int64_t N = 4;
    std::vector<float> x(size_t(N * d.cin * d.L), 0.5f), w(size_t(d.cout * d.cin * d.K), -1.f), b(size_t(d.cout), 0.f);
    std::vector<float> y(size_t(N * d.cout * d.lout));
    const int64_t n = 2, c = 1, i = 17;
    x[size_t((n * d.cin + c) * d.L + i)] = std::numeric_limits<float>::quiet_NaN();
    cpu_kernels::conv1d_forward(x.data(), w.data(), b.data(), y.data(), N, d, true);
    for (int64_t s = 0; s < N; ++s)
      for (int64_t o = 0; o < d.cout; ++o)
        for (int64_t l = 0; l < d.lout; ++l) {
          // Padded input index ip is in the window of output l (direct), or in the six-input window of
          // l's four-output Winograd tile (there 0 x NaN spreads NaN over the tile: documented).
          const int64_t ip = i + d.pad, t0 = (l / 4) * 4;
          const bool wino = cpu_kernels::direct::direct_conv_active() && cpu_kernels::direct::winograd_ok(d.K, d.cin, d.cout);
          const bool touched = s == n && (wino ? (ip >= t0 && ip <= t0 + 5) : (ip >= l && ip <= l + d.K - 1));
          const float v = y[size_t((s * d.cout + o) * d.lout + l)];
          INFO("cin " << d.cin << " sample " << s << " out " << o << " pos " << l);
          if (touched) CHECK(std::isnan(v));
          else CHECK(v == 0.f);  // all weights negative, inputs positive: ReLU gives 0
        }
  }
}

// The direct FP32 Conv1D kernels of the CUDA backend (backend/cuda/conv1d_direct.cuh): forward with
// bias and fused ReLU, dx through the transposed kernel, dW/db through the two-stage fixed-order
// reduction. Checked against a double-precision CPU reference on every tile configuration and on
// shapes that leave partial tiles, against the im2col + cuBLAS path, for bit-identical reruns, for
// every output element being written, and for NaN propagation.
#include <limits>

#include "cuda/cuda_test_util.hpp"

using namespace galml;
using namespace cuda_test;
namespace ops = galml::backend_ops;

namespace {

struct Case { int64_t cin, L, cout, pad, N; };

// Reference in double on the CPU (the fused CPU ops when relu).
struct Ref {
  std::vector<double> y, dx, dw, db;
};
// relu_mask (optional): the ReLU output whose sign masks dy in the backward; by default the reference's
// own. The reduced-precision tests pass the GPU's output: an element within rounding of 0 may flip sign,
// and the backward is only comparable for the same mask.
Ref reference(const Case& c, const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b, const std::vector<float>& dy,
              const std::vector<float>& dw0, const std::vector<float>& db0, bool relu, const std::vector<float>* relu_mask = nullptr) {
  const cpu_kernels::Conv1dDims d{c.cin, c.L, c.cout, 3, 1, c.pad, c.L + 2 * c.pad - 2};
  auto up = [](const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); };
  auto xd = up(x), wd = up(w), bd = up(b), dyd = up(dy);
  Ref r;
  r.y.resize(size_t(c.N * c.cout * d.lout));
  r.dx.resize(x.size());
  r.dw = up(dw0);
  r.db = up(db0);
  if (relu) {
    ops::conv1d_relu_forward(cpu{}, xd.data(), wd.data(), bd.data(), r.y.data(), c.N, d);
    const std::vector<double> mask = relu_mask ? up(*relu_mask) : r.y;
    ops::conv1d_relu_backward(cpu{}, xd.data(), wd.data(), mask.data(), dyd.data(), r.dx.data(), r.dw.data(), r.db.data(), c.N, d);
  } else {
    ops::conv1d_forward(cpu{}, xd.data(), wd.data(), bd.data(), r.y.data(), c.N, d);
    ops::conv1d_backward(cpu{}, xd.data(), wd.data(), dyd.data(), r.dx.data(), r.dw.data(), r.db.data(), c.N, d);
  }
  return r;
}

template <class A> double rel_to(const std::vector<float>& a, const std::vector<A>& ref) {
  std::vector<double> ad(a.begin(), a.end()), rd(ref.begin(), ref.end());
  return max_rel(ad, rd);
}

struct Out {
  std::vector<float> y, dx, dw, db;
};
Out run_cuda(const Case& c, const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b, const std::vector<float>& dy,
             const std::vector<float>& dw0, const std::vector<float>& db0, bool relu, bool with_dx = true) {
  const cpu_kernels::Conv1dDims d{c.cin, c.L, c.cout, 3, 1, c.pad, c.L + 2 * c.pad - 2};
  const int64_t ys = c.N * c.cout * d.lout;
  auto gx = dev(x), gw = dev(w), gb = dev(b), gdy = dev(dy), gdw = dev(dw0), gdb = dev(db0);
  // Poisoned outputs: an element the kernels never write stays NaN and fails the comparison.
  auto gy = dev(std::vector<float>(size_t(ys), std::numeric_limits<float>::quiet_NaN()));
  auto gdx = dev(std::vector<float>(x.size(), std::numeric_limits<float>::quiet_NaN()));
  if (relu) {
    ops::conv1d_relu_forward(cuda{}, (const float*)gx.data(), (const float*)gw.data(), (const float*)gb.data(), gy.data(), c.N, d);
    ops::conv1d_relu_backward(cuda{}, (const float*)gx.data(), (const float*)gw.data(), (const float*)gy.data(), (const float*)gdy.data(),
                              with_dx ? gdx.data() : nullptr, gdw.data(), gdb.data(), c.N, d);
  } else {
    ops::conv1d_forward(cuda{}, (const float*)gx.data(), (const float*)gw.data(), (const float*)gb.data(), gy.data(), c.N, d);
    ops::conv1d_backward(cuda{}, (const float*)gx.data(), (const float*)gw.data(), (const float*)gdy.data(), with_dx ? gdx.data() : nullptr,
                         gdw.data(), gdb.data(), c.N, d);
  }
  return {host(gy), host(gdx), host(gdw), host(gdb)};
}

// Every tile configuration of the forward (16x512 .. 128x64) and of the weight gradient (channel tiles
// 4/16/32/64), full and partial tiles, the three paddings the kernels take, one and several samples.
const Case kCases[] = {
    {1, 300, 16, 0, 3},    // first MTL layer (Cin = 1)
    {16, 517, 16, 0, 2},   // 16 x 512 tile, partial position tile
    {16, 200, 32, 1, 3},   // same padding
    {32, 129, 64, 0, 2},   //
    {64, 70, 128, 2, 2},   // pad 2 (the largest the kernels take)
    {128, 40, 256, 0, 3},  // deepest MTL block
    {3, 37, 5, 0, 7},      // channels far from any tile multiple
    {70, 33, 9, 1, 1},     // more input than output channels, one sample
    {5, 3, 20, 0, 4},      // shortest valid input (one output position)
};

}  // namespace

TEST_CASE("CUDA direct conv1d matches a double reference on every tile shape", "[cuda][ops][conv1d]") {
  GALML_SKIP_WITHOUT_CUDA();
  REQUIRE(cuda_rt::conv_path() == cuda_rt::ConvPath::automatic);  // the default
  cuda_rt::set_conv_path(cuda_rt::ConvPath::direct);
  for (const auto& c : kCases) {
    for (bool relu : {false, true}) {
      const int64_t lout = c.L + 2 * c.pad - 2;
      INFO("cin " << c.cin << " L " << c.L << " cout " << c.cout << " pad " << c.pad << " N " << c.N << " relu " << relu);
      auto x = random_vec<float>(c.N * c.cin * c.L, 1), w = random_vec<float>(c.cout * c.cin * 3, 2), b = random_vec<float>(c.cout, 3);
      auto dy = random_vec<float>(c.N * c.cout * lout, 4), dw0 = random_vec<float>(c.cout * c.cin * 3, 5), db0 = random_vec<float>(c.cout, 6);
      const Ref r = reference(c, x, w, b, dy, dw0, db0, relu);
      const Out o = run_cuda(c, x, w, b, dy, dw0, db0, relu);
      CHECK(rel_to(o.y, r.y) < 1e-5);
      CHECK(rel_to(o.dx, r.dx) < 1e-5);
      CHECK(rel_to(o.dw, r.dw) < 1e-5);
      CHECK(rel_to(o.db, r.db) < 1e-5);
      if (relu) {  // the ReLU really clipped something, so the mask path was exercised
        CHECK(std::count(o.y.begin(), o.y.end(), 0.f) > int64_t(o.y.size()) / 8);
      }

      // Same bits on a rerun (fixed-order sums, no atomics); dx = nullptr leaves dW/db unchanged.
      const Out o2 = run_cuda(c, x, w, b, dy, dw0, db0, relu, false);
      CHECK(o2.y == o.y);
      CHECK(o2.dw == o.dw);
      CHECK(o2.db == o.db);

      // The im2col + cuBLAS path computes the same function.
      cuda_rt::set_conv_path(cuda_rt::ConvPath::gemm);
      const Out g = run_cuda(c, x, w, b, dy, dw0, db0, relu);
      cuda_rt::set_conv_path(cuda_rt::ConvPath::direct);
      CHECK(max_rel(o.y, g.y) < 1e-5);
      CHECK(max_rel(o.dx, g.dx) < 1e-5);
      CHECK(max_rel(o.dw, g.dw) < 1e-5);
      CHECK(max_rel(o.db, g.db) < 1e-5);
    }
  }
  cuda_rt::set_conv_path(cuda_rt::ConvPath::automatic);
}

TEST_CASE("CUDA direct conv1d spreads a NaN input only to the outputs that read it", "[cuda][ops][conv1d]") {
  GALML_SKIP_WITHOUT_CUDA();
  cuda_rt::set_conv_path(cuda_rt::ConvPath::direct);
  const Case c{16, 200, 32, 0, 2};
  const int64_t lout = c.L - 2;
  auto x = random_vec<float>(c.N * c.cin * c.L, 7), w = random_vec<float>(c.cout * c.cin * 3, 8), b = random_vec<float>(c.cout, 9);
  auto dy = random_vec<float>(c.N * c.cout * lout, 10), dw0 = random_vec<float>(c.cout * c.cin * 3, 11), db0 = random_vec<float>(c.cout, 12);
  const int64_t bad = (1 * c.cin + 5) * c.L + 100;  // sample 1, channel 5, position 100
  x[size_t(bad)] = std::numeric_limits<float>::quiet_NaN();
  for (bool relu : {false, true}) {
    INFO("relu " << relu);
    const Out o = run_cuda(c, x, w, b, dy, dw0, db0, relu);
    for (int64_t n = 0; n < c.N; ++n)
      for (int64_t ch = 0; ch < c.cout; ++ch)
        for (int64_t l = 0; l < lout; ++l) {
          const bool reads = n == 1 && l >= 98 && l <= 100;
          const float v = o.y[size_t((n * c.cout + ch) * lout + l)];
          if (reads) CHECK(std::isnan(v));
          else CHECK(std::isfinite(v));
        }
    // Every weight of input channel 5 multiplies the NaN (0 * NaN is NaN, also where the ReLU masks dy);
    // the other channels' weights stay finite.
    for (int64_t oc = 0; oc < c.cout; ++oc)
      for (int64_t ic = 0; ic < c.cin; ++ic)
        for (int k = 0; k < 3; ++k) CHECK(std::isnan(o.dw[size_t((oc * c.cin + ic) * 3 + k)]) == (ic == 5));
  }
  cuda_rt::set_conv_path(cuda_rt::ConvPath::automatic);
}

// Tensor-core kernels (conv1d_tc.cuh): forward, dx and (from tc_wgrad_min_channels) dW in TF32 / BF16 /
// 3xTF32. Operand rounding bounds the error: TF32 keeps 10 mantissa bits, BF16 7; sums of up to 768
// products, measured as max |error| / max |reference| (the tolerances docs/gpu.md lists). 3xTF32 gets
// the FP32 kernels' bound and must be at least 10x closer than TF32 on the same data.
TEST_CASE("CUDA tensor-core conv1d (TF32, BF16, 3xTF32) matches a double reference within the precision's tolerance", "[cuda][ops][conv1d]") {
  GALML_SKIP_WITHOUT_CUDA();
  struct P { cuda_rt::Precision p; double tol; };
  REQUIRE(cuda_rt::tc_vector_loads());  // the default
  REQUIRE(cuda_rt::tc_wgrad_min_channels() == 32);
  for (int wmin : {32, 1})  // 1: tensor-core weight gradients for every layer (few channels, partial tiles)
  for (bool vec : {true, false})
  for (const P pr : {P{cuda_rt::Precision::tf32, 2e-3}, P{cuda_rt::Precision::bf16, 1.6e-2}, P{cuda_rt::Precision::tf32x3, 1e-5}}) {
    cuda_rt::set_tc_vector_loads(vec);
    cuda_rt::set_tc_wgrad_min_channels(wmin);
    cuda_rt::set_precision(pr.p);
    for (const auto& c : kCases) {
      for (bool relu : {false, true}) {
        const int64_t lout = c.L + 2 * c.pad - 2;
        INFO(cuda_rt::precision_name(pr.p) << (vec ? " vector" : " element") << " copies, TC dW from " << wmin << " channels, cin " << c.cin << " L " << c.L << " cout " << c.cout << " pad " << c.pad << " N " << c.N << " relu " << relu);
        auto x = random_vec<float>(c.N * c.cin * c.L, 21), w = random_vec<float>(c.cout * c.cin * 3, 22), b = random_vec<float>(c.cout, 23);
        auto dy = random_vec<float>(c.N * c.cout * lout, 24), dw0 = random_vec<float>(c.cout * c.cin * 3, 25), db0 = random_vec<float>(c.cout, 26);
        const Out o = run_cuda(c, x, w, b, dy, dw0, db0, relu);
        const Ref r = reference(c, x, w, b, dy, dw0, db0, relu, &o.y);
        const double ey = rel_to(o.y, r.y), edx = rel_to(o.dx, r.dx);
        CAPTURE(ey, edx);
        CHECK(ey < pr.tol);
        CHECK(edx < pr.tol);
        if (pr.p == cuda_rt::Precision::tf32x3) {  // FP32-level, and far closer than one TF32 product
          cuda_rt::set_precision(cuda_rt::Precision::tf32);
          const double ey_tf32 = rel_to(run_cuda(c, x, w, b, dy, dw0, db0, relu).y, r.y);
          cuda_rt::set_precision(pr.p);
          CAPTURE(ey_tf32);
          CHECK(ey < 0.1 * ey_tf32);
        } else {
          CHECK(ey > 1e-7);  // the tensor cores really ran (an FP32 path would be ~1e-7)
        }
        CHECK(rel_to(o.dw, r.dw) < pr.tol);
        CHECK(rel_to(o.db, r.db) < 1e-5);
        const Out o2 = run_cuda(c, x, w, b, dy, dw0, db0, relu);
        CHECK(o2.y == o.y);  // deterministic
        CHECK(o2.dx == o.dx);
        CHECK(o2.dw == o.dw);
      }
    }
  }
  cuda_rt::set_tc_vector_loads(true);
  cuda_rt::set_tc_wgrad_min_channels(32);
  cuda_rt::set_precision(cuda_rt::Precision::fp32);
}

// 3xTF32 (Precision::tf32x3; its accuracy is checked with TF32 and BF16 above): a NaN input reaches only
// the outputs that read it, as in the FP32 kernels.
TEST_CASE("CUDA 3xTF32 conv1d spreads a NaN input only to the outputs that read it", "[cuda][ops][conv1d]") {
  GALML_SKIP_WITHOUT_CUDA();
  cuda_rt::set_precision(cuda_rt::Precision::tf32x3);
  // TC weight gradients from 1 channel, so dW runs 3xTF32 too.
  cuda_rt::set_tc_wgrad_min_channels(1);
  const Case c{16, 200, 32, 0, 2};
  const int64_t lout = c.L - 2;
  auto x = random_vec<float>(c.N * c.cin * c.L, 7), w = random_vec<float>(c.cout * c.cin * 3, 8), b = random_vec<float>(c.cout, 9);
  auto dy = random_vec<float>(c.N * c.cout * lout, 10), dw0 = random_vec<float>(c.cout * c.cin * 3, 11), db0 = random_vec<float>(c.cout, 12);
  x[size_t((1 * c.cin + 5) * c.L + 100)] = std::numeric_limits<float>::quiet_NaN();
  const Out o = run_cuda(c, x, w, b, dy, dw0, db0, false);
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t ch = 0; ch < c.cout; ++ch)
      for (int64_t l = 0; l < lout; ++l) CHECK(std::isnan(o.y[size_t((n * c.cout + ch) * lout + l)]) == (n == 1 && l >= 98 && l <= 100));
  for (int64_t oc = 0; oc < c.cout; ++oc)
    for (int64_t ic = 0; ic < c.cin; ++ic)
      for (int k = 0; k < 3; ++k) CHECK(std::isnan(o.dw[size_t((oc * c.cin + ic) * 3 + k)]) == (ic == 5));
  cuda_rt::set_tc_wgrad_min_channels(32);
  cuda_rt::set_precision(cuda_rt::Precision::fp32);
}

// Host only (runs without a GPU too): the names the example's --precision takes.
TEST_CASE("CUDA precision names round-trip; an unknown one is refused with the accepted names", "[cuda][precision]") {
  using P = cuda_rt::Precision;
  for (P p : {P::fp32, P::tf32, P::bf16, P::tf32x3}) CHECK(cuda_rt::precision_from_name(cuda_rt::precision_name(p)) == p);
  CHECK(std::string(cuda_rt::precision_name(P::tf32x3)) == "tf32x3");
  CHECK_THROWS_WITH(cuda_rt::precision_from_name("fp16"), Catch::Contains("expected fp32, tf32, bf16 or tf32x3, got 'fp16'"));
}

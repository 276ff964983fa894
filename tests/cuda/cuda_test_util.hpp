#pragma once
// Helpers shared by the CUDA backend tests. Every test starts with GALML_SKIP_WITHOUT_CUDA(): on a
// machine without a usable device it warns and passes, so the suite builds and runs everywhere.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "galml/backend/cuda/cuda.hpp"
#include "galml/galml.hpp"

#define GALML_SKIP_WITHOUT_CUDA()                \
  do {                                           \
    if (!::galml::cuda_available()) {            \
      WARN("skipping: no CUDA device");          \
      return;                                    \
    }                                            \
  } while (0)

namespace cuda_test {

template <class T> std::vector<T> random_vec(int64_t n, uint64_t stream, double lo = -1.0, double hi = 1.0) {
  galml::Rng r(1234, stream);
  std::vector<T> v(size_t(std::max<int64_t>(n, 0)));
  for (auto& x : v) x = T(r.uniform(lo, hi));
  return v;
}
template <class T> galml::Tensor<T, galml::cuda> dev(const std::vector<T>& v) {
  auto d = galml::Tensor<T, galml::cuda>({int64_t(v.size())});
  galml::allocator<galml::cuda>::copy_from_host(d.data(), v.data(), v.size() * sizeof(T));
  return d;
}
template <class T> std::vector<T> host(const galml::Tensor<T, galml::cuda>& d, int64_t n = -1) {
  std::vector<T> v(size_t(n < 0 ? d.numel() : n));
  galml::allocator<galml::cuda>::copy_to_host(v.data(), d.data(), v.size() * sizeof(T));
  return v;
}
template <class T> std::vector<T> host_ptr(const T* p, int64_t n) {
  std::vector<T> v(static_cast<size_t>(n));
  galml::allocator<galml::cuda>::copy_to_host(v.data(), p, v.size() * sizeof(T));
  return v;
}

// Error relative to the reference's largest magnitude: max|a - b| / max|b|. Elementwise relative
// error is meaningless for entries that cancel to ~0 (a different summation order changes their
// low bits); scaling by the tensor's max is what "1e-5 relative" means in these tests.
template <class T> double max_rel(const std::vector<T>& a, const std::vector<T>& b) {
  REQUIRE(a.size() == b.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::abs(double(a[i]) - double(b[i]));
    if (std::isnan(d)) return INFINITY;
    num = std::max(num, d);
    den = std::max(den, std::abs(double(b[i])));
  }
  return den > 0 ? num / den : num;
}

// Tolerances (relative to the tensor max, see max_rel):
//   GEMM-based ops (conv, dense) and fixed-order reductions: 1e-5 float, 1e-12 double. cuBLAS and
//   Eigen sum the same products in different orders; with K up to a few thousand terms of mixed sign
//   the float difference is a few 1e-7 of the max.
//   Transcendental activations: 2e-6 float, 1e-14 double (CUDA's expf/erff/tanhf are within 2 ulp,
//   glibc's within 1; the backward formulas multiply two such values).
template <class T> constexpr double gemm_tol() { return sizeof(T) == 4 ? 1e-5 : 1e-12; }
template <class T> constexpr double math_tol() { return sizeof(T) == 4 ? 2e-6 : 1e-14; }


// One forward + backward of NetT on both backends (train mode unless `training` is false) with the same
// parameters, dropout seed and step (the CUDA dropout bits equal the CPU's), random inputs (every input
// of a multi-input net) and random output gradients. Returns the largest differences relative to each
// tensor's largest magnitude (max_rel): over the heads' outputs, over the parameter gradient, of the
// input gradient (single-input nets; 0 otherwise) and over the state-dict entries afterwards (running
// statistics included; `running` counts those). The test cases assert on them.
struct BackendDiff {
  double out = 0, grad = 0, dx = 0, state = 0;
  int running = 0;
};
template <class NetT, class T>
BackendDiff compare_backends(int64_t N, bool training = true) {
  BackendDiff d;
  using MC = galml::Model<NetT, T>;
  using MG = galml::Model<NetT, T, galml::cuda>;
  galml::manual_seed(21);
  MC mc;
  MG mg;
  auto init = mc.state_dict();
  if (!training) {
    // Eval normalises with the running statistics: give each channel its own mean and variance (the
    // initial 0 and 1 everywhere would hide a per-channel indexing or mean/variance mix-up).
    galml::Rng srng(13, 5);
    for (auto& [name, a] : init.entries()) {
      const bool mean = name.find("running_mean") != std::string::npos, var = name.find("running_var") != std::string::npos;
      if (!mean && !var) continue;
      std::vector<double> v(size_t(a.numel()));
      for (auto& x : v) x = mean ? srng.normal(0.0, 0.7) : srng.uniform(0.3, 2.5);
      a = galml::NamedArray::from(v.data(), a.shape);
    }
    mc.load_state_dict(init);
  }
  mg.load_state_dict(init);
  for (auto* ctx : {&mc.context(), &mg.context()}) { ctx->seed = 9; ctx->step = 4; }
  if (training) { mc.train(); mg.train(); }
  else { mc.eval(); mg.eval(); }
  galml::Rng rng(8, 2);
  const auto shapes = MC::front_t::sample_shapes();
  std::array<galml::Tensor<T>, MC::num_inputs> xs;
  std::array<galml::Tensor<T, galml::cuda>, MC::num_inputs> gxs;
  for (size_t k = 0; k < MC::num_inputs; ++k) {
    std::vector<int64_t> s{N};
    s.insert(s.end(), shapes[k].begin(), shapes[k].end());
    xs[k] = galml::Tensor<T>::zeros(s);
    for (int64_t i = 0; i < xs[k].numel(); ++i) xs[k][i] = T(rng.normal());
    gxs[k] = galml::to_device(xs[k]);
  }
  if constexpr (MC::multi_input) { mc.forward(xs); mg.forward(gxs); }
  else { mc.forward(xs[0]); mg.forward(gxs[0]); }
  std::array<std::vector<T>, MC::num_heads> dys;
  std::array<galml::Tensor<T, galml::cuda>, MC::num_heads> gdys;
  std::array<const T*, MC::num_heads> pc{}, pg{};
  for (size_t h = 0; h < MC::num_heads; ++h) {
    const auto& y = mc.output(h);
    d.out = std::max(d.out, max_rel(host(mg.output(h)), std::vector<T>(y.data(), y.data() + y.numel())));
    dys[h].resize(size_t(y.numel()));
    for (auto& v : dys[h]) v = T(rng.normal());
    gdys[h] = dev(dys[h]);
    pc[h] = dys[h].data();
    pg[h] = gdys[h].data();
  }
  mc.zero_grad();
  mg.zero_grad();
  constexpr bool want_dx = !MC::multi_input;
  mc.backward(pc, want_dx);
  mg.backward(pg, want_dx);
  d.grad = max_rel(host_ptr(mg.grads(), MC::num_params), std::vector<T>(mc.grads(), mc.grads() + MC::num_params));
  if constexpr (want_dx)
    d.dx = max_rel(host(mg.input_grad()), std::vector<T>(mc.input_grad().data(), mc.input_grad().data() + mc.input_grad().numel()));
  const auto sc = mc.state_dict(), sg = mg.state_dict();
  d.state = sc.size() == sg.size() ? 0.0 : 1.0;  // a missing entry counts as a full difference
  for (const auto& [name, a] : sc.entries()) {
    d.running += name.find("running_") != std::string::npos;
    d.state = std::max(d.state, sg.contains(name) ? max_rel(sg.template vector<double>(name), a.template to_vector<double>()) : 1.0);
  }
  return d;
}

}  // namespace cuda_test

// NET (a network type) on both backends in element type T, batch N: outputs within OUT_TOL, parameter
// and input gradients within GRAD_TOL of each tensor's largest magnitude.
#define CUDA_TEST_SAME_ON_BOTH(NET, T, N, OUT_TOL, GRAD_TOL)        \
  do {                                                              \
    INFO(#NET);                                                     \
    const auto e = ::cuda_test::compare_backends<NET, T>(N);        \
    CHECK(e.out < (OUT_TOL));                                       \
    CHECK(e.grad < (GRAD_TOL));                                     \
    CHECK(e.dx < (GRAD_TOL));                                       \
  } while (0)

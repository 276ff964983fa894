#pragma once
// Helpers shared by the CUDA backend tests. Every test starts with GALML_SKIP_WITHOUT_CUDA(): on a
// machine without a usable device it warns and passes, so the suite builds and runs everywhere.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
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

}  // namespace cuda_test

#pragma once
// CPU overloads of the backend ops the layers call (first argument: the backend tag). Each op is the
// "device level" of the CPU backend; heavy ones delegate to kernels in this folder.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "galml/backend/cpu/conv1d.hpp"
#include "galml/backend/cpu/gemm.hpp"
#include "galml/backend/cpu/reduce.hpp"
#include "galml/core/backend.hpp"
#include "galml/core/parallel.hpp"
#include "galml/core/rng.hpp"

namespace galml::backend_ops {

// ---- Conv1D ----
template <class T> void conv1d_forward(cpu, const T* x, const T* w, const T* b, T* y, int64_t N, const cpu_kernels::Conv1dDims& d) {
  cpu_kernels::conv1d_forward(x, w, b, y, N, d);
}
template <class T> void conv1d_backward(cpu, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t N, const cpu_kernels::Conv1dDims& d) {
  cpu_kernels::conv1d_backward(x, w, dy, dx, dw, db, N, d);
}
// Conv1D + ReLU fused (Chain pairs them on the CPU): y = max(0, conv(x)); backward takes the ReLU's
// output y and the gradient dy of the ReLU's output.
template <class T> void conv1d_relu_forward(cpu, const T* x, const T* w, const T* b, T* y, int64_t N, const cpu_kernels::Conv1dDims& d) {
  cpu_kernels::conv1d_forward(x, w, b, y, N, d, true);
}
template <class T> void conv1d_relu_backward(cpu, const T* x, const T* w, const T* y, const T* dy, T* dx, T* dw, T* db, int64_t N, const cpu_kernels::Conv1dDims& d) {
  cpu_kernels::conv1d_backward(x, w, dy, dx, dw, db, N, d, y);
}

// ---- Dense: x [N, In], w [Out, In] (PyTorch layout), y [N, Out] ----
template <class T> void dense_forward(cpu, const T* x, const T* w, const T* b, T* y, int64_t N, int64_t in, int64_t out) {
  parallel_for(N, [&](int64_t n0, int64_t n1) {
    cpu_kernels::gemm<T>(false, true, n1 - n0, out, in, x + n0 * in, w, y + n0 * out, false);
    if (b) for (int64_t n = n0; n < n1; ++n) for (int64_t o = 0; o < out; ++o) y[n * out + o] += b[o];
  }, 16);
}
template <class T> void dense_backward(cpu, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t N, int64_t in, int64_t out) {
  if (dx) parallel_for(N, [&](int64_t n0, int64_t n1) {
    cpu_kernels::gemm<T>(false, false, n1 - n0, in, out, dy + n0 * out, w, dx + n0 * in, false);
  }, 16);
  if (dw || db) {
    const int64_t wsize = dw ? out * in : 0;
    const int64_t nchunks = std::min<int64_t>(N, cpu_kernels::kReduceChunks);
    const int64_t psize = wsize + (db ? out : 0);
    thread_local std::vector<T> part;
    part.assign(size_t(nchunks * psize), T(0));
    T* pbase = part.data();  // thread_local: take the pointer here, workers have their own instance
    parallel_chunks(N, nchunks, [&](int64_t c, int64_t n0, int64_t n1) {
      T* p = pbase + c * psize;
      if (dw) cpu_kernels::gemm<T>(true, false, out, in, n1 - n0, dy + n0 * out, x + n0 * in, p, false);
      if (db) for (int64_t n = n0; n < n1; ++n) for (int64_t o = 0; o < out; ++o) p[wsize + o] += dy[n * out + o];
    });
    for (int64_t c = 0; c < nchunks; ++c) {
      const T* p = part.data() + c * psize;
      if (dw) for (int64_t i = 0; i < wsize; ++i) dw[i] += p[i];
      if (db) for (int64_t o = 0; o < out; ++o) db[o] += p[wsize + o];
    }
  }
}

// ---- Elementwise activations ----
enum class Act { relu, sigmoid, tanh, gelu };
template <class T> inline T act_f(Act a, T v) {
  switch (a) {
    case Act::relu: return v < T(0) ? T(0) : v;  // NaN propagates, as in PyTorch
    case Act::sigmoid: return T(1) / (T(1) + std::exp(-v));
    case Act::tanh: return std::tanh(v);
    default: return T(0.5) * v * (T(1) + std::erf(v * T(0.70710678118654752440)));  // exact GELU (PyTorch default)
  }
}
// derivative from input x and output y
template <class T> inline T act_df(Act a, T x, T y) {
  switch (a) {
    case Act::relu: return x > T(0) ? T(1) : T(0);
    case Act::sigmoid: return y * (T(1) - y);
    case Act::tanh: return T(1) - y * y;
    default: {
      const T cdf = T(0.5) * (T(1) + std::erf(x * T(0.70710678118654752440)));
      const T pdf = std::exp(T(-0.5) * x * x) * T(0.39894228040143267794);
      return cdf + x * pdf;
    }
  }
}
template <class T> void activation_forward(cpu, Act a, const T* x, T* y, int64_t n) {
  parallel_for(n, [&](int64_t b, int64_t e) {
    if (a == Act::relu) { for (int64_t i = b; i < e; ++i) y[i] = x[i] < T(0) ? T(0) : x[i]; }
    else for (int64_t i = b; i < e; ++i) y[i] = act_f(a, x[i]);
  }, 1 << 14);
}
template <class T> void activation_backward(cpu, Act a, const T* x, const T* y, const T* dy, T* dx, int64_t n) {
  parallel_for(n, [&](int64_t b, int64_t e) {
    if (a == Act::relu) { for (int64_t i = b; i < e; ++i) dx[i] = x[i] > T(0) ? dy[i] : T(0); }
    else for (int64_t i = b; i < e; ++i) dx[i] = dy[i] * act_df(a, x[i], y[i]);
  }, 1 << 14);
}

// ---- Pooling over the last axis of [rows, L] (rows = N*C) ----
// Max pool, floor mode, no padding; argmax index kept for backward (first max wins, like PyTorch).
namespace pool_detail {
// The winner of one window w[0..K): its value, and its index in `best` (first maximum; a NaN wins, as
// in PyTorch). Selects, not jumps: which sample wins is data-dependent and mispredicts about half the time.
template <class T>
inline T window_max(const T* w, int64_t K, int32_t& best) {
  T m = w[0]; best = 0;
  for (int64_t k = 1; k < K; ++k) {
    const T v = w[k];
    const bool take = (v > m) | (v != v);
    m = take ? v : m; best = take ? int32_t(k) : best;
  }
  return m;
}
// One row; KC > 0: the kernel size known at compile time (the common 2 and 3). arg may be null.
template <int KC, class T>
inline void maxpool_row(const T* xr, T* yr, int32_t* ar, int64_t K, int64_t S, int64_t l0, int64_t lout) {
  for (int64_t l = l0; l < lout; ++l) {
    int32_t best;
    yr[l] = window_max(xr + l * S, KC > 0 ? KC : K, best);
    if (ar) ar[l] = int32_t(l * S) + best;
  }
}

#if GALML_X86_DISPATCH
// K = S = 3 on float, 8 windows per step: the three samples of each window de-interleaved with two
// blends and a permute each; the winner picked as window_max does (NaN included). arg may be null.
GALML_TARGET_AVX2 inline void maxpool3_row_avx2(const float* x, float* y, int32_t* arg, int64_t lout) {
  const __m256i p0 = _mm256_setr_epi32(0, 3, 6, 1, 4, 7, 2, 5), p1 = _mm256_setr_epi32(1, 4, 7, 2, 5, 0, 3, 6),
                p2 = _mm256_setr_epi32(2, 5, 0, 3, 6, 1, 4, 7);
  const __m256i one = _mm256_set1_epi32(1), two = _mm256_set1_epi32(2), step = _mm256_setr_epi32(0, 3, 6, 9, 12, 15, 18, 21);
  int64_t l = 0;
  for (; l + 8 <= lout; l += 8) {
    const float* w = x + 3 * l;
    const __m256 a = _mm256_loadu_ps(w), b = _mm256_loadu_ps(w + 8), c = _mm256_loadu_ps(w + 16);
    const __m256 x0 = _mm256_permutevar8x32_ps(_mm256_blend_ps(_mm256_blend_ps(a, b, 0x92), c, 0x24), p0);
    const __m256 x1 = _mm256_permutevar8x32_ps(_mm256_blend_ps(_mm256_blend_ps(a, b, 0x24), c, 0x49), p1);
    const __m256 x2 = _mm256_permutevar8x32_ps(_mm256_blend_ps(_mm256_blend_ps(a, b, 0x49), c, 0x92), p2);
    const __m256 t1 = _mm256_or_ps(_mm256_cmp_ps(x1, x0, _CMP_GT_OQ), _mm256_cmp_ps(x1, x1, _CMP_UNORD_Q));
    const __m256 m1 = _mm256_blendv_ps(x0, x1, t1);
    const __m256 t2 = _mm256_or_ps(_mm256_cmp_ps(x2, m1, _CMP_GT_OQ), _mm256_cmp_ps(x2, x2, _CMP_UNORD_Q));
    _mm256_storeu_ps(y + l, _mm256_blendv_ps(m1, x2, t2));
    if (arg) {
      __m256i k = _mm256_and_si256(_mm256_castps_si256(t1), one);
      k = _mm256_blendv_epi8(k, two, _mm256_castps_si256(t2));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(arg + l), _mm256_add_epi32(_mm256_add_epi32(k, step), _mm256_set1_epi32(int32_t(3 * l))));
    }
  }
  maxpool_row<3>(x, y, arg, 3, 3, l, lout);  // the last < 8 windows
}
#endif

// Row r of [rows, L] -> [rows, lout], with the winners' indices when arg is not null.
template <class T>
inline void maxpool_rows(const T* x, T* y, int32_t* arg, int64_t rows, int64_t L, int64_t K, int64_t S, int64_t lout) {
  parallel_for(rows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * L; T* yr = y + r * lout; int32_t* ar = arg ? arg + r * lout : nullptr;
#if GALML_X86_DISPATCH
      if constexpr (std::is_same_v<T, float>)
        if (K == 3 && S == 3 && cpu_kernels::direct::cpu_has_avx2_fma()) { maxpool3_row_avx2(xr, yr, ar, lout); continue; }
#endif
      if (K == 3) maxpool_row<3>(xr, yr, ar, K, S, 0, lout);
      else if (K == 2) maxpool_row<2>(xr, yr, ar, K, S, 0, lout);
      else maxpool_row<0>(xr, yr, ar, K, S, 0, lout);
    }
  }, 64);
}
}  // namespace pool_detail

// Values only (eval-mode forward: nothing will need the winners; backward can find them from x).
template <class T> void maxpool1d_forward_values(cpu, const T* x, T* y, int64_t rows, int64_t L, int64_t K, int64_t S, int64_t lout) {
  pool_detail::maxpool_rows(x, y, (int32_t*)nullptr, rows, L, K, S, lout);
}
// Backward from the pool's input: the window's winner is found again with the forward rule (first
// maximum; a NaN wins) and receives the gradient. Saves the forward pass writing an index per output.
template <class T> void maxpool1d_backward_from_input(cpu, const T* x, const T* dy, T* dx, int64_t rows, int64_t L, int64_t K, int64_t S, int64_t lout) {
  parallel_for(rows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * L; const T* g = dy + r * lout; T* d = dx + r * L;
      std::fill(d, d + L, T(0));
      for (int64_t l = 0; l < lout; ++l) {
        int32_t best;
        pool_detail::window_max(xr + l * S, K, best);
        d[l * S + best] += g[l];
      }
    }
  }, 64);
}
template <class T> void maxpool1d_forward(cpu, const T* x, T* y, int32_t* arg, int64_t rows, int64_t L, int64_t K, int64_t S, int64_t lout) {
  pool_detail::maxpool_rows(x, y, arg, rows, L, K, S, lout);
}
template <class T> void maxpool1d_backward(cpu, const T* dy, const int32_t* arg, T* dx, int64_t rows, int64_t L, int64_t lout) {
  parallel_for(rows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      T* dxr = dx + r * L; std::fill(dxr, dxr + L, T(0));
      for (int64_t l = 0; l < lout; ++l) dxr[arg[r * lout + l]] += dy[r * lout + l];
    }
  }, 64);
}
// Average pooling with explicit bins [start_i, end_i) (covers fixed kernel/stride pools and PyTorch's
// adaptive rule start = floor(i*L/out), end = ceil((i+1)*L/out)).
template <class T> void binpool1d_forward(cpu, const T* x, T* y, const int32_t* starts, const int32_t* ends, int64_t rows, int64_t L, int64_t lout) {
  parallel_for(rows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t l = 0; l < lout; ++l) {
        T s = 0; for (int64_t i = starts[l]; i < ends[l]; ++i) s += x[r * L + i];
        y[r * lout + l] = s / T(ends[l] - starts[l]);
      }
  }, 64);
}
template <class T> void binpool1d_backward(cpu, const T* dy, T* dx, const int32_t* starts, const int32_t* ends, int64_t rows, int64_t L, int64_t lout) {
  parallel_for(rows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      T* dxr = dx + r * L; std::fill(dxr, dxr + L, T(0));
      for (int64_t l = 0; l < lout; ++l) { const T g = dy[r * lout + l] / T(ends[l] - starts[l]); for (int64_t i = starts[l]; i < ends[l]; ++i) dxr[i] += g; }
    }
  }, 64);
}

// ---- Dropout (inverted): keep with prob 1-p, scale 1/(1-p). The mask is a pure function of
// (seed, layer id, step, element index), so it is the same on any thread count and on resume. ----
inline uint32_t dropout_bits(uint64_t seed, uint64_t layer, uint64_t step, uint64_t i) {
  const auto r = Philox4x32::block({uint32_t(i >> 2), uint32_t(i >> 34), uint32_t(step), uint32_t(layer)},
                                   {uint32_t(seed), uint32_t(seed >> 32) ^ uint32_t(step >> 32)});
  return r[i & 3];
}
template <class T> void dropout_forward(cpu, const T* x, T* y, uint8_t* mask, int64_t n, double p, uint64_t seed, uint64_t layer, uint64_t step) {
  const T scale = T(1.0 / (1.0 - p));
  const uint32_t thresh = uint32_t(std::min(4294967295.0, p * 4294967296.0));
  parallel_for(n, [&](int64_t b, int64_t e) {
    // One Philox block serves four consecutive elements (lane i & 3): the same bits as
    // dropout_bits(seed, layer, step, i), a quarter of the work.
    std::array<uint32_t, 4> r{};
    for (int64_t i = b; i < e; ++i) {
      if (i == b || (i & 3) == 0) {
        const auto u = uint64_t(i);
        r = Philox4x32::block({uint32_t(u >> 2), uint32_t(u >> 34), uint32_t(step), uint32_t(layer)},
                              {uint32_t(seed), uint32_t(seed >> 32) ^ uint32_t(step >> 32)});
      }
      const bool keep = r[size_t(i & 3)] >= thresh;
      mask[i] = keep; y[i] = keep ? x[i] * scale : T(0);
    }
  }, 1 << 12);
}
template <class T> void dropout_backward(cpu, const T* dy, const uint8_t* mask, T* dx, int64_t n, double p) {
  const T scale = T(1.0 / (1.0 - p));
  parallel_for(n, [&](int64_t b, int64_t e) { for (int64_t i = b; i < e; ++i) dx[i] = mask[i] ? dy[i] * scale : T(0); }, 1 << 14);
}

// ---- Copies and channel scaling ----
template <class T> void copy(cpu, const T* x, T* y, int64_t n) { if (x != y) std::copy(x, x + n, y); }
template <class T> void add_inplace(cpu, T* y, const T* x, int64_t n) { for (int64_t i = 0; i < n; ++i) y[i] += x[i]; }
// y[r, l] = x[r, l] * s[r]   (rows = N*C)
template <class T> void scale_rows(cpu, const T* x, const T* s, T* y, int64_t rows, int64_t L) {
  parallel_for(rows, [&](int64_t r0, int64_t r1) { for (int64_t r = r0; r < r1; ++r) { const T v = s[r]; for (int64_t l = 0; l < L; ++l) y[r * L + l] = x[r * L + l] * v; } }, 64);
}
// dx = dy * s[r]; ds[r] = sum_l dy*x
template <class T> void scale_rows_backward(cpu, const T* x, const T* s, const T* dy, T* dx, T* ds, int64_t rows, int64_t L) {
  parallel_for(rows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T v = s[r]; T acc = 0;
      for (int64_t l = 0; l < L; ++l) { acc += dy[r * L + l] * x[r * L + l]; if (dx) dx[r * L + l] = dy[r * L + l] * v; }
      ds[r] = acc;
    }
  }, 64);
}

}  // namespace galml::backend_ops

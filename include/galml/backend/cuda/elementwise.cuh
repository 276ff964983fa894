#pragma once
// Elementwise GPU ops: activations (fused forward/backward formulas, same as the CPU's), dropout with
// the CPU's Philox mask, copies, in-place add, and SE channel scaling.
#include <cmath>
#include <type_traits>

#include "galml/backend/cuda/common.cuh"
#include "galml/backend/cuda/kernels.hpp"

namespace galml::cuda_kernels {

#define GALML_GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

__device__ inline float d_exp(float v) { return expf(v); }
__device__ inline double d_exp(double v) { return exp(v); }
__device__ inline float d_tanh(float v) { return tanhf(v); }
__device__ inline double d_tanh(double v) { return tanh(v); }
__device__ inline float d_erf(float v) { return erff(v); }
__device__ inline double d_erf(double v) { return erf(v); }

template <class T> __device__ inline T act_f(int a, T v) {
  switch (a) {
    case act_relu: return v > T(0) ? v : T(0);
    case act_sigmoid: return T(1) / (T(1) + d_exp(-v));
    case act_tanh: return d_tanh(v);
    default: return T(0.5) * v * (T(1) + d_erf(v * T(0.70710678118654752440)));
  }
}
template <class T> __device__ inline T act_df(int a, T x, T y) {
  switch (a) {
    case act_relu: return x > T(0) ? T(1) : T(0);
    case act_sigmoid: return y * (T(1) - y);
    case act_tanh: return T(1) - y * y;
    default: {
      const T cdf = T(0.5) * (T(1) + d_erf(x * T(0.70710678118654752440)));
      const T pdf = d_exp(T(-0.5) * x * x) * T(0.39894228040143267794);
      return cdf + x * pdf;
    }
  }
}
template <class T>
__global__ void activation_forward_kernel(int a, const T* x, T* y, int64_t n) {  // y may alias x (in place)
  GALML_GRID_STRIDE(i, n) y[i] = act_f(a, x[i]);
}
template <class T>
__global__ void activation_backward_kernel(int a, const T* __restrict__ x, const T* __restrict__ y, const T* __restrict__ dy,
                                           T* __restrict__ dx, int64_t n) {
  // ReLU: select, not multiply, so dx is exactly dy or 0 like the CPU op
  if (a == act_relu) { GALML_GRID_STRIDE(i, n) dx[i] = x[i] > T(0) ? dy[i] : T(0); return; }
  GALML_GRID_STRIDE(i, n) dx[i] = dy[i] * act_df(a, x[i], y[i]);
}
template <class T> void activation_forward(int a, const T* x, T* y, int64_t n) {
  if (n <= 0) return;
  activation_forward_kernel<T><<<grid_for(n), kThreads, 0, cuda_rt::stream()>>>(a, x, y, n);
  GALML_CUDA_LAUNCHED();
}
template <class T> void activation_backward(int a, const T* x, const T* y, const T* dy, T* dx, int64_t n) {
  if (n <= 0) return;
  activation_backward_kernel<T><<<grid_for(n), kThreads, 0, cuda_rt::stream()>>>(a, x, y, dy, dx, n);
  GALML_CUDA_LAUNCHED();
}

// Added to the dropout step on the device (kernels.hpp, dropout_offset_*): 0 unless a CUDA-graph train
// step advances it, so a replayed graph draws a fresh mask each step while its kernel arguments stay fixed.
// One copy only: every dropout kernel must read the offset the train step advances, so this file may be
// compiled in the main library unit alone (a second unit would get its own copy without a link error).
#if defined(GALML_CUDA_BUILDING_LIBRARY) && !defined(GALML_CUDA_MAIN_UNIT)
#error "elementwise.cuh (g_dropout_step_offset) belongs to the main CUDA unit (src/cuda/galml_cuda.cu) only"
#endif
__device__ unsigned long long g_dropout_step_offset = 0;

// ---- Dropout: Philox4x32-10 exactly as galml::Philox4x32::block and backend_ops::dropout_bits. One
// thread per group of 4 elements: they share one Philox block (counter word 0 = i >> 2). ----
struct PhiloxOut { uint32_t v[4]; };
__device__ inline PhiloxOut philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
#pragma unroll
  for (int r = 0; r < 10; ++r) {
    const uint32_t hi0 = __umulhi(M0, c0), lo0 = M0 * c0, hi1 = __umulhi(M1, c2), lo1 = M1 * c2;
    const uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
    k0 += W0; k1 += W1;
  }
  return {{c0, c1, c2, c3}};
}
template <class T>
__global__ void dropout_forward_kernel(const T* __restrict__ x, T* __restrict__ y, uint8_t* __restrict__ mask, int64_t n, T scale,
                                       uint32_t thresh, uint64_t seed, uint64_t layer, uint64_t step_arg) {
  const uint64_t step = step_arg + uint64_t(g_dropout_step_offset);
  const int64_t groups = (n + 3) / 4;
  const uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32) ^ uint32_t(step >> 32);
  GALML_GRID_STRIDE(g, groups) {
    const uint64_t i0 = uint64_t(g) * 4;
    const PhiloxOut r = philox4x32_10(uint32_t(i0 >> 2), uint32_t(i0 >> 34), uint32_t(step), uint32_t(layer), k0, k1);
    if constexpr (std::is_same_v<T, float>) {
      // Whole aligned groups of 4 as one 16-byte load/store and one 4-byte mask store (same values).
      if (int64_t(i0) + 4 <= n && ((reinterpret_cast<uintptr_t>(x + i0) | reinterpret_cast<uintptr_t>(y + i0)) & 15) == 0 &&
          (reinterpret_cast<uintptr_t>(mask + i0) & 3) == 0) {
        const float4 v = *reinterpret_cast<const float4*>(x + i0);
        const bool k0 = r.v[0] >= thresh, k1 = r.v[1] >= thresh, k2 = r.v[2] >= thresh, k3 = r.v[3] >= thresh;
        *reinterpret_cast<float4*>(y + i0) = make_float4(k0 ? v.x * scale : 0.f, k1 ? v.y * scale : 0.f, k2 ? v.z * scale : 0.f, k3 ? v.w * scale : 0.f);
        *reinterpret_cast<uchar4*>(mask + i0) = make_uchar4(k0, k1, k2, k3);
        continue;
      }
    }
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t i = int64_t(i0) + j;
      if (i < n) {
        const bool keep = r.v[j] >= thresh;
        mask[i] = keep; y[i] = keep ? x[i] * scale : T(0);
      }
    }
  }
}
template <class T>
__global__ void dropout_backward_kernel(const T* __restrict__ dy, const uint8_t* __restrict__ mask, T* __restrict__ dx, int64_t n, T scale) {
  GALML_GRID_STRIDE(i, n) dx[i] = mask[i] ? dy[i] * scale : T(0);
}
template <class T> void dropout_forward(const T* x, T* y, uint8_t* mask, int64_t n, double p, uint64_t seed, uint64_t layer, uint64_t step) {
  if (n <= 0) return;
  // scale and threshold computed on the host exactly as the CPU op does
  const T scale = T(1.0 / (1.0 - p));
  const uint32_t thresh = uint32_t(std::fmin(4294967295.0, p * 4294967296.0));
  dropout_forward_kernel<T><<<grid_for((n + 3) / 4), kThreads, 0, cuda_rt::stream()>>>(x, y, mask, n, scale, thresh, seed, layer, step);
  GALML_CUDA_LAUNCHED();
}
template <class T> void dropout_backward(const T* dy, const uint8_t* mask, T* dx, int64_t n, double p) {
  if (n <= 0) return;
  const T scale = T(1.0 / (1.0 - p));
  dropout_backward_kernel<T><<<grid_for(n), kThreads, 0, cuda_rt::stream()>>>(dy, mask, dx, n, scale);
  GALML_CUDA_LAUNCHED();
}

// ---- copies, add, channel scaling ----
template <class T> void copy(const T* x, T* y, int64_t n) {
  if (n > 0 && x != y) GALML_CUDA_CHECK(cudaMemcpyAsync(y, x, size_t(n) * sizeof(T), cudaMemcpyDeviceToDevice, cuda_rt::stream()));
}
template <class T> __global__ void add_inplace_kernel(T* __restrict__ y, const T* __restrict__ x, int64_t n) {
  GALML_GRID_STRIDE(i, n) y[i] += x[i];
}
template <class T> void add_inplace(T* y, const T* x, int64_t n) {
  if (n <= 0) return;
  add_inplace_kernel<T><<<grid_for(n), kThreads, 0, cuda_rt::stream()>>>(y, x, n);
  GALML_CUDA_LAUNCHED();
}
template <class T> __global__ void scale_rows_kernel(const T* __restrict__ x, const T* __restrict__ s, T* __restrict__ y, int64_t rows, int64_t L) {
  GALML_GRID_STRIDE(i, rows * L) y[i] = x[i] * s[i / L];
}
template <class T> void scale_rows(const T* x, const T* s, T* y, int64_t rows, int64_t L) {
  if (rows * L <= 0) return;
  scale_rows_kernel<T><<<grid_for(rows * L), kThreads, 0, cuda_rt::stream()>>>(x, s, y, rows, L);
  GALML_CUDA_LAUNCHED();
}
// One warp per row: dx = dy * s[r] and ds[r] = sum_l dy * x, the sum in a fixed lane order plus a
// fixed butterfly (deterministic; rows are short, L = 19 in MTLforGalSpecZ).
template <class T>
__global__ void scale_rows_backward_kernel(const T* __restrict__ x, const T* __restrict__ s, const T* __restrict__ dy, T* __restrict__ dx,
                                           T* __restrict__ ds, int64_t rows, int64_t L) {
  const int lane = int(threadIdx.x) & 31;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x / 32);
  for (int64_t r = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32; r < rows; r += warps) {
    const T v = s[r];
    T acc = T(0);
    for (int64_t l = lane; l < L; l += 32) {
      const int64_t i = r * L + l;
      acc += dy[i] * x[i];
      if (dx) dx[i] = dy[i] * v;
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, o);
    if (lane == 0) ds[r] = acc;
  }
}
template <class T> void scale_rows_backward(const T* x, const T* s, const T* dy, T* dx, T* ds, int64_t rows, int64_t L) {
  if (rows <= 0) return;
  scale_rows_backward_kernel<T><<<grid_for(rows * 32), kThreads, 0, cuda_rt::stream()>>>(x, s, dy, dx, ds, rows, L);
  GALML_CUDA_LAUNCHED();
}

}  // namespace galml::cuda_kernels

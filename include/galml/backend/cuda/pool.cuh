#pragma once
// 1-D pooling on the GPU over rows of length L (rows = N*C). Backward passes are gathers (each input
// element sums the outputs that touch it, in output order, exactly as the CPU adds them), so results
// are deterministic without atomics.
#include "galml/backend/cuda/common.cuh"
#include "galml/backend/cuda/kernels.hpp"

namespace galml::cuda_kernels {

// Floor mode, no padding; first max wins, a NaN wins (same rule as the CPU op), argmax kept.
template <class T>
__global__ void maxpool_forward_kernel(const T* __restrict__ x, T* __restrict__ y, int32_t* __restrict__ arg, int64_t rows, int64_t L,
                                       int64_t K, int64_t S, int64_t lout) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < rows * lout; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = t / lout, l = t % lout, s = l * S;
    const T* xr = x + r * L;
    int64_t best = s; T m = xr[s];
    for (int64_t k = 1; k < K; ++k) { const T v = xr[s + k]; if (v > m || v != v) { m = v; best = s + k; } }
    y[t] = m; arg[t] = int32_t(best);
  }
}
// Argmax is non-decreasing along a row (windows move right, first max wins), so the outputs that
// share an argmax form one run: the run's first output sums the run in order and writes it. dx is
// zeroed first; a run's sum starts from 0 like the CPU's dx[a] += dy.
template <class T>
__global__ void maxpool_backward_kernel(const T* __restrict__ dy, const int32_t* __restrict__ arg, T* __restrict__ dx, int64_t rows,
                                        int64_t L, int64_t lout) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < rows * lout; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = t / lout, l = t % lout;
    const int32_t a = arg[t];
    if (l > 0 && arg[t - 1] == a) continue;
    T s = T(0);
    for (int64_t j = l; j < lout && arg[r * lout + j] == a; ++j) s += dy[r * lout + j];
    dx[r * L + a] = s;
  }
}
template <class T> void maxpool1d_forward(const T* x, T* y, int32_t* arg, int64_t rows, int64_t L, int64_t K, int64_t S, int64_t lout) {
  if (rows * lout <= 0) return;
  maxpool_forward_kernel<T><<<grid_for(rows * lout), kThreads, 0, cuda_rt::stream()>>>(x, y, arg, rows, L, K, S, lout);
  GALML_CUDA_LAUNCHED();
}
template <class T> void maxpool1d_backward(const T* dy, const int32_t* arg, T* dx, int64_t rows, int64_t L, int64_t lout) {
  if (rows * L <= 0) return;
  GALML_CUDA_CHECK(cudaMemsetAsync(dx, 0, size_t(rows * L) * sizeof(T), cuda_rt::stream()));
  if (lout <= 0) return;
  maxpool_backward_kernel<T><<<grid_for(rows * lout), kThreads, 0, cuda_rt::stream()>>>(dy, arg, dx, rows, L, lout);
  GALML_CUDA_LAUNCHED();
}

// Average over explicit bins [starts[l], ends[l]); one thread per output sums in index order then
// divides, exactly like the CPU (same bits).
template <class T>
__global__ void binpool_forward_kernel(const T* __restrict__ x, T* __restrict__ y, const int32_t* __restrict__ st, const int32_t* __restrict__ en,
                                       int64_t rows, int64_t L, int64_t lout) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < rows * lout; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = t / lout, l = t % lout;
    T s = T(0);
    for (int64_t i = st[l]; i < en[l]; ++i) s += x[r * L + i];
    y[t] = s / T(en[l] - st[l]);
  }
}
// dx[r, i] = sum over the bins containing i of dy[r, l] / |bin l|, in bin order (as the CPU adds).
template <class T>
__global__ void binpool_backward_kernel(const T* __restrict__ dy, T* __restrict__ dx, const int32_t* __restrict__ st, const int32_t* __restrict__ en,
                                        int64_t rows, int64_t L, int64_t lout) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < rows * L; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = t / L, i = t % L;
    // bins are sorted (starts and ends non-decreasing): first bin whose end is past i, by bisection
    int64_t lo = 0, hi = lout;
    while (lo < hi) { const int64_t mid = (lo + hi) / 2; if (en[mid] > i) hi = mid; else lo = mid + 1; }
    T s = T(0);
    for (int64_t l = lo; l < lout && st[l] <= i; ++l) s += dy[r * lout + l] / T(en[l] - st[l]);
    dx[t] = s;
  }
}
template <class T> void binpool1d_forward(const T* x, T* y, const int32_t* st, const int32_t* en, int64_t rows, int64_t L, int64_t lout) {
  if (rows * lout <= 0) return;
  binpool_forward_kernel<T><<<grid_for(rows * lout), kThreads, 0, cuda_rt::stream()>>>(x, y, st, en, rows, L, lout);
  GALML_CUDA_LAUNCHED();
}
template <class T> void binpool1d_backward(const T* dy, T* dx, const int32_t* st, const int32_t* en, int64_t rows, int64_t L, int64_t lout) {
  if (rows * L <= 0) return;
  binpool_backward_kernel<T><<<grid_for(rows * L), kThreads, 0, cuda_rt::stream()>>>(dy, dx, st, en, rows, L, lout);
  GALML_CUDA_LAUNCHED();
}

}  // namespace galml::cuda_kernels

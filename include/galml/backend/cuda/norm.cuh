#pragma once
// GPU ops for the normalisation, softmax and data-layout layers (BatchNorm1D/2D, LayerNorm,
// Softmax/LogSoftmax, Transpose, Concat, Residual): the same formulas as backend/cpu/norm.hpp,
// softmax.hpp and layout.hpp. Every reduction runs in one block per channel / row / column with a
// fixed per-thread order and a fixed shared-memory tree (double accumulation where the CPU uses double),
// so results are bit-identical run to run. Block-per-channel reductions are simple, not tuned: a
// channel with millions of values (2-D BatchNorm on large images) is summed by one block.
#include <cmath>

#include "galml/backend/cuda/common.cuh"
#include "galml/backend/cuda/kernels.hpp"

namespace galml::cuda_kernels {

namespace norm_detail {
inline constexpr int kNT = 256;
// Sum of v over the block (every thread gets it). sh: kNT slots. Fixed tree: same bits every run.
template <class A>
__device__ inline A block_sum(A v, A* sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int w = kNT / 2; w > 0; w >>= 1) {
    if (int(threadIdx.x) < w) sh[threadIdx.x] += sh[threadIdx.x + w];
    __syncthreads();
  }
  const A r = sh[0];
  __syncthreads();
  return r;
}
template <class A>
__device__ inline A block_max(A v, A* sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int w = kNT / 2; w > 0; w >>= 1) {
    if (int(threadIdx.x) < w) sh[threadIdx.x] = sh[threadIdx.x + w] > sh[threadIdx.x] ? sh[threadIdx.x + w] : sh[threadIdx.x];
    __syncthreads();
  }
  const A r = sh[0];
  __syncthreads();
  return r;
}
__device__ inline float d_exp(float v) { return expf(v); }
__device__ inline double d_exp(double v) { return exp(v); }
__device__ inline float d_log(float v) { return logf(v); }
__device__ inline double d_log(double v) { return log(v); }
inline unsigned blocks_for(int64_t n) { return unsigned(n < 65535 ? (n < 1 ? 1 : n) : 65535); }
}  // namespace norm_detail

// ---- BatchNorm over x [N, C, L] ----
template <class T>
__global__ void bn_stats_kernel(const T* __restrict__ x, T* __restrict__ mean, T* __restrict__ var, int64_t N, int64_t C, int64_t L) {
  __shared__ double sh[norm_detail::kNT];
  const int64_t cnt = N * L;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    double s = 0;
    for (int64_t i = threadIdx.x; i < cnt; i += blockDim.x) s += double(x[((i / L) * C + c) * L + i % L]);
    const double m = norm_detail::block_sum(s, sh) / double(cnt);
    double v = 0;
    for (int64_t i = threadIdx.x; i < cnt; i += blockDim.x) {
      const double d = double(x[((i / L) * C + c) * L + i % L]) - m;
      v += d * d;
    }
    v = norm_detail::block_sum(v, sh);
    if (threadIdx.x == 0) { mean[c] = T(m); var[c] = T(v / double(cnt)); }
  }
}
template <class T> void batchnorm_stats(const T* x, T* mean, T* var, int64_t N, int64_t C, int64_t L) {
  if (C <= 0) return;
  bn_stats_kernel<T><<<norm_detail::blocks_for(C), norm_detail::kNT, 0, cuda_rt::stream()>>>(x, mean, var, N, C, L);
  GALML_CUDA_LAUNCHED();
}

template <class T>
__global__ void bn_running_kernel(T* rmean, T* rvar, const T* mean, const T* var, int64_t C, double unbias, double momentum) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < C; c += int64_t(gridDim.x) * blockDim.x) {
    rmean[c] = T((1.0 - momentum) * double(rmean[c]) + momentum * double(mean[c]));
    rvar[c] = T((1.0 - momentum) * double(rvar[c]) + momentum * double(var[c]) * unbias);
  }
}
template <class T> void batchnorm_update_running(T* rmean, T* rvar, const T* mean, const T* var, int64_t C, int64_t count, double momentum) {
  if (C <= 0) return;
  const double unbias = count > 1 ? double(count) / double(count - 1) : 1.0;
  bn_running_kernel<T><<<grid_for(C), kThreads, 0, cuda_rt::stream()>>>(rmean, rvar, mean, var, C, unbias, momentum);
  GALML_CUDA_LAUNCHED();
}

template <class T>
__global__ void bn_invstd_kernel(const T* var, T* invstd, int64_t C, double eps) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < C; c += int64_t(gridDim.x) * blockDim.x)
    invstd[c] = T(1.0 / sqrt(double(var[c]) + eps));
}
template <class T> void batchnorm_invstd(const T* var, T* invstd, int64_t C, double eps) {
  if (C <= 0) return;
  bn_invstd_kernel<T><<<grid_for(C), kThreads, 0, cuda_rt::stream()>>>(var, invstd, C, eps);
  GALML_CUDA_LAUNCHED();
}

template <class T>
__global__ void bn_forward_kernel(const T* __restrict__ x, const T* mean, const T* invstd, const T* gamma, const T* beta, T* __restrict__ y,
                                  int64_t n, int64_t C, int64_t L) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = (i / L) % C;
    const T a = invstd[c] * (gamma ? gamma[c] : T(1));
    const T b = (beta ? beta[c] : T(0)) - mean[c] * a;
    y[i] = x[i] * a + b;
  }
}
template <class T> void batchnorm_forward(const T* x, const T* mean, const T* invstd, const T* gamma, const T* beta, T* y, int64_t N, int64_t C, int64_t L) {
  const int64_t n = N * C * L;
  if (n <= 0) return;
  bn_forward_kernel<T><<<grid_for(n), kThreads, 0, cuda_rt::stream()>>>(x, mean, invstd, gamma, beta, y, n, C, L);
  GALML_CUDA_LAUNCHED();
}

template <class T>
__global__ void bn_backward_kernel(const T* __restrict__ x, const T* __restrict__ dy, const T* mean, const T* invstd, const T* gamma, T* __restrict__ dx,
                                   T* dgamma, T* dbeta, int64_t N, int64_t C, int64_t L, bool batch_stats) {
  __shared__ double sh[norm_detail::kNT];
  const int64_t cnt = N * L;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    const double m = double(mean[c]), is = double(invstd[c]);
    double sdy = 0, sdyx = 0;
    for (int64_t j = threadIdx.x; j < cnt; j += blockDim.x) {
      const int64_t i = ((j / L) * C + c) * L + j % L;
      sdy += double(dy[i]);
      sdyx += double(dy[i]) * (double(x[i]) - m) * is;
    }
    sdy = norm_detail::block_sum(sdy, sh);
    sdyx = norm_detail::block_sum(sdyx, sh);
    if (threadIdx.x == 0) {
      if (dgamma) dgamma[c] += T(sdyx);
      if (dbeta) dbeta[c] += T(sdy);
    }
    if (!dx) continue;
    const double g = gamma ? double(gamma[c]) : 1.0, dc = double(cnt);
    const double mdy = batch_stats ? sdy / dc : 0.0, mdyx = batch_stats ? sdyx / dc : 0.0;
    for (int64_t j = threadIdx.x; j < cnt; j += blockDim.x) {
      const int64_t i = ((j / L) * C + c) * L + j % L;
      const double xh = (double(x[i]) - m) * is;
      dx[i] = T(g * is * (double(dy[i]) - mdy - xh * mdyx));
    }
  }
}
template <class T> void batchnorm_backward(const T* x, const T* dy, const T* mean, const T* invstd, const T* gamma, T* dx, T* dgamma, T* dbeta,
                                           int64_t N, int64_t C, int64_t L, bool batch_stats) {
  if (C <= 0) return;
  bn_backward_kernel<T><<<norm_detail::blocks_for(C), norm_detail::kNT, 0, cuda_rt::stream()>>>(x, dy, mean, invstd, gamma, dx, dgamma, dbeta, N, C, L,
                                                                                                    batch_stats);
  GALML_CUDA_LAUNCHED();
}

// ---- LayerNorm over the last axis of x [rows, D] ----
template <class T>
__global__ void ln_forward_kernel(const T* __restrict__ x, const T* gamma, const T* beta, T* __restrict__ y, T* mean, T* rstd, int64_t rows, int64_t D,
                                  double eps) {
  __shared__ double sh[norm_detail::kNT];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * D;
    double s = 0;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) s += double(xr[i]);
    const double m = norm_detail::block_sum(s, sh) / double(D);
    double v = 0;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) { const double d = double(xr[i]) - m; v += d * d; }
    const double is = 1.0 / sqrt(norm_detail::block_sum(v, sh) / double(D) + eps);
    if (threadIdx.x == 0) { mean[r] = T(m); rstd[r] = T(is); }
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
      const double xh = (double(xr[i]) - m) * is;
      y[r * D + i] = T(xh * (gamma ? double(gamma[i]) : 1.0) + (beta ? double(beta[i]) : 0.0));
    }
  }
}
template <class T> void layernorm_forward(const T* x, const T* gamma, const T* beta, T* y, T* mean, T* rstd, int64_t rows, int64_t D, double eps) {
  if (rows <= 0) return;
  ln_forward_kernel<T><<<norm_detail::blocks_for(rows), norm_detail::kNT, 0, cuda_rt::stream()>>>(x, gamma, beta, y, mean, rstd, rows, D, eps);
  GALML_CUDA_LAUNCHED();
}
template <class T>
__global__ void ln_backward_dx_kernel(const T* __restrict__ x, const T* __restrict__ dy, const T* mean, const T* rstd, const T* gamma, T* __restrict__ dx,
                                      int64_t rows, int64_t D) {
  __shared__ double sh[norm_detail::kNT];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const double m = double(mean[r]), is = double(rstd[r]);
    double sg = 0, sgx = 0;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
      const double g = double(dy[r * D + i]) * (gamma ? double(gamma[i]) : 1.0);
      sg += g;
      sgx += g * (double(x[r * D + i]) - m) * is;
    }
    sg = norm_detail::block_sum(sg, sh) / double(D);
    sgx = norm_detail::block_sum(sgx, sh) / double(D);
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
      const double g = double(dy[r * D + i]) * (gamma ? double(gamma[i]) : 1.0);
      const double xh = (double(x[r * D + i]) - m) * is;
      dx[r * D + i] = T(is * (g - sg - xh * sgx));
    }
  }
}
template <class T>
__global__ void ln_backward_params_kernel(const T* __restrict__ x, const T* __restrict__ dy, const T* mean, const T* rstd, T* dgamma, T* dbeta,
                                          int64_t rows, int64_t D) {
  __shared__ double sh[norm_detail::kNT];
  for (int64_t i = blockIdx.x; i < D; i += gridDim.x) {
    double sg = 0, sb = 0;
    for (int64_t r = threadIdx.x; r < rows; r += blockDim.x) {
      const double d = double(dy[r * D + i]);
      sb += d;
      sg += d * (double(x[r * D + i]) - double(mean[r])) * double(rstd[r]);
    }
    sg = norm_detail::block_sum(sg, sh);
    sb = norm_detail::block_sum(sb, sh);
    if (threadIdx.x == 0) {
      if (dgamma) dgamma[i] += T(sg);
      if (dbeta) dbeta[i] += T(sb);
    }
  }
}
template <class T> void layernorm_backward(const T* x, const T* dy, const T* mean, const T* rstd, const T* gamma, T* dx, T* dgamma, T* dbeta,
                                           int64_t rows, int64_t D) {
  if (rows <= 0 || D <= 0) return;
  if (dx) {
    ln_backward_dx_kernel<T><<<norm_detail::blocks_for(rows), norm_detail::kNT, 0, cuda_rt::stream()>>>(x, dy, mean, rstd, gamma, dx, rows, D);
    GALML_CUDA_LAUNCHED();
  }
  if (dgamma || dbeta) {
    ln_backward_params_kernel<T><<<norm_detail::blocks_for(D), norm_detail::kNT, 0, cuda_rt::stream()>>>(x, dy, mean, rstd, dgamma, dbeta, rows, D);
    GALML_CUDA_LAUNCHED();
  }
}

// ---- Softmax / LogSoftmax over the last axis of x [rows, D] ----
template <class T>
__global__ void softmax_forward_kernel(const T* x, T* y, int64_t rows, int64_t D, bool log) {  // y may alias x (attention)
  __shared__ T sh[norm_detail::kNT];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * D;
    T m = xr[0];
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) m = xr[i] > m ? xr[i] : m;
    m = norm_detail::block_max(m, sh);
    T s = 0;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) s += norm_detail::d_exp(xr[i] - m);
    s = norm_detail::block_sum(s, sh);
    if (log) {
      const T ls = norm_detail::d_log(s);
      for (int64_t i = threadIdx.x; i < D; i += blockDim.x) y[r * D + i] = xr[i] - m - ls;
    } else {
      const T inv = T(1) / s;
      for (int64_t i = threadIdx.x; i < D; i += blockDim.x) y[r * D + i] = norm_detail::d_exp(xr[i] - m) * inv;
    }
  }
}
template <class T> void softmax_forward(const T* x, T* y, int64_t rows, int64_t D, bool log) {
  if (rows <= 0 || D <= 0) return;
  softmax_forward_kernel<T><<<norm_detail::blocks_for(rows), norm_detail::kNT, 0, cuda_rt::stream()>>>(x, y, rows, D, log);
  GALML_CUDA_LAUNCHED();
}
template <class T>
__global__ void softmax_backward_kernel(const T* __restrict__ y, const T* __restrict__ dy, T* __restrict__ dx, int64_t rows, int64_t D, bool log) {
  __shared__ T sh[norm_detail::kNT];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* yr = y + r * D;
    const T* gr = dy + r * D;
    T s = 0;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) s += log ? gr[i] : gr[i] * yr[i];
    s = norm_detail::block_sum(s, sh);
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) dx[r * D + i] = log ? gr[i] - norm_detail::d_exp(yr[i]) * s : yr[i] * (gr[i] - s);
  }
}
template <class T> void softmax_backward(const T* y, const T* dy, T* dx, int64_t rows, int64_t D, bool log) {
  if (rows <= 0 || D <= 0) return;
  softmax_backward_kernel<T><<<norm_detail::blocks_for(rows), norm_detail::kNT, 0, cuda_rt::stream()>>>(y, dy, dx, rows, D, log);
  GALML_CUDA_LAUNCHED();
}

// ---- data layout ----
template <class T>
__global__ void transpose2d_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t N, int64_t A, int64_t B) {
  const int64_t total = N * A * B;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t a = t % A, r = t / A, b = r % B, n = r / B;  // t indexes y[n, b, a]: coalesced writes
    y[t] = x[(n * A + a) * B + b];
  }
}
template <class T> void transpose2d(const T* x, T* y, int64_t N, int64_t A, int64_t B) {
  const int64_t total = N * A * B;
  if (total <= 0) return;
  transpose2d_kernel<T><<<grid_for(total), kThreads, 0, cuda_rt::stream()>>>(x, y, N, A, B);
  GALML_CUDA_LAUNCHED();
}
// put: dst[r, off*post + j] = src[r, j]; get: the reverse. r over N*pre rows, j over len*post.
template <class T>
__global__ void concat_copy_kernel(const T* __restrict__ src, T* __restrict__ dst, int64_t rows, int64_t blk, int64_t wide, int64_t off, bool put) {
  const int64_t total = rows * blk;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = t / blk, j = t % blk;
    if (put) dst[r * wide + off + j] = src[t];
    else dst[t] = src[r * wide + off + j];
  }
}
template <class T> void concat_put(const T* src, T* dst, int64_t N, int64_t pre, int64_t len, int64_t post, int64_t total, int64_t off) {
  const int64_t n = N * pre * len * post;
  if (n <= 0) return;
  concat_copy_kernel<T><<<grid_for(n), kThreads, 0, cuda_rt::stream()>>>(src, dst, N * pre, len * post, total * post, off * post, true);
  GALML_CUDA_LAUNCHED();
}
template <class T> void concat_get(const T* src, T* dst, int64_t N, int64_t pre, int64_t len, int64_t post, int64_t total, int64_t off) {
  const int64_t n = N * pre * len * post;
  if (n <= 0) return;
  concat_copy_kernel<T><<<grid_for(n), kThreads, 0, cuda_rt::stream()>>>(src, dst, N * pre, len * post, total * post, off * post, false);
  GALML_CUDA_LAUNCHED();
}
template <class T>
__global__ void add_kernel(const T* x, const T* y, T* z, int64_t n) {  // z may alias x or y: no __restrict__
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) z[i] = x[i] + y[i];
}
template <class T> void add(const T* x, const T* y, T* z, int64_t n) {
  if (n <= 0) return;
  add_kernel<T><<<grid_for(n), kThreads, 0, cuda_rt::stream()>>>(x, y, z, n);
  GALML_CUDA_LAUNCHED();
}

}  // namespace galml::cuda_kernels

// ---- min/max ops (CPU: backend/cpu/minmax.hpp) ----
namespace galml::cuda_kernels {

// Max pooling with implicit -inf padding: the window's in-range part, first maximum / a NaN wins. The
// argmax (into the unpadded row) is non-decreasing along a row, so maxpool1d_backward applies.
template <class T>
__global__ void maxpool_padded_kernel(const T* __restrict__ x, T* __restrict__ y, int32_t* __restrict__ arg, int64_t rows, int64_t L, int64_t K,
                                      int64_t S, int64_t pad_left, int64_t lout) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < rows * lout; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = t / lout, l = t % lout, s = l * S - pad_left;
    const int64_t b = s < 0 ? 0 : s, e = s + K < L ? s + K : L;
    const T* xr = x + r * L;
    int64_t best = b;
    T m = xr[b];
    for (int64_t i = b + 1; i < e; ++i) { const T v = xr[i]; if (v > m || v != v) { m = v; best = i; } }
    y[t] = m;
    arg[t] = int32_t(best);
  }
}
template <class T>
void maxpool1d_padded_forward(const T* x, T* y, int32_t* arg, int64_t rows, int64_t L, int64_t K, int64_t S, int64_t pad_left, int64_t lout) {
  if (rows * lout <= 0) return;
  maxpool_padded_kernel<T><<<grid_for(rows * lout), kThreads, 0, cuda_rt::stream()>>>(x, y, arg, rows, L, K, S, pad_left, lout);
  GALML_CUDA_LAUNCHED();
}

// Per-row min-max normalisation: one thread per row, the CPU's serial scans and double sums in the
// same order (same bits).
template <class T>
__global__ void minmax_forward_kernel(const T* __restrict__ x, T* __restrict__ y, int32_t* __restrict__ argext, int64_t rows, int64_t D) {
  for (int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; r < rows; r += int64_t(gridDim.x) * blockDim.x) {
    const T* xr = x + r * D;
    T* yr = y + r * D;
    int64_t imin = 0, imax = 0;
    for (int64_t i = 1; i < D; ++i) {
      if (xr[i] < xr[imin]) imin = i;
      if (xr[i] > xr[imax]) imax = i;
    }
    argext[2 * r] = int32_t(imin);
    argext[2 * r + 1] = int32_t(imax);
    const double lo = double(xr[imin]), range = double(xr[imax]) - lo;
    if (range == 0.0) { for (int64_t i = 0; i < D; ++i) yr[i] = T(0); continue; }
    const double inv = 1.0 / range;
    for (int64_t i = 0; i < D; ++i) yr[i] = T((double(xr[i]) - lo) * inv);
  }
}
template <class T>
__global__ void minmax_backward_kernel(const T* __restrict__ x, const T* __restrict__ y, const int32_t* __restrict__ argext, const T* __restrict__ dy,
                                       T* __restrict__ dx, int64_t rows, int64_t D) {
  for (int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; r < rows; r += int64_t(gridDim.x) * blockDim.x) {
    const T* xr = x + r * D;
    const T* yr = y + r * D;
    const T* gr = dy + r * D;
    T* dxr = dx + r * D;
    const int64_t imin = argext[2 * r], imax = argext[2 * r + 1];
    const double range = double(xr[imax]) - double(xr[imin]);
    if (range == 0.0) { for (int64_t i = 0; i < D; ++i) dxr[i] = T(0); continue; }
    const double inv = 1.0 / range;
    double sg = 0, sgy = 0;
    for (int64_t i = 0; i < D; ++i) { sg += double(gr[i]); sgy += double(gr[i]) * double(yr[i]); }
    for (int64_t i = 0; i < D; ++i) dxr[i] = T(double(gr[i]) * inv);
    dxr[imin] = T(double(dxr[imin]) + (sgy - sg) * inv);
    dxr[imax] = T(double(dxr[imax]) - sgy * inv);
  }
}
template <class T> void minmax_normalize_forward(const T* x, T* y, int32_t* argext, int64_t rows, int64_t D) {
  if (rows <= 0) return;
  minmax_forward_kernel<T><<<grid_for(rows, 64), 64, 0, cuda_rt::stream()>>>(x, y, argext, rows, D);
  GALML_CUDA_LAUNCHED();
}
template <class T> void minmax_normalize_backward(const T* x, const T* y, const int32_t* argext, const T* dy, T* dx, int64_t rows, int64_t D) {
  if (rows <= 0) return;
  minmax_backward_kernel<T><<<grid_for(rows, 64), 64, 0, cuda_rt::stream()>>>(x, y, argext, dy, dx, rows, D);
  GALML_CUDA_LAUNCHED();
}

}  // namespace galml::cuda_kernels

#pragma once
// GPU ops for the normalisation, softmax and data-layout layers (BatchNorm1D/2D, LayerNorm,
// Softmax/LogSoftmax, Transpose, Concat, Residual): the same formulas as backend/cpu/norm.hpp,
// softmax.hpp and layout.hpp. Every reduction runs in one block per channel / row / column with a
// fixed per-thread order and a fixed shared-memory tree (double accumulation where the CPU uses double),
// so results are bit-identical run to run. BatchNorm channels (millions of values for 2-D BatchNorm on
// large images) are split over many blocks whose partials are added in a fixed order.
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
// Warp-level versions for rows of at most kWarpD values (one warp per row): a fixed shuffle tree, the
// result broadcast from lane 0 so every lane uses the same bits.
inline constexpr int64_t kWarpD = 1024;
template <class A>
__device__ inline A warp_sum(A v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  return __shfl_sync(0xffffffffu, v, 0);
}
template <class A>
__device__ inline A warp_max(A v) {
  for (int o = 16; o > 0; o >>= 1) { const A u = __shfl_down_sync(0xffffffffu, v, o); v = u > v ? u : v; }
  return __shfl_sync(0xffffffffu, v, 0);
}
__device__ inline float d_exp(float v) { return expf(v); }
__device__ inline double d_exp(double v) { return exp(v); }
__device__ inline float d_log(float v) { return logf(v); }
__device__ inline double d_log(double v) { return log(v); }
inline unsigned blocks_for(int64_t n) { return unsigned(n < 65535 ? (n < 1 ? 1 : n) : 65535); }
inline unsigned warp_blocks_for(int64_t rows) { return blocks_for((rows + kNT / 32 - 1) / (kNT / 32)); }
}  // namespace norm_detail

// ---- BatchNorm over x [N, C, L] ----
// Channel sums are split: the N * ceil(L / kTL) row tiles of a channel are cut into `S` fixed groups,
// one block each (so a 32-channel layer on 300 x 300 images still fills the GPU), every thread adds its
// fixed elements in order, the block adds its threads by a fixed tree, and a second kernel adds the S
// partials in group order: double accumulation, no atomics, the same bits every run.
namespace norm_detail {
inline constexpr int64_t kTL = 4 * kNT;  // row tile: four coalesced sweeps of the block
struct ChanSplit {
  int64_t S, tiles, per;  // groups per channel, tiles per channel, tiles per group
  bool flat;              // short rows (L < kNT): a group is a range of the channel's N*L values, not of row tiles
};
inline ChanSplit chan_split(int64_t N, int64_t C, int64_t L) {
  static const int64_t sms = [] {
    int dev = 0, n = 0;
    GALML_CUDA_CHECK(cudaGetDevice(&dev));
    GALML_CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev));
    return int64_t(n);
  }();
  const bool flat = L < kNT;
  const int64_t tiles = flat ? N * L : N * ((L + kTL - 1) / kTL);  // flat: "tiles" are single values
  int64_t S = (4 * sms + C - 1) / C;
  const int64_t most = flat ? (tiles + kTL - 1) / kTL : tiles;  // flat: at least kTL values per group
  if (S > most) S = most;
  if (S < 1) S = 1;
  const int64_t per = (tiles + S - 1) / S;
  return {(tiles + per - 1) / per, tiles, per, flat};
}
// Calls f(i) for the element indices of group s of channel c, each thread its own in a fixed order.
template <class F>
__device__ inline void for_group(int64_t c, int64_t s, const ChanSplit& sp, int64_t C, int64_t L, F&& f) {
  if (sp.flat) {
    const int64_t j1 = (s + 1) * sp.per < sp.tiles ? (s + 1) * sp.per : sp.tiles;
    for (int64_t j = s * sp.per + threadIdx.x; j < j1; j += kNT) f((j / L * C + c) * L + j % L);
    return;
  }
  const int64_t lt = (L + kTL - 1) / kTL, t1 = (s + 1) * sp.per < sp.tiles ? (s + 1) * sp.per : sp.tiles;
  for (int64_t t = s * sp.per; t < t1; ++t) {
    const int64_t n = t / lt, l0 = (t % lt) * kTL, l1 = l0 + kTL < L ? l0 + kTL : L;
    const int64_t base = (n * C + c) * L;
    for (int64_t l = l0 + threadIdx.x; l < l1; l += kNT) f(base + l);
  }
}
}  // namespace norm_detail

// part[c*S + s] = sum over group s of channel c of (x - center[c])^2 when center, else of x.
template <class T>
__global__ void bn_partial_kernel(const T* __restrict__ x, const double* __restrict__ center, double* __restrict__ part, norm_detail::ChanSplit sp, int64_t C,
                                  int64_t L) {
  __shared__ double sh[norm_detail::kNT];
  for (int64_t b = blockIdx.x; b < C * sp.S; b += gridDim.x) {
    const int64_t c = b / sp.S, s = b % sp.S;
    double v = 0;
    if (center) {
      const double m = center[c];
      norm_detail::for_group(c, s, sp, C, L, [&](int64_t i) { const double d = double(x[i]) - m; v += d * d; });
    } else {
      norm_detail::for_group(c, s, sp, C, L, [&](int64_t i) { v += double(x[i]); });
    }
    v = norm_detail::block_sum(v, sh);
    if (threadIdx.x == 0) part[b] = v;
  }
}
// out[c] = (sum of the S partials of c, in order) / count; also stored as T into res when given.
template <class T>
__global__ void bn_finish_kernel(const double* __restrict__ part, double* __restrict__ out, T* __restrict__ res, int64_t C, int64_t S, double count) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < C; c += int64_t(gridDim.x) * blockDim.x) {
    double v = 0;
    for (int64_t s = 0; s < S; ++s) v += part[c * S + s];
    v /= count;
    if (out) out[c] = v;
    if (res) res[c] = T(v);
  }
}
template <class T> void batchnorm_stats(const T* x, T* mean, T* var, int64_t N, int64_t C, int64_t L) {
  if (C <= 0) return;
  const auto sp = norm_detail::chan_split(N, C, L);
  cuda_rt::DeviceBuffer<double> part(C * sp.S), m(C);
  const unsigned blocks = norm_detail::blocks_for(C * sp.S);
  const double cnt = double(N * L);
  bn_partial_kernel<T><<<blocks, norm_detail::kNT, 0, cuda_rt::stream()>>>(x, nullptr, part.get(), sp, C, L);
  GALML_CUDA_LAUNCHED();
  bn_finish_kernel<T><<<grid_for(C), kThreads, 0, cuda_rt::stream()>>>(part.get(), m.get(), mean, C, sp.S, cnt);
  GALML_CUDA_LAUNCHED();
  bn_partial_kernel<T><<<blocks, norm_detail::kNT, 0, cuda_rt::stream()>>>(x, m.get(), part.get(), sp, C, L);
  GALML_CUDA_LAUNCHED();
  bn_finish_kernel<T><<<grid_for(C), kThreads, 0, cuda_rt::stream()>>>(part.get(), nullptr, var, C, sp.S, cnt);
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

// Row-wise elementwise passes over x [N, C, L]: blockIdx.y walks the N*C rows (channel = row % C, no
// per-element division), blockIdx.x the positions of a row.
namespace norm_detail {
inline dim3 row_grid(int64_t rows, int64_t L) {
  const int64_t bx = (L + kThreads - 1) / kThreads;
  const int64_t cap_x = 64, cap_y = 65535;
  return dim3(unsigned(bx < cap_x ? bx : cap_x), unsigned(rows < cap_y ? rows : cap_y));
}
}  // namespace norm_detail
template <class T>
__global__ void bn_forward_kernel(const T* __restrict__ x, const T* mean, const T* invstd, const T* gamma, const T* beta, T* __restrict__ y,
                                  int64_t rows, int64_t C, int64_t L) {
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    const int64_t c = r % C;
    const T a = invstd[c] * (gamma ? gamma[c] : T(1));
    const T b = (beta ? beta[c] : T(0)) - mean[c] * a;
    const T* xr = x + r * L;
    T* yr = y + r * L;
    for (int64_t l = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; l < L; l += int64_t(gridDim.x) * blockDim.x) yr[l] = xr[l] * a + b;
  }
}
// Short rows (BatchNorm1D after a dense layer: L = 1): one thread per element.
template <class T>
__global__ void bn_forward_flat_kernel(const T* __restrict__ x, const T* mean, const T* invstd, const T* gamma, const T* beta, T* __restrict__ y,
                                       int64_t n, int64_t C, int64_t L) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = (i / L) % C;
    const T a = invstd[c] * (gamma ? gamma[c] : T(1));
    const T b = (beta ? beta[c] : T(0)) - mean[c] * a;
    y[i] = x[i] * a + b;
  }
}
template <class T> void batchnorm_forward(const T* x, const T* mean, const T* invstd, const T* gamma, const T* beta, T* y, int64_t N, int64_t C, int64_t L) {
  if (N * C * L <= 0) return;
  if (L < 128) {
    bn_forward_flat_kernel<T><<<grid_for(N * C * L), kThreads, 0, cuda_rt::stream()>>>(x, mean, invstd, gamma, beta, y, N * C * L, C, L);
    GALML_CUDA_LAUNCHED();
    return;
  }
  bn_forward_kernel<T><<<norm_detail::row_grid(N * C, L), kThreads, 0, cuda_rt::stream()>>>(x, mean, invstd, gamma, beta, y, N * C, C, L);
  GALML_CUDA_LAUNCHED();
}

// Backward partials: part[2*(c*S + s)] = sum dy, part[2*(c*S + s) + 1] = sum dy * xhat over group s.
template <class T>
__global__ void bn_backward_partial_kernel(const T* __restrict__ x, const T* __restrict__ dy, const T* mean, const T* invstd, double* __restrict__ part,
                                           norm_detail::ChanSplit sp, int64_t C, int64_t L) {
  __shared__ double sh[norm_detail::kNT];
  for (int64_t b = blockIdx.x; b < C * sp.S; b += gridDim.x) {
    const int64_t c = b / sp.S, s = b % sp.S;
    const double m = double(mean[c]), is = double(invstd[c]);
    double sdy = 0, sdyx = 0;
    norm_detail::for_group(c, s, sp, C, L, [&](int64_t i) {
      sdy += double(dy[i]);
      sdyx += double(dy[i]) * (double(x[i]) - m) * is;
    });
    sdy = norm_detail::block_sum(sdy, sh);
    sdyx = norm_detail::block_sum(sdyx, sh);
    if (threadIdx.x == 0) { part[2 * b] = sdy; part[2 * b + 1] = sdyx; }
  }
}
// Per channel: add the partials in order; dgamma += sum dy*xhat, dbeta += sum dy; coef[2c], coef[2c+1] =
// the means that dx subtracts (0 with running statistics).
template <class T>
__global__ void bn_backward_finish_kernel(const double* __restrict__ part, double* __restrict__ coef, T* dgamma, T* dbeta, int64_t C, int64_t S,
                                          double count, bool batch_stats) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < C; c += int64_t(gridDim.x) * blockDim.x) {
    double sdy = 0, sdyx = 0;
    for (int64_t s = 0; s < S; ++s) { sdy += part[2 * (c * S + s)]; sdyx += part[2 * (c * S + s) + 1]; }
    if (dgamma) dgamma[c] += T(sdyx);
    if (dbeta) dbeta[c] += T(sdy);
    coef[2 * c] = batch_stats ? sdy / count : 0.0;
    coef[2 * c + 1] = batch_stats ? sdyx / count : 0.0;
  }
}
template <class T>
__global__ void bn_backward_dx_kernel(const T* __restrict__ x, const T* __restrict__ dy, const T* mean, const T* invstd, const T* gamma,
                                      const double* __restrict__ coef, T* __restrict__ dx, int64_t rows, int64_t C, int64_t L) {
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    const int64_t c = r % C;
    const double m = double(mean[c]), is = double(invstd[c]), g = gamma ? double(gamma[c]) : 1.0, mdy = coef[2 * c], mdyx = coef[2 * c + 1];
    const T* xr = x + r * L;
    const T* gr = dy + r * L;
    T* dr = dx + r * L;
    for (int64_t l = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; l < L; l += int64_t(gridDim.x) * blockDim.x) {
      const double xh = (double(xr[l]) - m) * is;
      dr[l] = T(g * is * (double(gr[l]) - mdy - xh * mdyx));
    }
  }
}
template <class T>
__global__ void bn_backward_dx_flat_kernel(const T* __restrict__ x, const T* __restrict__ dy, const T* mean, const T* invstd, const T* gamma,
                                           const double* __restrict__ coef, T* __restrict__ dx, int64_t n, int64_t C, int64_t L) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = (i / L) % C;
    const double m = double(mean[c]), is = double(invstd[c]), g = gamma ? double(gamma[c]) : 1.0;
    const double xh = (double(x[i]) - m) * is;
    dx[i] = T(g * is * (double(dy[i]) - coef[2 * c] - xh * coef[2 * c + 1]));
  }
}
template <class T> void batchnorm_backward(const T* x, const T* dy, const T* mean, const T* invstd, const T* gamma, T* dx, T* dgamma, T* dbeta,
                                           int64_t N, int64_t C, int64_t L, bool batch_stats) {
  if (C <= 0) return;
  const auto sp = norm_detail::chan_split(N, C, L);
  cuda_rt::DeviceBuffer<double> part(2 * C * sp.S), coef(2 * C);
  bn_backward_partial_kernel<T><<<norm_detail::blocks_for(C * sp.S), norm_detail::kNT, 0, cuda_rt::stream()>>>(x, dy, mean, invstd, part.get(), sp, C, L);
  GALML_CUDA_LAUNCHED();
  bn_backward_finish_kernel<T><<<grid_for(C), kThreads, 0, cuda_rt::stream()>>>(part.get(), coef.get(), dgamma, dbeta, C, sp.S, double(N * L),
                                                                                  batch_stats);
  GALML_CUDA_LAUNCHED();
  if (dx && N * L > 0 && L < 128) {
    bn_backward_dx_flat_kernel<T><<<grid_for(N * C * L), kThreads, 0, cuda_rt::stream()>>>(x, dy, mean, invstd, gamma, coef.get(), dx, N * C * L, C, L);
    GALML_CUDA_LAUNCHED();
  } else if (dx && N * L > 0) {
    bn_backward_dx_kernel<T><<<norm_detail::row_grid(N * C, L), kThreads, 0, cuda_rt::stream()>>>(x, dy, mean, invstd, gamma, coef.get(), dx, N * C, C, L);
    GALML_CUDA_LAUNCHED();
  }
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
template <class T>
__global__ void ln_forward_warp_kernel(const T* __restrict__ x, const T* gamma, const T* beta, T* __restrict__ y, T* mean, T* rstd, int64_t rows,
                                       int64_t D, double eps) {
  const int lane = threadIdx.x % 32;
  for (int64_t r = blockIdx.x * int64_t(blockDim.x / 32) + threadIdx.x / 32; r < rows; r += int64_t(gridDim.x) * (blockDim.x / 32)) {
    const T* xr = x + r * D;
    double s = 0;
    for (int64_t i = lane; i < D; i += 32) s += double(xr[i]);
    const double m = norm_detail::warp_sum(s) / double(D);
    double v = 0;
    for (int64_t i = lane; i < D; i += 32) { const double d = double(xr[i]) - m; v += d * d; }
    const double is = 1.0 / sqrt(norm_detail::warp_sum(v) / double(D) + eps);
    if (lane == 0) { mean[r] = T(m); rstd[r] = T(is); }
    for (int64_t i = lane; i < D; i += 32) {
      const double xh = (double(xr[i]) - m) * is;
      y[r * D + i] = T(xh * (gamma ? double(gamma[i]) : 1.0) + (beta ? double(beta[i]) : 0.0));
    }
  }
}
template <class T> void layernorm_forward(const T* x, const T* gamma, const T* beta, T* y, T* mean, T* rstd, int64_t rows, int64_t D, double eps) {
  if (rows <= 0) return;
  if (D <= norm_detail::kWarpD) {
    ln_forward_warp_kernel<T><<<norm_detail::warp_blocks_for(rows), norm_detail::kNT, 0, cuda_rt::stream()>>>(x, gamma, beta, y, mean, rstd, rows, D, eps);
    GALML_CUDA_LAUNCHED();
    return;
  }
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
__global__ void ln_backward_dx_warp_kernel(const T* __restrict__ x, const T* __restrict__ dy, const T* mean, const T* rstd, const T* gamma,
                                           T* __restrict__ dx, int64_t rows, int64_t D) {
  const int lane = threadIdx.x % 32;
  for (int64_t r = blockIdx.x * int64_t(blockDim.x / 32) + threadIdx.x / 32; r < rows; r += int64_t(gridDim.x) * (blockDim.x / 32)) {
    const double m = double(mean[r]), is = double(rstd[r]);
    double sg = 0, sgx = 0;
    for (int64_t i = lane; i < D; i += 32) {
      const double g = double(dy[r * D + i]) * (gamma ? double(gamma[i]) : 1.0);
      sg += g;
      sgx += g * (double(x[r * D + i]) - m) * is;
    }
    sg = norm_detail::warp_sum(sg) / double(D);
    sgx = norm_detail::warp_sum(sgx) / double(D);
    for (int64_t i = lane; i < D; i += 32) {
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
  if (dx && D <= norm_detail::kWarpD) {
    ln_backward_dx_warp_kernel<T><<<norm_detail::warp_blocks_for(rows), norm_detail::kNT, 0, cuda_rt::stream()>>>(x, dy, mean, rstd, gamma, dx, rows, D);
    GALML_CUDA_LAUNCHED();
  } else if (dx) {
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
template <class T>
__global__ void softmax_forward_warp_kernel(const T* x, T* y, int64_t rows, int64_t D, bool log) {  // y may alias x
  const int lane = threadIdx.x % 32;
  for (int64_t r = blockIdx.x * int64_t(blockDim.x / 32) + threadIdx.x / 32; r < rows; r += int64_t(gridDim.x) * (blockDim.x / 32)) {
    const T* xr = x + r * D;
    T m = xr[0];
    for (int64_t i = lane; i < D; i += 32) m = xr[i] > m ? xr[i] : m;
    m = norm_detail::warp_max(m);
    T s = 0;
    for (int64_t i = lane; i < D; i += 32) s += norm_detail::d_exp(xr[i] - m);
    s = norm_detail::warp_sum(s);
    if (log) {
      const T ls = norm_detail::d_log(s);
      for (int64_t i = lane; i < D; i += 32) y[r * D + i] = xr[i] - m - ls;
    } else {
      const T inv = T(1) / s;
      for (int64_t i = lane; i < D; i += 32) y[r * D + i] = norm_detail::d_exp(xr[i] - m) * inv;
    }
  }
}
template <class T> void softmax_forward(const T* x, T* y, int64_t rows, int64_t D, bool log) {
  if (rows <= 0 || D <= 0) return;
  if (D <= norm_detail::kWarpD) {
    softmax_forward_warp_kernel<T><<<norm_detail::warp_blocks_for(rows), norm_detail::kNT, 0, cuda_rt::stream()>>>(x, y, rows, D, log);
    GALML_CUDA_LAUNCHED();
    return;
  }
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
template <class T>
__global__ void softmax_backward_warp_kernel(const T* __restrict__ y, const T* __restrict__ dy, T* __restrict__ dx, int64_t rows, int64_t D, bool log) {
  const int lane = threadIdx.x % 32;
  for (int64_t r = blockIdx.x * int64_t(blockDim.x / 32) + threadIdx.x / 32; r < rows; r += int64_t(gridDim.x) * (blockDim.x / 32)) {
    const T* yr = y + r * D;
    const T* gr = dy + r * D;
    T s = 0;
    for (int64_t i = lane; i < D; i += 32) s += log ? gr[i] : gr[i] * yr[i];
    s = norm_detail::warp_sum(s);
    for (int64_t i = lane; i < D; i += 32) dx[r * D + i] = log ? gr[i] - norm_detail::d_exp(yr[i]) * s : yr[i] * (gr[i] - s);
  }
}
template <class T> void softmax_backward(const T* y, const T* dy, T* dx, int64_t rows, int64_t D, bool log) {
  if (rows <= 0 || D <= 0) return;
  if (D <= norm_detail::kWarpD) {
    softmax_backward_warp_kernel<T><<<norm_detail::warp_blocks_for(rows), norm_detail::kNT, 0, cuda_rt::stream()>>>(y, dy, dx, rows, D, log);
    GALML_CUDA_LAUNCHED();
    return;
  }
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
    // __dmul_rn / __dadd_rn: no fused multiply-adds, so the bits equal the CPU's separate roundings
    double sg = 0, sgy = 0;
    for (int64_t i = 0; i < D; ++i) { sg += double(gr[i]); sgy = __dadd_rn(sgy, __dmul_rn(double(gr[i]), double(yr[i]))); }
    for (int64_t i = 0; i < D; ++i) dxr[i] = T(double(gr[i]) * inv);
    dxr[imin] = T(__dadd_rn(double(dxr[imin]), __dmul_rn(sgy - sg, inv)));
    dxr[imax] = T(__dsub_rn(double(dxr[imax]), __dmul_rn(sgy, inv)));
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

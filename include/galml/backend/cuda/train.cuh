#pragma once
// Training-step kernels: focal and (masked) MAE losses that write their value into a device scalar and
// their λ-weighted gradient into the head's gradient buffer, a fused Adam/AdamW update over the whole
// contiguous parameter buffer, and the device-side dropout step offset used by CUDA-graph replays.
//
// Every loss kernel is ONE block with a fixed per-thread row order and a fixed shared-memory tree, so
// values are deterministic (and graph replays are bit-identical to eager steps). Losses are summed in
// double, as the CPU losses do.
#include <cmath>

#include "galml/backend/cuda/common.cuh"
#include "galml/backend/cuda/kernels.hpp"

namespace galml::cuda_kernels {

// ---- dropout step offset (see kernels.hpp) ----
__global__ void dropout_offset_add_kernel(unsigned long long d) { g_dropout_step_offset += d; }
void dropout_offset_add(uint64_t d) {
  dropout_offset_add_kernel<<<1, 1, 0, cuda_rt::stream()>>>((unsigned long long)d);
  GALML_CUDA_LAUNCHED();
}
uint64_t dropout_offset_get() {
  unsigned long long v = 0;
  GALML_CUDA_CHECK(cudaMemcpyFromSymbolAsync(&v, g_dropout_step_offset, sizeof v, 0, cudaMemcpyDeviceToHost, cuda_rt::stream()));
  GALML_CUDA_CHECK(cudaStreamSynchronize(cuda_rt::stream()));
  return uint64_t(v);
}
void dropout_offset_set(uint64_t v) {
  const unsigned long long h = v;
  GALML_CUDA_CHECK(cudaMemcpyToSymbolAsync(g_dropout_step_offset, &h, sizeof h, 0, cudaMemcpyHostToDevice, cuda_rt::stream()));
  GALML_CUDA_CHECK(cudaStreamSynchronize(cuda_rt::stream()));
}

// Block-wide sum of one double per thread (fixed tree); every thread gets the total.
__device__ inline double block_sum(double v, double* sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int w = kThreads / 2; w > 0; w >>= 1) {
    if (int(threadIdx.x) < w) sh[threadIdx.x] += sh[threadIdx.x + w];
    __syncthreads();
  }
  const double r = sh[0];
  __syncthreads();
  return r;
}

template <class T> __device__ inline bool row_kept(const T* mask, int64_t i) { return mask == nullptr || mask[i] != T(0); }

// Writes value/denominator into loss_out and adds value/denominator * N into sum_out (thread 0).
template <class T>
__device__ inline void finish_loss(double total, double denom, int64_t N, T* loss_out, double* sum_out) {
  if (threadIdx.x == 0) {
    const T v = denom > 0 ? T(total / denom) : T(0);
    if (loss_out) *loss_out = v;
    if (sum_out) *sum_out += double(v) * double(N);
  }
}

template <class T>
__global__ void __launch_bounds__(kThreads) focal_loss_kernel(const T* __restrict__ z, const T* __restrict__ target, const T* __restrict__ mask,
                                  int64_t N, int64_t D, const T* __restrict__ alpha, double default_alpha, double gamma, bool soft,
                                  bool mask_count, const T* __restrict__ weight, T* __restrict__ grad, bool accumulate,
                                  T* __restrict__ loss_out, double* __restrict__ sum_out) {
  __shared__ double sh[kThreads];
  double kept = 0;
  if (mask_count) for (int64_t i = threadIdx.x; i < N; i += blockDim.x) kept += row_kept(mask, i) ? 1.0 : 0.0;
  const double denom = mask_count ? block_sum(kept, sh) : double(N);
  const double scale = denom > 0 ? 1.0 / denom : 0.0;
  const T w = weight ? *weight : T(1);
  double total = 0;
  for (int64_t i = threadIdx.x; i < N; i += blockDim.x) {
    const T* zi = z + i * D;
    T* g = grad ? grad + i * D : nullptr;
    if (!row_kept(mask, i) || !(denom > 0)) {
      if (g && !accumulate) for (int64_t c = 0; c < D; ++c) g[c] = T(0);
      continue;
    }
    double m = -INFINITY;
    for (int64_t c = 0; c < D; ++c) m = fmax(m, double(zi[c]));
    double s = 0;
    for (int64_t c = 0; c < D; ++c) s += exp(double(zi[c]) - m);
    const double lse = m + log(s);
    int64_t cls = -1;
    bool bad = false;
    if (!soft) {
      const double t = double(target[i]);
      bad = !(isfinite(t) && t >= 0 && t < double(D) && t == floor(t));
      cls = bad ? 0 : int64_t(t);
    }
    double li = 0, yh = 0;
    for (int64_t c = 0; c < D; ++c) {
      const double y = soft ? double(target[i * D + c]) : (c == cls ? 1.0 : 0.0);
      if (y == 0) continue;
      const double lp = double(zi[c]) - lse, p = exp(lp), om = -expm1(lp), a = alpha ? double(alpha[c]) : default_alpha;
      const double omg = pow(om, gamma);
      li -= a * y * omg * lp;
      const double gterm = (gamma == 0 || om <= 0) ? 0.0 : gamma * pow(om, gamma - 1) * p * lp;
      yh += y * (a * (gterm - omg));
    }
    if (bad) li = NAN;  // not a class index: poison the value (the CPU loss throws)
    total += li;
    if (g)
      for (int64_t c = 0; c < D; ++c) {
        const double y = soft ? double(target[i * D + c]) : (c == cls ? 1.0 : 0.0);
        double hc = 0;
        if (y != 0) {
          const double lp = double(zi[c]) - lse, p = exp(lp), om = -expm1(lp), a = alpha ? double(alpha[c]) : default_alpha;
          const double omg = pow(om, gamma);
          const double gterm = (gamma == 0 || om <= 0) ? 0.0 : gamma * pow(om, gamma - 1) * p * lp;
          hc = a * (gterm - omg);
        }
        T gv = T(scale * (y * hc - exp(double(zi[c]) - lse) * yh));  // rounded to T like the CPU loss, then λ·g in T
        if (bad) gv = T(NAN);
        g[c] = accumulate ? g[c] + w * gv : w * gv;
      }
  }
  total = block_sum(total, sh);
  finish_loss(total, denom, N, loss_out, sum_out);
}

template <class T>
__global__ void __launch_bounds__(kThreads) mae_loss_kernel(const T* __restrict__ pred, const T* __restrict__ target, const T* __restrict__ mask, int64_t N,
                                int64_t D, bool mask_count, const T* __restrict__ weight, T* __restrict__ grad, bool accumulate,
                                T* __restrict__ loss_out, double* __restrict__ sum_out) {
  __shared__ double sh[kThreads];
  double kept = 0;
  if (mask_count) for (int64_t i = threadIdx.x; i < N; i += blockDim.x) kept += row_kept(mask, i) ? 1.0 : 0.0;
  const double denom = (mask_count ? block_sum(kept, sh) : double(N)) * double(D);
  const double scale = denom > 0 ? 1.0 / denom : 0.0;
  const T w = weight ? *weight : T(1);
  double total = 0;
  for (int64_t j = threadIdx.x; j < N * D; j += blockDim.x) {
    const bool k = row_kept(mask, j / D) && denom > 0;
    T gv = T(0);
    if (k) {
      const double r = double(pred[j]) - double(target[j]);
      total += fabs(r);
      gv = T(r > 0 ? scale : r < 0 ? -scale : 0.0);
    }
    if (grad) grad[j] = accumulate ? grad[j] + w * gv : w * gv;
  }
  total = block_sum(total, sh);
  finish_loss(total, denom, N, loss_out, sum_out);
}

template <class T>
void focal_loss(const T* z, const T* target, const T* mask, int64_t N, int64_t D, const T* alpha, double default_alpha, double gamma,
                bool soft, bool mask_count, const T* weight, T* grad, bool accumulate, T* loss_out, double* sum_out) {
  if (N <= 0) return;
  focal_loss_kernel<T><<<1, kThreads, 0, cuda_rt::stream()>>>(z, target, mask, N, D, alpha, default_alpha, gamma, soft, mask_count, weight,
                                                              grad, accumulate, loss_out, sum_out);
  GALML_CUDA_LAUNCHED();
}
template <class T>
void mae_loss(const T* pred, const T* target, const T* mask, int64_t N, int64_t D, bool mask_count, const T* weight, T* grad,
              bool accumulate, T* loss_out, double* sum_out) {
  if (N <= 0) return;
  mae_loss_kernel<T><<<1, kThreads, 0, cuda_rt::stream()>>>(pred, target, mask, N, D, mask_count, weight, grad, accumulate, loss_out, sum_out);
  GALML_CUDA_LAUNCHED();
}

// ---- Adam / AdamW ----
// hyper = {lr, beta1, beta2, weight_decay} (device, double); *t is the step counter (device). One thread:
// t += 1 and coef = {lr/bc1, sqrt(bc2), lr*sqrt(bc2)/bc1, 1 - lr*wd} rounded to T exactly as the CPU
// optimizer computes them. Separate from the update so every block of the update reads the same t.
template <class T>
__global__ void adam_prepare_kernel(const double* __restrict__ hyper, int64_t* __restrict__ t, T* __restrict__ coef) {
  const int64_t s = *t + 1;
  *t = s;
  const double lr = hyper[0], bc1 = 1 - pow(hyper[1], double(s)), bc2 = 1 - pow(hyper[2], double(s));
  coef[0] = T(lr / bc1);
  coef[1] = T(sqrt(bc2));
  coef[2] = T(lr * sqrt(bc2) / bc1);
  coef[3] = T(1 - lr * hyper[3]);
}
template <class T> void adam_prepare(const double* hyper, int64_t* t, T* coef) {
  adam_prepare_kernel<T><<<1, 1, 0, cuda_rt::stream()>>>(hyper, t, coef);
  GALML_CUDA_LAUNCHED();
}

__device__ inline float d_sqrt(float v) { return sqrtf(v); }
__device__ inline double d_sqrt(double v) { return sqrt(v); }

// One Adam / AdamW element update (the CPU twin's arithmetic) given the step's bias-correction scalars;
// the global-step kernel and the frozen-mask kernel share it.
template <class T>
struct AdamConsts {
  T b1, b2, omb1, omb2, eps, wd, decay;
  bool decoupled, ams, keras;
};
template <class T>
__device__ inline void adam_element(const AdamConsts<T>& c, T* __restrict__ p, const T* __restrict__ g, T* __restrict__ m, T* __restrict__ v,
                                    T* __restrict__ vmax, int64_t i, T step_size, T bc2_sqrt, T keras_step) {
  T gi = g[i], pi = p[i];
  if (c.wd != T(0)) {
    if (c.decoupled) pi *= c.decay;
    else gi = gi + c.wd * pi;
  }
  const T mi = c.b1 * m[i] + c.omb1 * gi;
  const T vi = c.b2 * v[i] + c.omb2 * gi * gi;
  m[i] = mi; v[i] = vi;
  T vv = vi;
  if (c.ams) { vv = vmax[i] > vi ? vmax[i] : vi; vmax[i] = vv; }
  if (c.keras) pi -= keras_step * (mi / (d_sqrt(vv) + c.eps));
  else pi -= step_size * (mi / (d_sqrt(vv) / bc2_sqrt + c.eps));
  p[i] = pi;
}
template <class T>
__host__ __device__ inline AdamConsts<T> adam_consts(double beta1, double beta2, double eps, double wd, int flags) {
  return {T(beta1), T(beta2), T(1 - beta1), T(1 - beta2), T(eps), T(wd), T(0), bool(flags & adam_decoupled), bool(flags & adam_amsgrad),
          bool(flags & adam_keras_eps)};
}

template <class T>
__global__ void adam_update_kernel(T* __restrict__ p, const T* __restrict__ g, T* __restrict__ m, T* __restrict__ v, T* __restrict__ vmax,
                                   int64_t n, const T* __restrict__ coef, AdamConsts<T> c) {
  c.decay = coef[3];
  const T step_size = coef[0], bc2_sqrt = coef[1], keras_step = coef[2];
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    adam_element(c, p, g, m, v, vmax, i, step_size, bc2_sqrt, keras_step);
}
template <class T>
void adam_update(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, const T* coef, double beta1, double beta2, double eps, double wd, int flags) {
  if (n <= 0) return;
  adam_update_kernel<T><<<grid_for(n), kThreads, 0, cuda_rt::stream()>>>(p, g, m, v, vmax, n, coef, adam_consts<T>(beta1, beta2, eps, wd, flags));
  GALML_CUDA_LAUNCHED();
}

// The frozen-mask variant: frozen elements skipped, every other element with its own step count and
// bias correction from hyper {lr, beta1, beta2, weight_decay} (device doubles, so a graph sees changes).
template <class T>
__global__ void adam_update_frozen_kernel(T* __restrict__ p, const T* __restrict__ g, T* __restrict__ m, T* __restrict__ v, T* __restrict__ vmax,
                                          int64_t n, const double* __restrict__ hyper, const uint8_t* __restrict__ frozen,
                                          int64_t* __restrict__ elem_steps, T eps, int flags) {
  const double lr = hyper[0], beta1 = hyper[1], beta2 = hyper[2];
  AdamConsts<T> c = adam_consts<T>(beta1, beta2, double(eps), hyper[3], flags);
  c.eps = eps;
  c.decay = T(1 - lr * hyper[3]);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    if (frozen[i]) continue;
    const int64_t t = elem_steps[i] + 1;
    elem_steps[i] = t;
    const double bc1 = 1 - pow(beta1, double(t)), bc2 = 1 - pow(beta2, double(t));
    adam_element(c, p, g, m, v, vmax, i, T(lr / bc1), T(sqrt(bc2)), T(lr * sqrt(bc2) / bc1));
  }
}
template <class T>
void adam_update_frozen(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, const double* hyper, const uint8_t* frozen, int64_t* elem_steps, double eps,
                        int flags) {
  if (n <= 0) return;
  adam_update_frozen_kernel<T><<<grid_for(n), kThreads, 0, cuda_rt::stream()>>>(p, g, m, v, vmax, n, hyper, frozen, elem_steps, T(eps), flags);
  GALML_CUDA_LAUNCHED();
}

// ---- gradient clipping by the global L2 norm ----
// Stage 1: block b sums g^2 (double) over its fixed contiguous chunk; stage 2 (one block) adds the
// partials in a fixed order, writes the norm and the scale; stage 3 scales g when the scale is not 1.
// No atomics: the same bits on every run and under graph replay.
inline constexpr int kClipBlocks = 256;
template <class T>
__global__ void grad_sq_partial_kernel(const T* __restrict__ g, int64_t n, double* __restrict__ part) {
  __shared__ double sh[kThreads];
  const int64_t chunk = (n + gridDim.x - 1) / gridDim.x, i0 = blockIdx.x * chunk, i1 = i0 + chunk < n ? i0 + chunk : n;
  double s = 0;
  for (int64_t i = i0 + threadIdx.x; i < i1; i += blockDim.x) { const double v = double(g[i]); s += v * v; }
  sh[threadIdx.x] = s;
  __syncthreads();
  for (int w = kThreads / 2; w > 0; w >>= 1) {
    if (int(threadIdx.x) < w) sh[threadIdx.x] += sh[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) part[blockIdx.x] = sh[0];
}
template <class T>
__global__ void grad_norm_finish_kernel(const double* __restrict__ part, int nparts, double max_norm, double* __restrict__ norm_out, T* __restrict__ scale) {
  __shared__ double sh[kThreads];
  double s = 0;
  for (int i = threadIdx.x; i < nparts; i += blockDim.x) s += part[i];
  sh[threadIdx.x] = s;
  __syncthreads();
  for (int w = kThreads / 2; w > 0; w >>= 1) {
    if (int(threadIdx.x) < w) sh[threadIdx.x] += sh[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    const double norm = sqrt(sh[0]);
    if (norm_out) *norm_out = norm;
    *scale = isfinite(norm) && norm > max_norm ? T(max_norm / (norm + 1e-6)) : T(1);
  }
}
template <class T>
__global__ void grad_scale_kernel(T* __restrict__ g, int64_t n, const T* __restrict__ scale) {
  const T f = *scale;
  if (f == T(1)) return;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) g[i] *= f;
}
template <class T> void clip_grad_norm(T* g, int64_t n, double max_norm, double* norm_out) {
  GALML_CHECK(max_norm >= 0, "clip_grad_norm: max_norm must be >= 0, got ", max_norm);
  if (n <= 0) return;
  cuda_rt::DeviceBuffer<double> part(kClipBlocks);
  cuda_rt::DeviceBuffer<T> scale(1);
  grad_sq_partial_kernel<T><<<kClipBlocks, kThreads, 0, cuda_rt::stream()>>>(g, n, part.get());
  GALML_CUDA_LAUNCHED();
  grad_norm_finish_kernel<T><<<1, kThreads, 0, cuda_rt::stream()>>>(part.get(), kClipBlocks, max_norm, norm_out, scale.get());
  GALML_CUDA_LAUNCHED();
  grad_scale_kernel<T><<<grid_for(n), kThreads, 0, cuda_rt::stream()>>>(g, n, scale.get());
  GALML_CUDA_LAUNCHED();
}

}  // namespace galml::cuda_kernels

#pragma once
// GPU ops for the attention and token layers (MultiHeadSelfAttention, KerasMultiHeadAttention,
// TransformerEncoderLayer, GatedAttention, PatchEmbed1D, ClsToken, token pooling, CosineHead, L2
// normalisation): the formulas of backend/cpu/attention.hpp. Q Kᵀ and P V run through cuBLAS, one
// strided-batched call per head over the samples (heads are column blocks of the fused projections, read
// in place with their row strides); the weights come from the softmax / sigmoid ops in place, the
// backward's row terms run one block per row with a fixed-order reduction; attention dropout is the
// dropout op on the weight tensor, so its mask equals the CPU's bit for bit. Every reduction over the batch (bias-like gradients) sums
// the samples in order: deterministic.
#include <cmath>

#include "galml/backend/cuda/common.cuh"
#include "galml/backend/cuda/elementwise.cuh"
#include "galml/backend/cuda/kernels.hpp"
#include "galml/backend/cuda/norm.cuh"

namespace galml::cuda_kernels {

// Row-major C[M,N] (ldc) = alpha op(A) op(B) + beta C with explicit leading dimensions (elements) and
// batch strides. ta: A is stored [K, M]; tb: B is stored [N, K].
template <class T>
void gemm_rm_ld(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, int64_t sA, const T* B, int64_t ldb, int64_t sB,
                T beta, T* C, int64_t ldc, int64_t sC, int64_t batch) {
  if (M == 0 || N == 0 || batch == 0) return;
  GALML_CUBLAS_CHECK(gemm_sb(cuda_rt::cublas(), tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, to_int(N, "N"), to_int(M, "M"),
                             to_int(K, "K"), &alpha, B, to_int(ldb, "ldb"), sB, A, to_int(lda, "lda"), sA, &beta, C, to_int(ldc, "ldc"), sC,
                             to_int(batch, "batch")));
}

// ---- Keras-layout linear map: y = x W + b, W [in, out] ----
template <class T> void linear_kio_forward(const T* x, const T* w, const T* b, T* y, int64_t rows, int64_t in, int64_t out) {
  if (rows <= 0) return;
  if (b) fill_bias(y, b, rows * out, 1, out);
  gemm_rm<T>(false, false, rows, out, in, x, 0, w, 0, b ? T(1) : T(0), y, 0);
}
template <class T> void linear_kio_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t rows, int64_t in, int64_t out) {
  if (rows <= 0) return;
  if (dx) gemm_rm<T>(false, true, rows, in, out, dy, 0, w, 0, T(0), dx, 0);  // dx = dy Wᵀ
  if (dw) gemm_rm<T>(true, false, in, out, rows, x, 0, dy, 0, T(1), dw, 0);  // dW += xᵀ dy
  if (db) reduce_rows(dy, db, out, rows, 1, out, true);                      // db += column sums
}

// ---- attention ----
// dS from the gradient of the (dropped) weights G, in place: dropout⁻¹, then the softmax or sigmoid
// derivative, times scale.
template <class T>
__global__ void attn_scores_backward_kernel(T* __restrict__ G, const T* __restrict__ P, const uint8_t* __restrict__ mask, int64_t rows, int64_t Tk,
                                            int kind, T dscale, T scale) {
  __shared__ T sh[norm_detail::kNT];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    T* g = G + r * Tk;
    const T* p = P + r * Tk;
    if (mask)
      for (int64_t j = threadIdx.x; j < Tk; j += blockDim.x) g[j] = mask[r * Tk + j] ? g[j] * dscale : T(0);
    if (kind == attn_sigmoid) {
      for (int64_t j = threadIdx.x; j < Tk; j += blockDim.x) g[j] = g[j] * p[j] * (T(1) - p[j]) * scale;
      continue;
    }
    T s = 0;
    for (int64_t j = threadIdx.x; j < Tk; j += blockDim.x) s += g[j] * p[j];
    s = norm_detail::block_sum(s, sh);  // also orders the masked writes above before these reads
    for (int64_t j = threadIdx.x; j < Tk; j += blockDim.x) g[j] = p[j] * (g[j] - s) * scale;
  }
}

// The same for rows of at most kWarpD scores: a warp per row (each lane rewrites only its own
// entries, so the masked writes need no barrier before the sum reads them).
template <class T>
__global__ void attn_scores_backward_warp_kernel(T* __restrict__ G, const T* __restrict__ P, const uint8_t* __restrict__ mask, int64_t rows,
                                                 int64_t Tk, int kind, T dscale, T scale) {
  const int lane = threadIdx.x % 32;
  for (int64_t r = blockIdx.x * int64_t(blockDim.x / 32) + threadIdx.x / 32; r < rows; r += int64_t(gridDim.x) * (blockDim.x / 32)) {
    T* g = G + r * Tk;
    const T* p = P + r * Tk;
    if (mask)
      for (int64_t j = lane; j < Tk; j += 32) g[j] = mask[r * Tk + j] ? g[j] * dscale : T(0);
    if (kind == attn_sigmoid) {
      for (int64_t j = lane; j < Tk; j += 32) g[j] = g[j] * p[j] * (T(1) - p[j]) * scale;
      continue;
    }
    T s = 0;
    for (int64_t j = lane; j < Tk; j += 32) s += g[j] * p[j];
    s = norm_detail::warp_sum(s);
    for (int64_t j = lane; j < Tk; j += 32) g[j] = p[j] * (g[j] - s) * scale;
  }
}

template <class T>
void attention_forward(const T* q, const T* k, const T* v, T* o, T* P, uint8_t* mask, int64_t N, const AttnDimsC& d, int kind, double drop_p,
                       uint64_t seed, uint64_t layer, uint64_t step) {
  if (N <= 0) return;
  const int64_t psz = d.Tq * d.Tk, n = N * d.H * psz;
  for (int64_t h = 0; h < d.H; ++h)  // S = scale Q Kᵀ into P [N, H, Tq, Tk]
    gemm_rm_ld<T>(false, true, d.Tq, d.Tk, d.dk, T(d.scale), q + h * d.dk, d.ldq, d.Tq * d.ldq, k + h * d.dk, d.ldk, d.Tk * d.ldk, T(0),
                  P + h * psz, d.Tk, d.H * psz, N);
  // Scores -> weights in place: the Softmax layer's row op (stable), or the elementwise sigmoid.
  if (kind == attn_sigmoid) activation_forward<T>(act_sigmoid, P, P, n);
  else softmax_forward<T>(P, P, N * d.H * d.Tq, d.Tk, false);
  cuda_rt::DeviceBuffer<T> dropped(drop_p > 0 ? n : 1);
  const T* W = P;
  if (drop_p > 0) {  // element index = position in P, as on the CPU
    dropout_forward<T>(P, dropped.get(), mask, n, drop_p, seed, layer, step);
    W = dropped.get();
  }
  for (int64_t h = 0; h < d.H; ++h)  // O = W V
    gemm_rm_ld<T>(false, false, d.Tq, d.dv, d.Tk, T(1), W + h * psz, d.Tk, d.H * psz, v + h * d.dv, d.ldv, d.Tk * d.ldv, T(0), o + h * d.dv, d.ldo,
                  d.Tq * d.ldo, N);
}

template <class T>
void attention_backward(const T* q, const T* k, const T* v, const T* P, const uint8_t* mask, const T* dout, T* dq, T* dk, T* dv, int64_t N,
                        const AttnDimsC& d, int kind, double drop_p) {
  if (N <= 0) return;
  const int64_t psz = d.Tq * d.Tk, n = N * d.H * psz;
  cuda_rt::DeviceBuffer<T> G(n), pd(drop_p > 0 ? n : 1);
  const T* W = P;
  if (drop_p > 0) {
    dropout_backward<T>(P, mask, pd.get(), n, drop_p);  // the weights actually used: mask ? P / (1 - p) : 0
    W = pd.get();
  }
  for (int64_t h = 0; h < d.H; ++h) {
    // G = dO Vᵀ, dV = Wᵀ dO
    gemm_rm_ld<T>(false, true, d.Tq, d.Tk, d.dv, T(1), dout + h * d.dv, d.ldo, d.Tq * d.ldo, v + h * d.dv, d.ldv, d.Tk * d.ldv, T(0),
                  G.get() + h * psz, d.Tk, d.H * psz, N);
    gemm_rm_ld<T>(true, false, d.Tk, d.dv, d.Tq, T(1), W + h * psz, d.Tk, d.H * psz, dout + h * d.dv, d.ldo, d.Tq * d.ldo, T(0), dv + h * d.dv, d.ldv,
                  d.Tk * d.ldv, N);
  }
  if (d.Tk <= norm_detail::kWarpD)
    attn_scores_backward_warp_kernel<T><<<norm_detail::warp_blocks_for(N * d.H * d.Tq), norm_detail::kNT, 0, cuda_rt::stream()>>>(
        G.get(), P, drop_p > 0 ? mask : nullptr, N * d.H * d.Tq, d.Tk, kind, T(1.0 / (1.0 - drop_p)), T(d.scale));
  else
    attn_scores_backward_kernel<T><<<norm_detail::blocks_for(N * d.H * d.Tq), norm_detail::kNT, 0, cuda_rt::stream()>>>(
        G.get(), P, drop_p > 0 ? mask : nullptr, N * d.H * d.Tq, d.Tk, kind, T(1.0 / (1.0 - drop_p)), T(d.scale));
  GALML_CUDA_LAUNCHED();
  for (int64_t h = 0; h < d.H; ++h) {
    // dQ = dS K, dK = dSᵀ Q
    gemm_rm_ld<T>(false, false, d.Tq, d.dk, d.Tk, T(1), G.get() + h * psz, d.Tk, d.H * psz, k + h * d.dk, d.ldk, d.Tk * d.ldk, T(0), dq + h * d.dk,
                  d.ldq, d.Tq * d.ldq, N);
    gemm_rm_ld<T>(true, false, d.Tk, d.dk, d.Tq, T(1), G.get() + h * psz, d.Tk, d.H * psz, q + h * d.dk, d.ldq, d.Tq * d.ldq, T(0), dk + h * d.dk,
                  d.ldk, d.Tk * d.ldk, N);
  }
}

// ---- elementwise gate: y = σ(q ⊙ k) ⊙ v ----
template <class T>
__global__ void hadamard_gate_kernel(const T* q, const T* k, const T* v, int64_t ld_in, const T* dy, int64_t ld_y, T* y, T* dq, T* dk, T* dv,
                                     int64_t rows, int64_t width, bool backward) {
  const int64_t total = rows * width;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = t / width, i = t % width, a = r * ld_in + i;
    const T g = T(1) / (T(1) + norm_detail::d_exp(-q[a] * k[a]));
    if (!backward) { y[r * ld_y + i] = g * v[a]; continue; }
    const T gy = dy[r * ld_y + i], ds = gy * v[a] * g * (T(1) - g);
    dq[a] = ds * k[a]; dk[a] = ds * q[a]; dv[a] = gy * g;
  }
}
template <class T> void hadamard_gate_forward(const T* q, const T* k, const T* v, int64_t ld_in, T* y, int64_t ld_y, int64_t rows, int64_t width) {
  if (rows * width <= 0) return;
  hadamard_gate_kernel<T><<<grid_for(rows * width), kThreads, 0, cuda_rt::stream()>>>(q, k, v, ld_in, nullptr, ld_y, y, nullptr, nullptr, nullptr, rows,
                                                                                     width, false);
  GALML_CUDA_LAUNCHED();
}
template <class T>
void hadamard_gate_backward(const T* q, const T* k, const T* v, int64_t ld_in, const T* dy, int64_t ld_y, T* dq, T* dk, T* dv, int64_t rows, int64_t width) {
  if (rows * width <= 0) return;
  hadamard_gate_kernel<T><<<grid_for(rows * width), kThreads, 0, cuda_rt::stream()>>>(q, k, v, ld_in, dy, ld_y, nullptr, dq, dk, dv, rows, width, true);
  GALML_CUDA_LAUNCHED();
}

// ---- row L2 normalisation ----
template <class T>
__global__ void l2norm_kernel(const T* x, const T* yin, const T* normin, const T* dy, T* y, T* norm, T* dx, int64_t rows, int64_t D, double eps, bool backward) {
  __shared__ double sh[norm_detail::kNT];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    if (!backward) {
      double s = 0;
      for (int64_t i = threadIdx.x; i < D; i += blockDim.x) s += double(x[r * D + i]) * double(x[r * D + i]);
      const double nr = sqrt(norm_detail::block_sum(s, sh));
      if (threadIdx.x == 0) norm[r] = T(nr);
      const double inv = 1.0 / (nr > eps ? nr : eps);
      for (int64_t i = threadIdx.x; i < D; i += blockDim.x) y[r * D + i] = T(double(x[r * D + i]) * inv);
      continue;
    }
    const double nr = double(normin[r]);
    if (nr <= eps) {
      for (int64_t i = threadIdx.x; i < D; i += blockDim.x) dx[r * D + i] = T(double(dy[r * D + i]) / eps);
      continue;
    }
    double s = 0;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) s += double(yin[r * D + i]) * double(dy[r * D + i]);
    s = norm_detail::block_sum(s, sh);
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) dx[r * D + i] = T((double(dy[r * D + i]) - double(yin[r * D + i]) * s) / nr);
  }
}
template <class T> void l2normalize_forward(const T* x, T* y, T* norm, int64_t rows, int64_t D, double eps) {
  if (rows <= 0) return;
  l2norm_kernel<T><<<norm_detail::blocks_for(rows), norm_detail::kNT, 0, cuda_rt::stream()>>>(x, nullptr, nullptr, nullptr, y, norm, nullptr, rows, D, eps, false);
  GALML_CUDA_LAUNCHED();
}
template <class T> void l2normalize_backward(const T* y, const T* norm, const T* dy, T* dx, int64_t rows, int64_t D, double eps) {
  if (rows <= 0) return;
  l2norm_kernel<T><<<norm_detail::blocks_for(rows), norm_detail::kNT, 0, cuda_rt::stream()>>>(nullptr, y, norm, dy, nullptr, nullptr, dx, rows, D, eps, true);
  GALML_CUDA_LAUNCHED();
}

// ---- cosine-head scale: y = s[0] c; dc = s[0] dy, ds[0] += Σ dy c (one block, fixed order) ----
template <class T>
__global__ void scaled_logits_kernel(const T* c, const T* s, const T* dy, T* y, T* dc, T* ds, int64_t n, bool backward) {
  __shared__ double sh[norm_detail::kNT];
  if (!backward) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) y[i] = s[0] * c[i];
    return;
  }
  double acc = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) { dc[i] = s[0] * dy[i]; acc += double(dy[i]) * double(c[i]); }
  acc = norm_detail::block_sum(acc, sh);
  if (threadIdx.x == 0) ds[0] += T(acc);
}
template <class T> void scaled_logits_forward(const T* c, const T* s, T* y, int64_t n) {
  if (n <= 0) return;
  scaled_logits_kernel<T><<<grid_for(n, norm_detail::kNT), norm_detail::kNT, 0, cuda_rt::stream()>>>(c, s, nullptr, y, nullptr, nullptr, n, false);
  GALML_CUDA_LAUNCHED();
}
template <class T> void scaled_logits_backward(const T* c, const T* s, const T* dy, T* dc, T* ds, int64_t n) {
  if (n <= 0) return;
  scaled_logits_kernel<T><<<1, norm_detail::kNT, 0, cuda_rt::stream()>>>(c, s, dy, nullptr, dc, ds, n, true);
  GALML_CUDA_LAUNCHED();
}

// ---- tokens ----
// out[i] += Σ_n x[n*ld + off + i] over n in order (one thread per element: deterministic).
template <class T>
__global__ void batch_sum_kernel(const T* x, T* out, int64_t N, int64_t size, int64_t ld) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < size; i += int64_t(gridDim.x) * blockDim.x) {
    T s = T(0);
    for (int64_t n = 0; n < N; ++n) s += x[n * ld + i];
    out[i] += s;
  }
}
template <class T> void batch_sum_accumulate(const T* x, T* out, int64_t N, int64_t size) {
  if (size <= 0 || N <= 0) return;
  batch_sum_kernel<T><<<grid_for(size), kThreads, 0, cuda_rt::stream()>>>(x, out, N, size, size);
  GALML_CUDA_LAUNCHED();
}
template <class T>
__global__ void add_broadcast_kernel(const T* x, const T* b, T* y, int64_t N, int64_t size) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < N * size; t += int64_t(gridDim.x) * blockDim.x) y[t] = x[t] + b[t % size];
}
template <class T> void add_broadcast(const T* x, const T* b, T* y, int64_t N, int64_t size) {
  if (N * size <= 0) return;
  add_broadcast_kernel<T><<<grid_for(N * size), kThreads, 0, cuda_rt::stream()>>>(x, b, y, N, size);
  GALML_CUDA_LAUNCHED();
}
// patches[(n*Tn + t), c*P + k] = x[n, c, t*P + k]; unpatchify scatters back and zeroes the tail.
template <class T>
__global__ void patchify_kernel(const T* x, T* patches, int64_t N, int64_t C, int64_t L, int64_t P, int64_t Tn) {
  const int64_t total = N * Tn * C * P;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t k = e % P, c = (e / P) % C, t = (e / (P * C)) % Tn, n = e / (P * C * Tn);
    patches[e] = x[(n * C + c) * L + t * P + k];
  }
}
template <class T>
__global__ void unpatchify_kernel(const T* dpatches, T* dx, int64_t N, int64_t C, int64_t L, int64_t P, int64_t Tn) {
  const int64_t total = N * C * L;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = e % L, c = (e / L) % C, n = e / (L * C), t = i / P, k = i % P;
    dx[e] = t < Tn ? dpatches[((n * Tn + t) * C + c) * P + k] : T(0);
  }
}
template <class T> void patchify1d(const T* x, T* patches, int64_t N, int64_t C, int64_t L, int64_t P, int64_t Tn) {
  if (N * Tn * C * P <= 0) return;
  patchify_kernel<T><<<grid_for(N * Tn * C * P), kThreads, 0, cuda_rt::stream()>>>(x, patches, N, C, L, P, Tn);
  GALML_CUDA_LAUNCHED();
}
template <class T> void unpatchify1d(const T* dpatches, T* dx, int64_t N, int64_t C, int64_t L, int64_t P, int64_t Tn) {
  if (N * C * L <= 0) return;
  unpatchify_kernel<T><<<grid_for(N * C * L), kThreads, 0, cuda_rt::stream()>>>(dpatches, dx, N, C, L, P, Tn);
  GALML_CUDA_LAUNCHED();
}
// y [N, Tn+1, D] = [cls; x[n]]; backward dx = dy[:, 1:], dcls += Σ_n dy[n, 0] (in sample order).
template <class T>
__global__ void cls_prepend_kernel(const T* x, const T* cls, T* y, int64_t N, int64_t Tn, int64_t D) {
  const int64_t total = N * (Tn + 1) * D;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = e % D, t = (e / D) % (Tn + 1), n = e / (D * (Tn + 1));
    y[e] = t == 0 ? cls[i] : x[(n * Tn + t - 1) * D + i];
  }
}
template <class T> void cls_prepend_forward(const T* x, const T* cls, T* y, int64_t N, int64_t Tn, int64_t D) {
  if (N * (Tn + 1) * D <= 0) return;
  cls_prepend_kernel<T><<<grid_for(N * (Tn + 1) * D), kThreads, 0, cuda_rt::stream()>>>(x, cls, y, N, Tn, D);
  GALML_CUDA_LAUNCHED();
}
template <class T>
__global__ void cls_strip_kernel(const T* dy, T* dx, int64_t N, int64_t Tn, int64_t D) {
  const int64_t total = N * Tn * D;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = e % D, t = (e / D) % Tn, n = e / (D * Tn);
    dx[e] = dy[(n * (Tn + 1) + t + 1) * D + i];
  }
}
template <class T> void cls_prepend_backward(const T* dy, T* dx, T* dcls, int64_t N, int64_t Tn, int64_t D) {
  if (N <= 0) return;
  if (dx && N * Tn * D > 0) {
    cls_strip_kernel<T><<<grid_for(N * Tn * D), kThreads, 0, cuda_rt::stream()>>>(dy, dx, N, Tn, D);
    GALML_CUDA_LAUNCHED();
  }
  if (dcls) {
    batch_sum_kernel<T><<<grid_for(D), kThreads, 0, cuda_rt::stream()>>>(dy, dcls, N, D, (Tn + 1) * D);
    GALML_CUDA_LAUNCHED();
  }
}
// [N, Tn, D] -> [N, D]: the first token, or the mean over tokens (summed in token order).
template <class T>
__global__ void token_pool_kernel(const T* x, T* y, int64_t N, int64_t Tn, int64_t D, bool mean) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < N * D; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = e / D, i = e % D;
    const T* xs = x + n * Tn * D;
    if (!mean) { y[e] = xs[i]; continue; }
    T s = T(0);
    for (int64_t t = 0; t < Tn; ++t) s += xs[t * D + i];
    y[e] = s / T(Tn);
  }
}
template <class T>
__global__ void token_unpool_kernel(const T* dy, T* dx, int64_t N, int64_t Tn, int64_t D, bool mean) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < N * Tn * D; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = e % D, t = (e / D) % Tn, n = e / (D * Tn);
    dx[e] = mean ? dy[n * D + i] / T(Tn) : (t == 0 ? dy[n * D + i] : T(0));
  }
}
template <class T> void token_pool_forward(const T* x, T* y, int64_t N, int64_t Tn, int64_t D, bool mean) {
  if (N * D <= 0) return;
  token_pool_kernel<T><<<grid_for(N * D), kThreads, 0, cuda_rt::stream()>>>(x, y, N, Tn, D, mean);
  GALML_CUDA_LAUNCHED();
}
template <class T> void token_pool_backward(const T* dy, T* dx, int64_t N, int64_t Tn, int64_t D, bool mean) {
  if (N * Tn * D <= 0) return;
  token_unpool_kernel<T><<<grid_for(N * Tn * D), kThreads, 0, cuda_rt::stream()>>>(dy, dx, N, Tn, D, mean);
  GALML_CUDA_LAUNCHED();
}

}  // namespace galml::cuda_kernels

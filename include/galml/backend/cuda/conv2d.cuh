#pragma once
// Conv2D and 2-D pooling on the GPU. Conv2D is im2col + cuBLAS like the CPU path, in chunks of
// samples so the column matrix stays within a fixed workspace (a 3 x 300 x 300 image with K = 3 has a
// 27 x 90,000 column matrix per sample). Backward: dW += dyT colT^T with the chunk folded into the GEMM's
// inner dimension (one cuBLAS call per chunk, chunks added in order), db by fixed-order row sums, dx by
// a col2im gather (each input pixel sums its (c, kh, kw) contributions in a fixed order): deterministic.
// Max-pool backward gathers, per input pixel, the outputs whose argmax it is in output order (the
// order in which the CPU adds them). Not tuned for speed.
#include "galml/backend/cuda/common.cuh"
#include "galml/backend/cuda/conv1d.cuh"  // batch_to_channel_major_kernel
#include "galml/backend/cuda/kernels.hpp"

namespace galml::cuda_kernels {

// col[n*sn + ((c*K + kh)*K + kw)*sck + p] = x[n, c, oh*S + kh - pad, ow*S + kw - pad] (0 outside), p = oh*Wo + ow.
// blockIdx.y walks the (n, c, kh, kw) rows (decomposed once per row), x the positions p of a row with
// 32-bit index math (one division per value): coalesced writes, nearly coalesced reads.
template <class T>
__global__ void im2col2d_kernel(const T* __restrict__ x, T* __restrict__ col, int64_t N, Conv2dDimsC d, int64_t sn, int64_t sck) {
  const int P = int(d.ho * d.wo), wo = int(d.wo), H = int(d.H), W = int(d.W), S = int(d.stride), K = int(d.K), ckk = int(d.cin * d.K * d.K);
  for (int64_t rr = blockIdx.y; rr < N * ckk; rr += gridDim.y) {
    const int q = int(rr % ckk);
    const int64_t n = rr / ckk;
    const int kw = q % K, kh = (q / K) % K, c = q / (K * K);
    const T* xp = x + (n * d.cin + c) * int64_t(H) * W;
    T* cp = col + n * sn + q * sck;
    const int dh = kh - int(d.pad), dw = kw - int(d.pad);
    for (int p = blockIdx.x * blockDim.x + threadIdx.x; p < P; p += gridDim.x * blockDim.x) {
      const int oh = p / wo, ow = p - oh * wo, ih = oh * S + dh, iw = ow * S + dw;
      cp[p] = (ih >= 0 && ih < H && iw >= 0 && iw < W) ? xp[ih * W + iw] : T(0);
    }
  }
}
// dx[n, c, ih, iw] = sum over (kh, kw) (ascending) of dcol[n, (c*K + kh)*K + kw, p] where the position p maps onto (ih, iw).
// blockIdx.y walks the (n, c) planes, x the pixels of a plane.
template <class T>
__global__ void col2im2d_kernel(const T* __restrict__ dcol, T* __restrict__ dx, int64_t N, Conv2dDimsC d) {
  const int P = int(d.ho * d.wo), ho = int(d.ho), wo = int(d.wo), H = int(d.H), W = int(d.W), S = int(d.stride), K = int(d.K), pad = int(d.pad);
  for (int64_t plane = blockIdx.y; plane < N * d.cin; plane += gridDim.y) {
    const T* col = dcol + plane * int64_t(K) * K * P;  // (n*cin + c) * K*K*P
    T* dp = dx + plane * int64_t(H) * W;
    for (int t = blockIdx.x * blockDim.x + threadIdx.x; t < H * W; t += gridDim.x * blockDim.x) {
      const int ih = t / W, iw = t - ih * W;
      T s = T(0);
      for (int kh = 0; kh < K; ++kh) {
        const int uh = ih + pad - kh;
        if (uh < 0 || uh % S) continue;
        const int oh = uh / S;
        if (oh >= ho) continue;
        for (int kw = 0; kw < K; ++kw) {
          const int uw = iw + pad - kw;
          if (uw < 0 || uw % S) continue;
          const int ow = uw / S;
          if (ow < wo) s += col[(kh * K + kw) * P + oh * wo + ow];
        }
      }
      dp[t] = s;
    }
  }
}
inline dim3 plane_grid(int64_t rows, int64_t len) {
  const int64_t bx = (len + kThreads - 1) / kThreads;
  return dim3(unsigned(bx < 128 ? bx : 128), unsigned(rows < 65535 ? rows : 65535));
}

// Samples per chunk: the column matrix of a chunk holds at most 2^26 values (256 MB in float).
inline int64_t conv2d_chunk(const Conv2dDimsC& d, int64_t N) {
  const int64_t per = d.cin * d.K * d.K * d.ho * d.wo;
  int64_t c = per > 0 ? (int64_t(1) << 26) / per : N;
  return c < 1 ? 1 : (c > N ? N : c);
}

template <class T>
void conv2d_forward(const T* x, const T* w, const T* b, T* y, int64_t N, const Conv2dDimsC& d) {
  if (N <= 0) return;
  to_int(d.H * d.W + d.K * d.K * d.ho * d.wo, "Conv2D plane size (H*W, K*K*Ho*Wo)");  // the kernels index a plane in 32 bits
  const int64_t P = d.ho * d.wo, ckk = d.cin * d.K * d.K, xs = d.cin * d.H * d.W, ys = d.cout * P;
  if (b) fill_bias(y, b, N * ys, P, d.cout);
  const int64_t chunk = conv2d_chunk(d, N);
  cuda_rt::DeviceBuffer<T> col(chunk * ckk * P);
  for (int64_t n0 = 0; n0 < N; n0 += chunk) {
    const int64_t nc = N - n0 < chunk ? N - n0 : chunk;
    im2col2d_kernel<T><<<plane_grid(nc * ckk, P), kThreads, 0, cuda_rt::stream()>>>(x + n0 * xs, col.get(), nc, d, ckk * P, P);
    GALML_CUDA_LAUNCHED();
    gemm_rm<T>(false, false, d.cout, P, ckk, w, 0, col.get(), ckk * P, b ? T(1) : T(0), y + n0 * ys, ys, nc);
  }
}

template <class T>
void conv2d_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t N, const Conv2dDimsC& d) {
  if (N <= 0) return;
  to_int(d.H * d.W + d.K * d.K * d.ho * d.wo, "Conv2D plane size (H*W, K*K*Ho*Wo)");
  const int64_t P = d.ho * d.wo, ckk = d.cin * d.K * d.K, xs = d.cin * d.H * d.W, ys = d.cout * P;
  const int64_t chunk = conv2d_chunk(d, N);
  cuda_rt::DeviceBuffer<T> col(chunk * ckk * P), dyT((dw || db) ? chunk * ys : 1);
  for (int64_t n0 = 0; n0 < N; n0 += chunk) {
    const int64_t nc = N - n0 < chunk ? N - n0 : chunk, nl = nc * P;
    if (dw || db) {
      batch_to_channel_major_kernel<T><<<grid_for(nc * ys), kThreads, 0, cuda_rt::stream()>>>(dy + n0 * ys, dyT.get(), nc, d.cout, P);
      GALML_CUDA_LAUNCHED();
      if (dw) {
        im2col2d_kernel<T><<<plane_grid(nc * ckk, P), kThreads, 0, cuda_rt::stream()>>>(x + n0 * xs, col.get(), nc, d, P, nl);  // colT [ckk, nc*P]
        GALML_CUDA_LAUNCHED();
        gemm_rm<T>(false, true, d.cout, ckk, nl, dyT.get(), 0, col.get(), 0, T(1), dw, 0);  // dW += dyT colT^T
      }
      if (db) reduce_rows(dyT.get(), db, d.cout, nl, nl, 1, true);
    }
    if (dx) {
      gemm_rm<T>(true, false, ckk, P, d.cout, w, 0, dy + n0 * ys, ys, T(0), col.get(), ckk * P, nc);  // dcol_n = W^T dy_n
      col2im2d_kernel<T><<<plane_grid(nc * d.cin, d.H * d.W), kThreads, 0, cuda_rt::stream()>>>(col.get(), dx + n0 * xs, nc, d);
      GALML_CUDA_LAUNCHED();
    }
  }
}

// ---- 2-D pooling over planes [planes, H, W] ----
template <class T>
__global__ void maxpool2d_forward_kernel(const T* __restrict__ x, T* __restrict__ y, int32_t* __restrict__ arg, int64_t planes, int64_t H, int64_t W,
                                         int64_t K, int64_t S, int64_t ho, int64_t wo) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < planes * ho * wo; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t ow = t % wo, oh = (t / wo) % ho, r = t / (wo * ho);
    const T* xp = x + r * H * W;
    int64_t best = oh * S * W + ow * S;
    T m = xp[best];
    for (int64_t kh = 0; kh < K; ++kh)
      for (int64_t kw = 0; kw < K; ++kw) {
        const int64_t i = (oh * S + kh) * W + ow * S + kw;
        const T v = xp[i];
        if (v > m || v != v) { m = v; best = i; }
      }
    y[t] = m;
    arg[t] = int32_t(best);
  }
}
template <class T>
__global__ void maxpool2d_backward_kernel(const T* __restrict__ dy, const int32_t* __restrict__ arg, T* __restrict__ dx, int64_t planes, int64_t H_,
                                          int64_t W_, int64_t K_, int64_t S_, int64_t ho_, int64_t wo_) {
  const int H = int(H_), W = int(W_), K = int(K_), S = int(S_), ho = int(ho_), wo = int(wo_);  // a plane is indexed in 32 bits
  for (int64_t r = blockIdx.y; r < planes; r += gridDim.y) {
    const int32_t* ar = arg + r * ho * wo;
    const T* gr = dy + r * ho * wo;
    T* dr = dx + r * int64_t(H) * W;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < H * W; i += gridDim.x * blockDim.x) {
      const int ih = i / W, iw = i - ih * W;
      // outputs whose window holds (ih, iw): oh in [ceil((ih - K + 1) / S), ih / S], the same for ow
      const int oh0 = ih - K + 1 > 0 ? (ih - K + 1 + S - 1) / S : 0, oh1 = ih / S < ho - 1 ? ih / S : ho - 1;
      const int ow0 = iw - K + 1 > 0 ? (iw - K + 1 + S - 1) / S : 0, ow1 = iw / S < wo - 1 ? iw / S : wo - 1;
      T s = T(0);
      for (int oh = oh0; oh <= oh1; ++oh)
        for (int ow = ow0; ow <= ow1; ++ow) {
          const int o = oh * wo + ow;
          if (ar[o] == i) s += gr[o];
        }
      dr[i] = s;
    }
  }
}
template <class T>
void maxpool2d_forward(const T* x, T* y, int32_t* arg, int64_t planes, int64_t H, int64_t W, int64_t K, int64_t S, int64_t ho, int64_t wo) {
  if (planes * ho * wo <= 0) return;
  maxpool2d_forward_kernel<T><<<grid_for(planes * ho * wo), kThreads, 0, cuda_rt::stream()>>>(x, y, arg, planes, H, W, K, S, ho, wo);
  GALML_CUDA_LAUNCHED();
}
template <class T>
void maxpool2d_backward(const T* dy, const int32_t* arg, T* dx, int64_t planes, int64_t H, int64_t W, int64_t K, int64_t S, int64_t ho, int64_t wo) {
  if (planes * H * W <= 0) return;
  to_int(H * W, "MaxPool2D plane size H*W");
  maxpool2d_backward_kernel<T><<<plane_grid(planes, H * W), kThreads, 0, cuda_rt::stream()>>>(dy, arg, dx, planes, H, W, K, S, ho, wo);
  GALML_CUDA_LAUNCHED();
}
// Separable bins [hstart(ho), hend(ho), wstart(wo), wend(wo)]; sums in the CPU's order (same bits).
template <class T>
__global__ void binpool2d_forward_kernel(const T* __restrict__ x, T* __restrict__ y, const int32_t* __restrict__ bins, int64_t planes, int64_t H, int64_t W,
                                         int64_t ho, int64_t wo) {
  const int32_t *hs = bins, *he = bins + ho, *ws = bins + 2 * ho, *we = bins + 2 * ho + wo;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < planes * ho * wo; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t j = t % wo, i = (t / wo) % ho, r = t / (wo * ho);
    const T* xp = x + r * H * W;
    T s = T(0);
    for (int64_t h = hs[i]; h < he[i]; ++h)
      for (int64_t w = ws[j]; w < we[j]; ++w) s += xp[h * W + w];
    y[t] = s / T(int64_t(he[i] - hs[i]) * int64_t(we[j] - ws[j]));
  }
}
// dx[h, w] = sum over the bins (i, j) containing it, i then j ascending (the CPU's order), of dy / area.
template <class T>
__global__ void binpool2d_backward_kernel(const T* __restrict__ dy, T* __restrict__ dx, const int32_t* __restrict__ bins, int64_t planes, int64_t H, int64_t W,
                                          int64_t ho, int64_t wo) {
  const int32_t *hs = bins, *he = bins + ho, *ws = bins + 2 * ho, *we = bins + 2 * ho + wo;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < planes * H * W; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t w = t % W, h = (t / W) % H, r = t / (W * H);
    T s = T(0);
    for (int64_t i = 0; i < ho; ++i) {
      if (h < hs[i] || h >= he[i]) continue;
      for (int64_t j = 0; j < wo; ++j)
        if (w >= ws[j] && w < we[j]) s += dy[(r * ho + i) * wo + j] / T(int64_t(he[i] - hs[i]) * int64_t(we[j] - ws[j]));
    }
    dx[t] = s;
  }
}
template <class T> void binpool2d_forward(const T* x, T* y, const int32_t* bins, int64_t planes, int64_t H, int64_t W, int64_t ho, int64_t wo) {
  if (planes * ho * wo <= 0) return;
  binpool2d_forward_kernel<T><<<grid_for(planes * ho * wo), kThreads, 0, cuda_rt::stream()>>>(x, y, bins, planes, H, W, ho, wo);
  GALML_CUDA_LAUNCHED();
}
template <class T> void binpool2d_backward(const T* dy, T* dx, const int32_t* bins, int64_t planes, int64_t H, int64_t W, int64_t ho, int64_t wo) {
  if (planes * H * W <= 0) return;
  binpool2d_backward_kernel<T><<<grid_for(planes * H * W), kThreads, 0, cuda_rt::stream()>>>(dy, dx, bins, planes, H, W, ho, wo);
  GALML_CUDA_LAUNCHED();
}

}  // namespace galml::cuda_kernels

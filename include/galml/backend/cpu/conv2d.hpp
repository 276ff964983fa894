#pragma once
// Conv2D on the CPU.   x [N, Cin, H, W], w [Cout, Cin, K, K] (PyTorch layout), b [Cout],
// y [N, Cout, Ho, Wo]; square kernel, same stride and zero padding on both axes.
//
// im2col + one GEMM per sample: col [Cin*K*K, Ho*Wo] (row (c*K + kh)*K + kw, i.e. the weight's own
// flattening, so w is used as a [Cout, Cin*K*K] matrix with no repacking), y_n = W col (+ b).
// Backward: dW += dy_n col^T, db += row sums of dy_n, dcol = W^T dy_n then col2im into dx.
//
// Work split: samples over threads when N >= threads; with fewer samples (inference at batch 1) the
// output positions of each sample are cut into column ranges, each thread building only its own part
// of col, so one image still uses every core without duplicated im2col work. Weight/bias gradients use
// a fixed number of chunks of the batch (reduce.hpp), added in chunk order: the same bits on any
// thread count.
#include <algorithm>
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "galml/backend/cpu/gemm.hpp"
#include "galml/backend/cpu/reduce.hpp"
#include "galml/core/backend.hpp"
#include "galml/core/parallel.hpp"

namespace galml::cpu_kernels {

struct Conv2dDims {
  int64_t cin, H, W, cout, K, stride, pad, ho, wo;
  int64_t ckk() const { return cin * K * K; }
  int64_t positions() const { return ho * wo; }
  bool direct() const { return K == 1 && stride == 1 && pad == 0; }  // 1x1: x itself is the column matrix
};

// col [Cin*K*K, p1 - p0]: the columns for output positions [p0, p1) (position p = oh*Wo + ow).
template <class T>
inline void im2col_2d(const T* x, T* col, const Conv2dDims& d, int64_t p0, int64_t p1) {
  const int64_t np = p1 - p0;
  for (int64_t c = 0; c < d.cin; ++c)
    for (int64_t kh = 0; kh < d.K; ++kh)
      for (int64_t kw = 0; kw < d.K; ++kw) {
        T* row = col + ((c * d.K + kh) * d.K + kw) * np;
        for (int64_t p = p0; p < p1;) {
          const int64_t oh = p / d.wo, ow0 = p % d.wo, ow1 = std::min(d.wo, ow0 + (p1 - p));
          T* dst = row + (p - p0);  // dst[ow - ow0] for ow in [ow0, ow1)
          const int64_t ih = oh * d.stride + kh - d.pad;
          p += ow1 - ow0;
          if (ih < 0 || ih >= d.H) { std::fill(dst, dst + (ow1 - ow0), T(0)); continue; }
          const T* xr = x + (c * d.H + ih) * d.W;
          if (d.stride == 1) {
            // iw = ow + kw - pad lies in [0, W) for ow in [pad - kw, W + pad - kw): copy that, zeros around it
            const int64_t a = std::clamp(d.pad - kw, ow0, ow1), b = std::clamp(d.W + d.pad - kw, a, ow1);
            std::fill(dst, dst + (a - ow0), T(0));
            if (b > a) std::copy(xr + (a + kw - d.pad), xr + (b + kw - d.pad), dst + (a - ow0));
            std::fill(dst + (b - ow0), dst + (ow1 - ow0), T(0));
          } else {
            for (int64_t ow = ow0; ow < ow1; ++ow) {
              const int64_t iw = ow * d.stride + kw - d.pad;
              dst[ow - ow0] = (iw >= 0 && iw < d.W) ? xr[iw] : T(0);
            }
          }
        }
      }
}

// dx [Cin, H, W] overwritten with the sum of col's entries at their input positions (all positions).
template <class T>
inline void col2im_2d(const T* col, T* dx, const Conv2dDims& d) {
  std::fill(dx, dx + d.cin * d.H * d.W, T(0));
  const int64_t np = d.positions();
  for (int64_t c = 0; c < d.cin; ++c)
    for (int64_t kh = 0; kh < d.K; ++kh)
      for (int64_t kw = 0; kw < d.K; ++kw) {
        const T* row = col + ((c * d.K + kh) * d.K + kw) * np;
        for (int64_t oh = 0; oh < d.ho; ++oh) {
          const int64_t ih = oh * d.stride + kh - d.pad;
          if (ih < 0 || ih >= d.H) continue;
          const T* src = row + oh * d.wo;
          T* xr = dx + (c * d.H + ih) * d.W;
          // ow range whose iw = ow*stride + kw - pad lies in [0, W)
          const int64_t lo = std::max<int64_t>(0, (d.pad - kw + d.stride - 1) / d.stride);
          const int64_t hi = std::min<int64_t>(d.wo, d.W + d.pad - kw <= 0 ? 0 : (d.W + d.pad - kw - 1) / d.stride + 1);
          for (int64_t ow = lo; ow < hi; ++ow) xr[ow * d.stride + kw - d.pad] += src[ow];
        }
      }
}

namespace conv2d_detail {
template <class T> T* grow(std::vector<T>& v, int64_t n) {
  if (int64_t(v.size()) < n) v.resize(size_t(n));
  return v.data();
}
template <class T> using MStrided = Eigen::Map<MatR<T>, 0, Eigen::OuterStride<>>;
template <class T> using CStrided = Eigen::Map<const MatR<T>, 0, Eigen::OuterStride<>>;

// Output positions [p0, p1) of one sample (all output channels).
template <class T>
void forward_cols(const T* xn, const T* w, const T* b, T* yn, int64_t p0, int64_t p1, const Conv2dDims& d, std::vector<T>& col) {
  const int64_t P = d.positions(), np = p1 - p0, ck = d.ckk();
  MStrided<T> y(yn + p0, d.cout, np, Eigen::OuterStride<>(P));
  // Bias first, then accumulate the product into it (one pass over y fewer than adding it afterwards).
  if (b) for (int64_t o = 0; o < d.cout; ++o) y.row(o).setConstant(b[o]);
  CMapR<T> wm(w, d.cout, ck);
  if (d.direct()) {
    CStrided<T> xm(xn + p0, ck, np, Eigen::OuterStride<>(P));
    if (b) y.noalias() += wm * xm; else y.noalias() = wm * xm;
    return;
  }
  im2col_2d(xn, grow(col, ck * np), d, p0, p1);
  CMapR<T> cm(col.data(), ck, np);
  if (b) y.noalias() += wm * cm; else y.noalias() = wm * cm;
}
}  // namespace conv2d_detail

template <class T>
void conv2d_forward(const T* x, const T* w, const T* b, T* y, int64_t N, const Conv2dDims& d) {
  using namespace conv2d_detail;
  const int64_t xs = d.cin * d.H * d.W, P = d.positions(), ys = d.cout * P;
  const int64_t nt = get_num_threads();
  if (N >= nt || P < 2 * 64) {
    parallel_for(N, [&](int64_t n0, int64_t n1) {
      thread_local std::vector<T> col;
      for (int64_t n = n0; n < n1; ++n) forward_cols(x + n * xs, w, b, y + n * ys, 0, P, d, col);
    });
    return;
  }
  // Few samples: split each sample's output positions (blocks of >= 64 columns keep the GEMMs wide).
  for (int64_t n = 0; n < N; ++n)
    parallel_for(P, [&](int64_t p0, int64_t p1) {
      thread_local std::vector<T> col;
      forward_cols(x + n * xs, w, b, y + n * ys, p0, p1, d, col);
    }, 64);
}

// dx (nullable) overwritten; dw, db (nullable) accumulated.
template <class T>
void conv2d_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t N, const Conv2dDims& d) {
  using namespace conv2d_detail;
  if (N <= 0) return;
  const int64_t ck = d.ckk(), P = d.positions(), xs = d.cin * d.H * d.W;
  const int64_t wsize = dw ? d.cout * ck : 0, psize = wsize + (db ? d.cout : 0);
  const int64_t nchunks = std::min<int64_t>(N, kReduceChunks);
  thread_local std::vector<T> partial;
  partial.assign(size_t(nchunks * psize), T(0));
  T* pbase = partial.data();  // thread_local: take the pointer here, workers have their own instance
  parallel_chunks(N, nchunks, [&](int64_t c, int64_t n0, int64_t n1) {
    thread_local std::vector<T> col, dcol;
    T* pw = pbase + c * psize;
    for (int64_t n = n0; n < n1; ++n) {
      const T* xn = x + n * xs;
      const T* dyn = dy + n * d.cout * P;
      if (db) for (int64_t o = 0; o < d.cout; ++o) { const T* r = dyn + o * P; T s = 0; for (int64_t p = 0; p < P; ++p) s += r[p]; pw[wsize + o] += s; }
      if (dw) {
        const T* cn = xn;
        if (!d.direct()) { im2col_2d(xn, grow(col, ck * P), d, 0, P); cn = col.data(); }
        gemm<T>(false, true, d.cout, ck, P, dyn, cn, pw, true);  // dW += dy col^T
      }
      if (dx) {
        T* dxn = dx + n * xs;
        if (d.direct()) gemm<T>(true, false, ck, P, d.cout, w, dyn, dxn, false);
        else { gemm<T>(true, false, ck, P, d.cout, w, dyn, grow(dcol, ck * P), false); col2im_2d(dcol.data(), dxn, d); }
      }
    }
  });
  // Chunk partials added in chunk order (deterministic).
  for (int64_t c = 0; c < nchunks; ++c) {
    const T* p = pbase + c * psize;
    if (dw) for (int64_t i = 0; i < wsize; ++i) dw[i] += p[i];
    if (db) for (int64_t o = 0; o < d.cout; ++o) db[o] += p[wsize + o];
  }
}

}  // namespace galml::cpu_kernels

namespace galml::backend_ops {
// Backend ops (tag first, found by ADL); a CUDA backend adds overloads for its own tag.
template <class T> void conv2d_forward(cpu, const T* x, const T* w, const T* b, T* y, int64_t N, const cpu_kernels::Conv2dDims& d) {
  cpu_kernels::conv2d_forward(x, w, b, y, N, d);
}
template <class T> void conv2d_backward(cpu, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t N, const cpu_kernels::Conv2dDims& d) {
  cpu_kernels::conv2d_backward(x, w, dy, dx, dw, db, N, d);
}
}  // namespace galml::backend_ops

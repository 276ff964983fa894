#pragma once
// Conv1D on the CPU: im2col + GEMM per sample, samples in parallel.
//   x [N, Cin, L], w [Cout, Cin, K] (PyTorch layout), b [Cout], y [N, Cout, Lout]
#include <cstdint>
#include <vector>

#include "galml/backend/cpu/gemm.hpp"
#include "galml/backend/cpu/reduce.hpp"
#include "galml/core/parallel.hpp"

namespace galml::cpu_kernels {

struct Conv1dDims { int64_t cin, L, cout, K, stride, pad, lout; };

// col [Cin*K, Lout]
template <class T>
inline void im2col_1d(const T* x, T* col, const Conv1dDims& d) {
  for (int64_t c = 0; c < d.cin; ++c)
    for (int64_t k = 0; k < d.K; ++k) {
      T* row = col + (c * d.K + k) * d.lout;
      const T* xc = x + c * d.L;
      const int64_t off = k - d.pad;
      if (d.stride == 1 && off >= 0 && off + d.lout <= d.L) { std::copy(xc + off, xc + off + d.lout, row); continue; }
      for (int64_t l = 0; l < d.lout; ++l) {
        const int64_t i = l * d.stride + off;
        row[l] = (i >= 0 && i < d.L) ? xc[i] : T(0);
      }
    }
}
template <class T>
inline void col2im_1d(const T* col, T* dx, const Conv1dDims& d) {  // dx overwritten
  std::fill(dx, dx + d.cin * d.L, T(0));
  for (int64_t c = 0; c < d.cin; ++c)
    for (int64_t k = 0; k < d.K; ++k) {
      const T* row = col + (c * d.K + k) * d.lout;
      T* xc = dx + c * d.L;
      const int64_t off = k - d.pad;
      for (int64_t l = 0; l < d.lout; ++l) {
        const int64_t i = l * d.stride + off;
        if (i >= 0 && i < d.L) xc[i] += row[l];
      }
    }
}

template <class T>
void conv1d_forward(const T* x, const T* w, const T* b, T* y, int64_t N, const Conv1dDims& d) {
  const int64_t ck = d.cin * d.K;
  const bool direct = (d.K == 1 && d.stride == 1 && d.pad == 0);  // 1x1 conv: x itself is the column matrix
  parallel_for(N, [&](int64_t n0, int64_t n1) {
    thread_local std::vector<T> col;
    if (!direct) col.resize(size_t(ck * d.lout));
    for (int64_t n = n0; n < n1; ++n) {
      const T* xn = x + n * d.cin * d.L;
      T* yn = y + n * d.cout * d.lout;
      if (!direct) im2col_1d(xn, col.data(), d);
      gemm<T>(false, false, d.cout, d.lout, ck, w, direct ? xn : col.data(), yn, false);
      if (b) for (int64_t o = 0; o < d.cout; ++o) { T* r = yn + o * d.lout; const T bo = b[o]; for (int64_t l = 0; l < d.lout; ++l) r[l] += bo; }
    }
  });
}

// dx (nullable) overwritten; dw, db (nullable) accumulated.
template <class T>
void conv1d_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t N, const Conv1dDims& d) {
  const int64_t ck = d.cin * d.K;
  const bool direct = (d.K == 1 && d.stride == 1 && d.pad == 0);
  const int64_t wsize = d.cout * ck, psize = wsize + (db ? d.cout : 0);
  // Parameter gradients: fixed chunks => deterministic; the same pass computes dx.
  const int64_t nchunks = std::min<int64_t>(N, kReduceChunks);
  thread_local std::vector<T> partial;
  partial.assign(size_t(nchunks * psize), T(0));
  T* pbase = partial.data();
  parallel_chunks(N, nchunks, [&](int64_t c, int64_t n0, int64_t n1) {
    thread_local std::vector<T> col, dcol;
    if (!direct) { col.resize(size_t(ck * d.lout)); dcol.resize(size_t(ck * d.lout)); }
    T* pw = pbase + c * psize;
    for (int64_t n = n0; n < n1; ++n) {
      const T* xn = x + n * d.cin * d.L;
      const T* dyn = dy + n * d.cout * d.lout;
      const T* cn = xn;
      if (!direct) { im2col_1d(xn, col.data(), d); cn = col.data(); }
      if (dw) gemm<T>(false, true, d.cout, ck, d.lout, dyn, cn, pw, true);       // dW += dy * col^T
      if (db) for (int64_t o = 0; o < d.cout; ++o) { const T* r = dyn + o * d.lout; T s = 0; for (int64_t l = 0; l < d.lout; ++l) s += r[l]; pw[wsize + o] += s; }
      if (dx) {
        T* dxn = dx + n * d.cin * d.L;
        if (direct) gemm<T>(true, false, ck, d.lout, d.cout, w, dyn, dxn, false);
        else { gemm<T>(true, false, ck, d.lout, d.cout, w, dyn, dcol.data(), false); col2im_1d(dcol.data(), dxn, d); }
      }
    }
  });
  for (int64_t c = 0; c < nchunks; ++c) {
    const T* p = pbase + c * psize;
    if (dw) for (int64_t i = 0; i < wsize; ++i) dw[i] += p[i];
    if (db) for (int64_t o = 0; o < d.cout; ++o) db[o] += p[wsize + o];
  }
}

}  // namespace galml::cpu_kernels

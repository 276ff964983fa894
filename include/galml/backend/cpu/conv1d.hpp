#pragma once
// Conv1D on the CPU.   x [N, Cin, L], w [Cout, Cin, K] (PyTorch layout), b [Cout], y [N, Cout, Lout]
//
// Two paths:
//  * shifted GEMMs (stride 1, no padding, Cin >= kShiftedMinCin): y_n = sum_k W_k * X_n[:, k : k+Lout],
//    where W_k = w[:, :, k] (packed once per call) and the shifted input is a strided view of x, so no
//    im2col copy is made (Eigen packs the view itself). Backward the same way: dW_k += dY X_k^T and
//    dX[:, k : k+Lout] += W_k^T dY, without the col/col2im buffers. This roughly halves the memory
//    traffic of the wide early layers, which are bandwidth-bound.
//  * im2col + one GEMM per sample otherwise (few input channels, where K=Cin GEMMs would be too thin;
//    strided or padded convolutions).
// Both are the fallbacks: float convolutions with stride 1 and padding < K use the AVX2 direct kernels
// of conv1d_direct.hpp when the CPU has them (any channel count; bias and an optional ReLU fused).
//
// relu (forward) / y_relu (backward): the Conv1D + ReLU pair fused by Chain. Forward stores
// max(0, conv); backward takes the ReLU's output and its gradient and masks the gradient itself, so the
// pre-activation tensor and the ReLU's passes over it never exist.
// Work split: samples over threads when N >= threads; with fewer samples (inference at batch 1), output
// channel blocks of each sample over threads, so a single spectrum still uses every core. Both splits
// write disjoint outputs; weight-gradient sums use fixed chunks (reduce.hpp), so results are the same
// bits on any thread count.
#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "galml/backend/cpu/conv1d_direct.hpp"
#include "galml/backend/cpu/gemm.hpp"
#include "galml/backend/cpu/reduce.hpp"
#include "galml/core/parallel.hpp"

namespace galml::cpu_kernels {

struct Conv1dDims { int64_t cin, L, cout, K, stride, pad, lout; };

inline constexpr int64_t kShiftedMinCin = 8;

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

namespace conv_detail {
template <class T> using StridedR = Eigen::Map<const MatR<T>, 0, Eigen::OuterStride<>>;
template <class T> using MStridedR = Eigen::Map<MatR<T>, 0, Eigen::OuterStride<>>;

inline bool shifted(const Conv1dDims& d) { return d.stride == 1 && d.pad == 0 && d.cin >= kShiftedMinCin; }

// wk[k][o][c] = w[o][c][k]. A grow-only buffer per calling thread: no allocation after the first step.
template <class T>
const T* pack_weights(const T* w, const Conv1dDims& d) {
  thread_local std::vector<T> wk;
  const int64_t n = d.K * d.cout * d.cin;
  if (int64_t(wk.size()) < n) wk.resize(size_t(n));
  for (int64_t o = 0; o < d.cout; ++o)
    for (int64_t c = 0; c < d.cin; ++c)
      for (int64_t k = 0; k < d.K; ++k) wk[size_t((k * d.cout + o) * d.cin + c)] = w[(o * d.cin + c) * d.K + k];
  return wk.data();
}
template <class T> T* grow(std::vector<T>& v, int64_t n) {
  if (int64_t(v.size()) < n) v.resize(size_t(n));
  return v.data();
}

// Output rows [o0, o1) of one sample. wk: packed weights (shifted path) or w itself (im2col path);
// col: scratch of Cin*K*Lout for the im2col path.
template <class T>
void forward_rows(const T* xn, const T* w, const T* wk, const T* b, T* yn, int64_t o0, int64_t o1, const Conv1dDims& d, std::vector<T>& col) {
  const int64_t rows = o1 - o0;
  MMapR<T> y(yn + o0 * d.lout, rows, d.lout);
  // Bias first, then accumulate the products into it: one pass over y fewer than adding it afterwards.
  if (b) for (int64_t o = o0; o < o1; ++o) std::fill(yn + o * d.lout, yn + (o + 1) * d.lout, b[o]);
  if (shifted(d)) {
    for (int64_t k = 0; k < d.K; ++k) {
      CMapR<T> wkm(wk + (k * d.cout + o0) * d.cin, rows, d.cin);
      StridedR<T> xk(xn + k, d.cin, d.lout, Eigen::OuterStride<>(d.L));
      if (b || k > 0) y.noalias() += wkm * xk; else y.noalias() = wkm * xk;
    }
    return;
  }
  const int64_t ck = d.cin * d.K;
  const bool direct = (d.K == 1 && d.stride == 1 && d.pad == 0);  // 1x1 conv: x itself is the column matrix
  const T* cn = xn;
  if (!direct) { im2col_1d(xn, grow(col, ck * d.lout), d); cn = col.data(); }
  gemm<T>(false, false, rows, d.lout, ck, w + o0 * ck, cn, yn + o0 * d.lout, b != nullptr);
}
}  // namespace conv_detail

template <class T>
void conv1d_forward_eigen(const T* x, const T* w, const T* b, T* y, int64_t N, const Conv1dDims& d) {
  using namespace conv_detail;
  const T* wk = shifted(d) ? pack_weights(w, d) : w;
  const int64_t xs = d.cin * d.L, ys = d.cout * d.lout;
  const int64_t nt = get_num_threads();
  if (N >= nt || d.cout < 16) {
    parallel_for(N, [&](int64_t n0, int64_t n1) {
      thread_local std::vector<T> col;
      for (int64_t n = n0; n < n1; ++n) forward_rows(x + n * xs, w, wk, b, y + n * ys, 0, d.cout, d, col);
    });
    return;
  }
  // Few samples: split output channels (blocks of 8 rows keep Eigen's register tiles full).
  const int64_t blocks = (d.cout + 7) / 8;
  for (int64_t n = 0; n < N; ++n)
    parallel_for(blocks, [&](int64_t b0, int64_t b1) {
      thread_local std::vector<T> col;
      forward_rows(x + n * xs, w, wk, b, y + n * ys, b0 * 8, std::min(d.cout, b1 * 8), d, col);
    });
}

// dx (nullable) overwritten; dw, db (nullable) accumulated.
template <class T>
void conv1d_backward_eigen(const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t N, const Conv1dDims& d) {
  using namespace conv_detail;
  const bool sh = shifted(d);
  const T* wk = sh ? pack_weights(w, d) : w;
  const int64_t ck = d.cin * d.K;
  const bool direct = (d.K == 1 && d.stride == 1 && d.pad == 0);
  // Partial weight gradients per chunk; on the shifted path laid out [K][Cout][Cin] like wk.
  const int64_t wsize = d.cout * ck, psize = wsize + (db ? d.cout : 0);
  const int64_t nchunks = std::min<int64_t>(N, kReduceChunks);
  thread_local std::vector<T> partial;
  partial.assign(size_t(nchunks * psize), T(0));
  T* pbase = partial.data();
  parallel_chunks(N, nchunks, [&](int64_t c, int64_t n0, int64_t n1) {
    thread_local std::vector<T> col, dcol;
    T* pw = pbase + c * psize;
    for (int64_t n = n0; n < n1; ++n) {
      const T* xn = x + n * d.cin * d.L;
      const T* dyn = dy + n * d.cout * d.lout;
      CMapR<T> dym(dyn, d.cout, d.lout);
      if (db) for (int64_t o = 0; o < d.cout; ++o) { const T* r = dyn + o * d.lout; T s = 0; for (int64_t l = 0; l < d.lout; ++l) s += r[l]; pw[wsize + o] += s; }
      if (sh) {
        for (int64_t k = 0; k < d.K; ++k) {
          StridedR<T> xk(xn + k, d.cin, d.lout, Eigen::OuterStride<>(d.L));
          if (dw) { MMapR<T> g(pw + k * d.cout * d.cin, d.cout, d.cin); g.noalias() += dym * xk.transpose(); }
        }
        if (dx) {
          T* dxn = dx + n * d.cin * d.L;
          std::fill(dxn, dxn + d.cin * d.L, T(0));
          for (int64_t k = 0; k < d.K; ++k) {
            CMapR<T> wkm(wk + k * d.cout * d.cin, d.cout, d.cin);
            MStridedR<T> dxk(dxn + k, d.cin, d.lout, Eigen::OuterStride<>(d.L));
            dxk.noalias() += wkm.transpose() * dym;
          }
        }
        continue;
      }
      const T* cn = xn;
      if (!direct) { im2col_1d(xn, grow(col, ck * d.lout), d); cn = col.data(); }
      if (dw) gemm<T>(false, true, d.cout, ck, d.lout, dyn, cn, pw, true);       // dW += dy * col^T
      if (dx) {
        T* dxn = dx + n * d.cin * d.L;
        if (direct) gemm<T>(true, false, ck, d.lout, d.cout, w, dyn, dxn, false);
        else { gemm<T>(true, false, ck, d.lout, d.cout, w, dyn, grow(dcol, ck * d.lout), false); col2im_1d(dcol.data(), dxn, d); }
      }
    }
  });
  // Chunk partials added in chunk order (deterministic).
  for (int64_t c = 0; c < nchunks; ++c) {
    const T* p = pbase + c * psize;
    if (dw) {
      if (sh) {
        for (int64_t o = 0; o < d.cout; ++o)
          for (int64_t ci = 0; ci < d.cin; ++ci)
            for (int64_t k = 0; k < d.K; ++k) dw[(o * d.cin + ci) * d.K + k] += p[(k * d.cout + o) * d.cin + ci];
      } else {
        for (int64_t i = 0; i < wsize; ++i) dw[i] += p[i];
      }
    }
    if (db) for (int64_t o = 0; o < d.cout; ++o) db[o] += p[wsize + o];
  }
}

namespace conv_detail {
inline bool use_direct(const Conv1dDims& d) { return d.stride == 1 && d.pad < d.K && direct::direct_conv_active(); }

// Samples per Winograd group: about 96 tiles of columns, so the pointwise GEMMs of the deep layers
// (rows of ~60 outputs, 16 tiles) still get full register tiles and reuse their weights.
#if GALML_X86_DISPATCH
inline int64_t wino_group(int64_t lout) { return std::clamp<int64_t>(96 / direct::wino_tiles(lout), 1, 8); }

// rows of length L -> rows of `stride` (>= L + pad): `pad` zeros, the row, zeros to the stride.
inline void pad_rows(const float* src, int64_t rows, int64_t L, int64_t pad, int64_t stride, float* dst) {
  for (int64_t r = 0; r < rows; ++r) {
    float* o = dst + r * stride;
    std::fill(o, o + pad, 0.f);
    std::copy(src + r * L, src + (r + 1) * L, o + pad);
    std::fill(o + pad + L, o + stride, 0.f);
  }
}
// One sample's input as the kernels read it: x itself, or a zero-padded copy in buf.
inline const float* padded_input(const float* xn, const Conv1dDims& d, std::vector<float>& buf, int64_t& stride) {
  if (d.pad == 0) { stride = d.L; return xn; }
  stride = d.L + 2 * d.pad;
  pad_rows(xn, d.cin, d.L, d.pad, stride, grow(buf, d.cin * stride));
  return buf.data();
}

inline void direct_forward(const float* x, const float* w, const float* b, float* y, int64_t N, const Conv1dDims& d, bool relu) {
  thread_local std::vector<float> wpk;
  const float* wp = grow(wpk, direct::packed_size(d.cout, d.cin, d.K, false));
  direct::pack(w, d.cout, d.cin, d.K, false, wpk.data());
  const int64_t xs = d.cin * d.L, ys = d.cout * d.lout, blocks = (d.cout + direct::kMR - 1) / direct::kMR;
  // Winograd from 4 samples up (a rule on the batch, never on the thread count, so results stay
  // thread-count independent); a single spectrum is faster split by output channels below.
  if (direct::winograd_ok(d.K, d.cin, d.cout) && N >= 4) {
    thread_local std::vector<float> upk;
    const float* u = grow(upk, direct::wino_packed_size(d.cout, d.cin));
    direct::wino_pack(w, d.cout, d.cin, false, upk.data());
    const int64_t lp = d.L + 2 * d.pad, sx = d.pad ? lp : d.L;
    // Group of samples -> WinoArgs (padded copies in xpad when the convolution pads).
    auto args = [&](int64_t n0, int64_t n, std::vector<float>& xpad, float* sc) {
      const float* xg = x + n0 * xs;
      if (d.pad) {
        pad_rows(xg, n * d.cin, d.L, d.pad, lp, grow(xpad, n * d.cin * lp));
        xg = xpad.data();
      }
      return direct::WinoArgs{xg, sx, d.cin * sx, n, d.cin, u, b, y + n0 * ys, ys, d.cout, d.lout, relu, sc};
    };
    if (N >= get_num_threads()) {  // groups of samples over threads
      const int64_t G = wino_group(d.lout), ngroups = (N + G - 1) / G;
      parallel_for(ngroups, [&](int64_t g0, int64_t g1) {
        thread_local std::vector<float> scratch, xpad;
        float* sc = grow(scratch, direct::wino_scratch_size(G, d.cin, d.cout, d.lout));
        for (int64_t gi = g0; gi < g1; ++gi) direct::wino_forward(args(gi * G, std::min(G, N - gi * G), xpad, sc));
      });
    } else {  // few samples (inference at batch 1): each stage of each sample over threads
      thread_local std::vector<float> scratch, xpad;
      float* sc = grow(scratch, direct::wino_scratch_size(1, d.cin, d.cout, d.lout));
      for (int64_t n = 0; n < N; ++n) {
        const direct::WinoArgs a = args(n, 1, xpad, sc);
        parallel_for(a.red, [&](int64_t c0, int64_t c1) { direct::wino_input(a, c0, c1); });
        parallel_for(6 * a.blocks(), [&](int64_t i0, int64_t i1) { direct::wino_gemm(a, i0, i1); });
        parallel_for(a.rows, [&](int64_t o0, int64_t o1) { direct::wino_output(a, o0, o1); });
      }
    }
    return;
  }
  auto run = [&](int64_t n, int64_t ob0, int64_t ob1) {
    thread_local std::vector<float> xpad;
    int64_t sx = 0;
    const float* xn = padded_input(x + n * xs, d, xpad, sx);
    direct::forward(xn, sx, d.cin, d.K, wp, b, y + n * ys, d.cout, d.lout, relu, ob0, ob1);
  };
  if (N >= get_num_threads() || blocks == 1) {
    parallel_for(N, [&](int64_t n0, int64_t n1) { for (int64_t n = n0; n < n1; ++n) run(n, 0, blocks); });
    return;
  }
  for (int64_t n = 0; n < N; ++n) parallel_for(blocks, [&](int64_t b0, int64_t b1) { run(n, b0, b1); });
}

// y_relu (nullable): the fused ReLU's output; the gradient is dy where y_relu > 0, else 0.
inline void direct_backward(const float* x, const float* w, const float* y_relu, const float* dy, float* dx, float* dw, float* db, int64_t N,
                            const Conv1dDims& d) {
  thread_local std::vector<float> wpk;
  const float* wpT = nullptr;
  const bool wino = dx && direct::winograd_ok(d.K, d.cout, d.cin);  // dx = conv of padded dz: reduction over cout
  if (dx) {
    if (wino) {
      wpT = grow(wpk, direct::wino_packed_size(d.cin, d.cout));
      direct::wino_pack(w, d.cout, d.cin, true, wpk.data());
    } else {
      wpT = grow(wpk, direct::packed_size(d.cout, d.cin, d.K, true));
      direct::pack(w, d.cout, d.cin, d.K, true, wpk.data());
    }
  }
  // Short rows (the deep layers, weight gradients summed over sample groups): dz and x copies get zero
  // tails up to a multiple of 8 positions, so the weight-gradient loop has no scalar remainder (the
  // padded dz lanes are 0 and meet finite x values or zeros; only an Inf activation, which already
  // makes the step non-finite, could turn such a 0 into NaN).
  const bool short_rows = dw && d.lout < direct::kWgSegment / 2;
  const int64_t lv = short_rows ? (d.lout + 7) / 8 * 8 : d.lout;
  const int64_t q = d.K - 1 - d.pad;
  const int64_t lz = std::max(d.lout + 2 * q, q + lv);  // >= L + K - 1: dx is a "valid" conv of padded dz
  const int64_t wsize = d.cout * d.cin * d.K, psize = wsize + (db ? d.cout : 0);
  const int64_t nchunks = std::min<int64_t>(N, kReduceChunks), cblocks = (d.cin + direct::kMR - 1) / direct::kMR;
  thread_local std::vector<float> partial;
  partial.assign(size_t(nchunks * psize), 0.f);
  float* pbase = partial.data();
  const int64_t group = std::max(dw ? direct::weight_grad_group(d.lout) : 1, wino ? wino_group(d.L) : 1);
  const bool copy_x = dw && (d.pad || short_rows);
  const int64_t lxp = std::max(d.L + 2 * d.pad, lv + d.K - 1);
  parallel_chunks(N, nchunks, [&](int64_t c, int64_t n0, int64_t n1) {
    thread_local std::vector<float> dzbuf, xpad, wscratch;
    float* pw = pbase + c * psize;
    const int64_t gmax = std::min(group, n1 - n0);
    float* wsc = wino ? grow(wscratch, direct::wino_scratch_size(gmax, d.cout, d.cin, d.L)) : nullptr;
    float* dzg = grow(dzbuf, gmax * d.cout * lz);
    float* xpg = copy_x ? grow(xpad, gmax * d.cin * lxp) : nullptr;
    const float* dzp[64];
    const float* xp[64];
    for (int64_t g0 = n0; g0 < n1; g0 += gmax) {
      const int64_t G = std::min(gmax, n1 - g0);
      for (int64_t g = 0; g < G; ++g) {
        const int64_t n = g0 + g;
        float* dz = dzg + g * d.cout * lz;
        const float* dyn = dy + n * d.cout * d.lout;
        const float* yn = y_relu ? y_relu + n * d.cout * d.lout : nullptr;
        for (int64_t o = 0; o < d.cout; ++o) {
          float* r = dz + o * lz;
          const float* gr = dyn + o * d.lout;
          std::fill(r, r + q, 0.f);
          std::fill(r + q + d.lout, r + lz, 0.f);
          float* m = r + q;
          if (yn) {  // both loads unconditional: a conditional one becomes a (slow) masked load
            const float* yr = yn + o * d.lout;
            for (int64_t l = 0; l < d.lout; ++l) { const float gv = gr[l], yv = yr[l]; m[l] = yv > 0.f ? gv : 0.f; }
          }
          else std::copy(gr, gr + d.lout, m);
          if (db) {  // eight running sums (vectorisable, fixed order), then combined
            float s8[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            const int64_t l8 = d.lout / 8 * 8;
            for (int64_t l = 0; l < l8; l += 8)
              for (int i = 0; i < 8; ++i) s8[i] += m[l + i];
            float s = ((s8[0] + s8[4]) + (s8[1] + s8[5])) + ((s8[2] + s8[6]) + (s8[3] + s8[7]));
            for (int64_t l = l8; l < d.lout; ++l) s += m[l];
            pw[wsize + o] += s;
          }
        }
        dzp[g] = dz + q;
        const float* xn = x + n * d.cin * d.L;
        if (copy_x) {
          float* p = xpg + g * d.cin * lxp;
          pad_rows(xn, d.cin, d.L, d.pad, lxp, p);
          xn = p;
        }
        xp[g] = xn;
      }
      if (dw) direct::weight_grad(dzp, lz, xp, copy_x ? lxp : d.L, G, d.cout, d.cin, d.K, lv, pw);
      if (dx && wino) direct::wino_forward({dzg, lz, d.cout * lz, G, d.cout, wpT, nullptr, dx + g0 * d.cin * d.L, d.cin * d.L, d.cin, d.L, false, wsc});
      else if (dx)
        for (int64_t g = 0; g < G; ++g)
          direct::forward(dzg + g * d.cout * lz, lz, d.cout, d.K, wpT, nullptr, dx + (g0 + g) * d.cin * d.L, d.cin, d.L, false, 0, cblocks);
    }
  });
  for (int64_t c = 0; c < nchunks; ++c) {
    const float* p = pbase + c * psize;
    if (dw) for (int64_t i = 0; i < wsize; ++i) dw[i] += p[i];
    if (db) for (int64_t o = 0; o < d.cout; ++o) db[o] += p[wsize + o];
  }
}
#endif
}  // namespace conv_detail

template <class T>
void conv1d_forward(const T* x, const T* w, const T* b, T* y, int64_t N, const Conv1dDims& d, bool relu = false) {
#if GALML_X86_DISPATCH
  if constexpr (std::is_same_v<T, float>)
    if (conv_detail::use_direct(d)) { conv_detail::direct_forward(x, w, b, y, N, d, relu); return; }
#endif
  conv1d_forward_eigen(x, w, b, y, N, d);
  if (relu) {
    const int64_t n = N * d.cout * d.lout;
    parallel_for(n, [&](int64_t i0, int64_t i1) { for (int64_t i = i0; i < i1; ++i) y[i] = y[i] < T(0) ? T(0) : y[i]; }, 1 << 14);
  }
}

// dx (nullable) overwritten; dw, db (nullable) accumulated. y_relu: see the top of this file.
template <class T>
void conv1d_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t N, const Conv1dDims& d, const T* y_relu = nullptr) {
#if GALML_X86_DISPATCH
  if constexpr (std::is_same_v<T, float>)
    if (conv_detail::use_direct(d)) { conv_detail::direct_backward(x, w, y_relu, dy, dx, dw, db, N, d); return; }
#endif
  if (!y_relu) { conv1d_backward_eigen(x, w, dy, dx, dw, db, N, d); return; }
  std::vector<T> g(size_t(N * d.cout * d.lout));
  parallel_for(int64_t(g.size()), [&](int64_t i0, int64_t i1) { for (int64_t i = i0; i < i1; ++i) g[size_t(i)] = y_relu[i] > T(0) ? dy[i] : T(0); }, 1 << 14);
  conv1d_backward_eigen(x, w, g.data(), dx, dw, db, N, d);
}

}  // namespace galml::cpu_kernels

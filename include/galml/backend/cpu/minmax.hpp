#pragma once
// CPU "min/max" ops that the existing op set lacks, kept apart so that backend/cpu/ops.hpp (whose
// signatures a CUDA backend mirrors) is unchanged:
//
//   maxpool1d_padded_forward   max pooling with implicit -inf padding (MaxPool1D<K, S, Pad>,
//                              MaxPool1DSame<K, S>). Its argmax holds indices into the UNPADDED row,
//                              so the backward pass is the existing maxpool1d_backward.
//   minmax_normalize_forward / _backward   per-row (x - min) / (max - min) (MinMaxNormalize).
//
// The CUDA overloads are in backend/cuda/norm.cuh (same scans, same bits).
#include <cmath>
#include <cstdint>

#include "galml/core/backend.hpp"
#include "galml/core/parallel.hpp"

namespace galml::backend_ops {

// Window l covers padded positions [l*S, l*S + K), i.e. unpadded [l*S - pad_left, l*S - pad_left + K).
// Out-of-range positions are -inf, so they are simply skipped: the max is taken over the in-range
// part (never empty for PyTorch's pad <= K/2 or TensorFlow's "same" split; the layers assert this).
// Ties and NaN follow maxpool1d_forward (and PyTorch): the first maximum wins, a NaN wins.
template <class T>
void maxpool1d_padded_forward(cpu, const T* x, T* y, int32_t* arg, int64_t rows, int64_t L, int64_t K, int64_t S, int64_t pad_left,
                              int64_t lout) {
  parallel_for(rows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * L; T* yr = y + r * lout; int32_t* ar = arg + r * lout;
      for (int64_t l = 0; l < lout; ++l) {
        const int64_t s = l * S - pad_left;
        const int64_t b = s < 0 ? 0 : s, e = s + K < L ? s + K : L;
        int64_t best = b; T m = xr[b];
        for (int64_t i = b + 1; i < e; ++i) { const T v = xr[i]; if (v > m || std::isnan(v)) { m = v; best = i; } }
        yr[l] = m; ar[l] = int32_t(best);
      }
    }
  }, 64);
}

// Per row of D values: y = (x - min) / (max - min). argext[2r] / argext[2r + 1] receive the indices
// of the first minimum / first maximum (needed by backward). A row with max == min (range exactly 0)
// has no scale: y = 0 there, and backward gives it zero gradient. NaN is not special-cased: it is
// skipped by the comparisons unless it is the first element, and shows up in the output either way.
template <class T>
void minmax_normalize_forward(cpu, const T* x, T* y, int32_t* argext, int64_t rows, int64_t D) {
  parallel_for(rows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * D; T* yr = y + r * D;
      int64_t imin = 0, imax = 0;
      for (int64_t i = 1; i < D; ++i) {  // strict comparisons: ties keep the first occurrence
        if (xr[i] < xr[imin]) imin = i;
        if (xr[i] > xr[imax]) imax = i;
      }
      argext[2 * r] = int32_t(imin); argext[2 * r + 1] = int32_t(imax);
      const double lo = double(xr[imin]), range = double(xr[imax]) - lo;
      if (range == 0.0) { for (int64_t i = 0; i < D; ++i) yr[i] = T(0); continue; }
      const double inv = 1.0 / range;
      for (int64_t i = 0; i < D; ++i) yr[i] = T((double(xr[i]) - lo) * inv);
    }
  }, 16);
}

// With r = max - min and y_i = (x_i - min) / r:
//   dy_i/dx_i = 1/r (direct),  dy_i/dmin = (y_i - 1)/r,  dy_i/dmax = -y_i/r, so
//   dx = dy / r,  dx[argmin] += sum_i dy_i (y_i - 1) / r,  dx[argmax] -= sum_i dy_i y_i / r.
// (For i = argmin the direct and min terms cancel, as they must: y_argmin is identically 0.)
// Only the recorded min/max elements receive the extremum terms (first occurrence on ties: the
// one-sided derivative that moving that element gives). Range 0: dx = 0 (y was the constant 0).
template <class T>
void minmax_normalize_backward(cpu, const T* x, const T* y, const int32_t* argext, const T* dy, T* dx, int64_t rows, int64_t D) {
  parallel_for(rows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * D; const T* yr = y + r * D; const T* gr = dy + r * D; T* dxr = dx + r * D;
      const int64_t imin = argext[2 * r], imax = argext[2 * r + 1];
      const double range = double(xr[imax]) - double(xr[imin]);
      if (range == 0.0) { for (int64_t i = 0; i < D; ++i) dxr[i] = T(0); continue; }
      const double inv = 1.0 / range;
      double sg = 0, sgy = 0;  // sum dy, sum dy*y (in double: D can be ~1e3-1e4)
      for (int64_t i = 0; i < D; ++i) { sg += double(gr[i]); sgy += double(gr[i]) * double(yr[i]); }
      for (int64_t i = 0; i < D; ++i) dxr[i] = T(double(gr[i]) * inv);
      dxr[imin] = T(double(dxr[imin]) + (sgy - sg) * inv);
      dxr[imax] = T(double(dxr[imax]) - sgy * inv);
    }
  }, 16);
}

}  // namespace galml::backend_ops

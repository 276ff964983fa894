#pragma once
// CPU ops for Softmax / LogSoftmax over the last axis of x [rows, D]. Numerically stable: the row
// maximum is subtracted before exponentiating, and log-softmax is x - max - log(sum exp(x - max)).
#include <cmath>
#include <cstdint>

#include "galml/core/backend.hpp"
#include "galml/core/parallel.hpp"

namespace galml::backend_ops {

template <class T> void softmax_forward(cpu, const T* x, T* y, int64_t rows, int64_t D, bool log) {
  parallel_for(rows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * D; T* yr = y + r * D;
      T m = xr[0];
      for (int64_t i = 1; i < D; ++i) m = xr[i] > m ? xr[i] : m;
      T s = 0;
      for (int64_t i = 0; i < D; ++i) s += std::exp(xr[i] - m);
      if (log) { const T ls = std::log(s); for (int64_t i = 0; i < D; ++i) yr[i] = xr[i] - m - ls; }
      else { const T inv = T(1) / s; for (int64_t i = 0; i < D; ++i) yr[i] = std::exp(xr[i] - m) * inv; }
    }
  }, 64);
}
// From the saved output y:  softmax:     dx = y * (dy - sum(dy * y))
//                           log-softmax: dx = dy - exp(y) * sum(dy)
template <class T> void softmax_backward(cpu, const T* y, const T* dy, T* dx, int64_t rows, int64_t D, bool log) {
  parallel_for(rows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* yr = y + r * D; const T* gr = dy + r * D; T* dr = dx + r * D;
      T s = 0;
      if (log) { for (int64_t i = 0; i < D; ++i) s += gr[i]; for (int64_t i = 0; i < D; ++i) dr[i] = gr[i] - std::exp(yr[i]) * s; }
      else { for (int64_t i = 0; i < D; ++i) s += gr[i] * yr[i]; for (int64_t i = 0; i < D; ++i) dr[i] = yr[i] * (gr[i] - s); }
    }
  }, 64);
}

}  // namespace galml::backend_ops

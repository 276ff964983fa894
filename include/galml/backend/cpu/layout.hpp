#pragma once
// CPU ops that only move data: per-sample 2-D transpose (Transpose) and the block copies behind
// Concat, plus an elementwise sum (Residual, Concat's gradient).
#include <algorithm>
#include <cstdint>

#include "galml/core/backend.hpp"
#include "galml/core/parallel.hpp"

namespace galml::backend_ops {

// y[n, b, a] = x[n, a, b] for x [N, A, B]. Its own backward with A and B swapped.
template <class T> void transpose2d(cpu, const T* x, T* y, int64_t N, int64_t A, int64_t B) {
  parallel_for(N, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const T* xs = x + n * A * B; T* ys = y + n * A * B;
      for (int64_t a = 0; a < A; ++a) for (int64_t b = 0; b < B; ++b) ys[b * A + a] = xs[a * B + b];
    }
  }, 4);
}

// Concatenation along one axis, viewing each sample as [pre, len, post]:
// concat_put copies src [N, pre, len, post] into dst [N, pre, total, post] at axis offset `off`;
// concat_get copies it back out (the gradient of concat_put).
template <class T> void concat_put(cpu, const T* src, T* dst, int64_t N, int64_t pre, int64_t len, int64_t post, int64_t total, int64_t off) {
  const int64_t blk = len * post;
  parallel_for(N * pre, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) std::copy(src + r * blk, src + (r + 1) * blk, dst + r * total * post + off * post);
  }, 64);
}
template <class T> void concat_get(cpu, const T* src, T* dst, int64_t N, int64_t pre, int64_t len, int64_t post, int64_t total, int64_t off) {
  const int64_t blk = len * post;
  parallel_for(N * pre, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) { const T* s = src + r * total * post + off * post; std::copy(s, s + blk, dst + r * blk); }
  }, 64);
}

// z = x + y elementwise (z may alias x or y).
template <class T> void add(cpu, const T* x, const T* y, T* z, int64_t n) {
  parallel_for(n, [&](int64_t b, int64_t e) { for (int64_t i = b; i < e; ++i) z[i] = x[i] + y[i]; }, 1 << 14);
}

}  // namespace galml::backend_ops

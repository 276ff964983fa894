#pragma once
// Deterministic parallel accumulation: the batch is cut into a fixed number of chunks that does not
// depend on the thread count; each chunk writes its own partial sum and the partials are added in
// chunk order. Same input => same bits, with 1 thread or 64.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "galml/core/parallel.hpp"

namespace galml::cpu_kernels {

inline constexpr int64_t kReduceChunks = 16;

// fn(n_begin, n_end, T* partial) accumulates into a zeroed partial of `size` elements;
// the sum of all partials is added to out[0..size).
template <class T, class F>
void chunked_accumulate(int64_t N, int64_t size, T* out, F&& fn) {
  if (N <= 0 || size <= 0) return;
  const int64_t nchunks = std::min<int64_t>(N, kReduceChunks);
  thread_local std::vector<T> partial;
  partial.assign(size_t(nchunks * size), T(0));
  T* base = partial.data();
  parallel_chunks(N, nchunks, [&](int64_t c, int64_t b, int64_t e) { fn(b, e, base + c * size); });
  for (int64_t c = 0; c < nchunks; ++c) {
    const T* p = base + c * size;
    for (int64_t i = 0; i < size; ++i) out[i] += p[i];
  }
}

}  // namespace galml::cpu_kernels

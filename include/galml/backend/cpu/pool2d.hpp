#pragma once
// CPU ops for 2-D pooling over planes x [planes, H, W] (planes = N*C). Split over planes only, each
// output written by one thread, so results do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "galml/backend/cpu/ops.hpp"  // maxpool1d_backward
#include "galml/core/backend.hpp"
#include "galml/core/parallel.hpp"

namespace galml::backend_ops {

// Max pool, floor mode, no padding. arg = flat index h*W + w of the maximum inside its plane (first
// maximum in row-major window order wins and NaN propagates, as in PyTorch's CPU kernel and
// maxpool1d_forward). Backward is the 1-D
// maxpool1d_backward with L = H*W, lout = Ho*Wo (the indices are plane-relative either way).
template <class T> void maxpool2d_forward(cpu, const T* x, T* y, int32_t* arg, int64_t planes, int64_t H, int64_t W, int64_t K, int64_t S,
                                          int64_t ho, int64_t wo) {
  parallel_for(planes, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xp = x + r * H * W; T* yp = y + r * ho * wo; int32_t* ap = arg + r * ho * wo;
      for (int64_t oh = 0; oh < ho; ++oh)
        for (int64_t ow = 0; ow < wo; ++ow) {
          int64_t best = oh * S * W + ow * S; T m = xp[best];
          for (int64_t kh = 0; kh < K; ++kh)
            for (int64_t kw = 0; kw < K; ++kw) {
              const int64_t i = (oh * S + kh) * W + ow * S + kw;
              const T v = xp[i];
              if (v > m || std::isnan(v)) { m = v; best = i; }
            }
          yp[oh * wo + ow] = m; ap[oh * wo + ow] = int32_t(best);
        }
    }
  }, 16);
}

// Backward of maxpool2d_forward: arg holds plane-relative indices, so the 1-D scatter over planes of
// H*W (outputs added in order) is exactly right on the CPU. The CUDA op gathers per input pixel instead.
template <class T> void maxpool2d_backward(cpu, const T* dy, const int32_t* arg, T* dx, int64_t planes, int64_t H, int64_t W, int64_t, int64_t,
                                           int64_t ho, int64_t wo) {
  maxpool1d_backward(cpu{}, dy, arg, dx, planes, H * W, ho * wo);
}

// Average pooling with explicit separable bins: bins = [hstart(ho), hend(ho), wstart(wo), wend(wo)],
// output (i, j) = mean of x over rows [hstart_i, hend_i) x cols [wstart_j, wend_j). Covers fixed
// kernel/stride pools (no padding, so the divisor is the window area K*K as in PyTorch) and the
// adaptive rule start = floor(i*H/O), end = ceil((i+1)*H/O) (overlapping bins when O does not divide H).
template <class T> void binpool2d_forward(cpu, const T* x, T* y, const int32_t* bins, int64_t planes, int64_t H, int64_t W, int64_t ho, int64_t wo) {
  const int32_t *hs = bins, *he = bins + ho, *ws = bins + 2 * ho, *we = bins + 2 * ho + wo;
  parallel_for(planes, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xp = x + r * H * W;
      for (int64_t i = 0; i < ho; ++i)
        for (int64_t j = 0; j < wo; ++j) {
          T s = 0;
          for (int64_t h = hs[i]; h < he[i]; ++h) for (int64_t w = ws[j]; w < we[j]; ++w) s += xp[h * W + w];
          y[(r * ho + i) * wo + j] = s / T(int64_t(he[i] - hs[i]) * int64_t(we[j] - ws[j]));
        }
    }
  }, 16);
}
template <class T> void binpool2d_backward(cpu, const T* dy, T* dx, const int32_t* bins, int64_t planes, int64_t H, int64_t W, int64_t ho, int64_t wo) {
  const int32_t *hs = bins, *he = bins + ho, *ws = bins + 2 * ho, *we = bins + 2 * ho + wo;
  parallel_for(planes, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      T* dp = dx + r * H * W; std::fill(dp, dp + H * W, T(0));
      for (int64_t i = 0; i < ho; ++i)
        for (int64_t j = 0; j < wo; ++j) {
          const T g = dy[(r * ho + i) * wo + j] / T(int64_t(he[i] - hs[i]) * int64_t(we[j] - ws[j]));
          for (int64_t h = hs[i]; h < he[i]; ++h) for (int64_t w = ws[j]; w < we[j]; ++w) dp[h * W + w] += g;
        }
    }
  }, 16);
}

}  // namespace galml::backend_ops

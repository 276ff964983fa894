#pragma once
// CPU ops for the normalisation layers (BatchNorm1D, LayerNorm). Kept out of ops.hpp so the
// convolution/GEMM work there and these kernels evolve independently.
//
// Reductions run serially per channel (BatchNorm) or per row (LayerNorm) with the parallel split
// over channels/rows only, so results are bit-identical on any thread count.
#include <cmath>
#include <cstdint>

#include "galml/core/backend.hpp"
#include "galml/core/parallel.hpp"

namespace galml::backend_ops {

// ---- BatchNorm over x [N, C, L] (L = 1 for feature vectors); statistics per channel over N*L ----

// mean[c] and biased variance var[c] of the batch (two passes: no catastrophic cancellation).
template <class T> void batchnorm_stats(cpu, const T* x, T* mean, T* var, int64_t N, int64_t C, int64_t L) {
  parallel_for(C, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      double s = 0;
      for (int64_t n = 0; n < N; ++n) for (int64_t l = 0; l < L; ++l) s += double(x[(n * C + c) * L + l]);
      const double m = s / double(N * L);
      double v = 0;
      for (int64_t n = 0; n < N; ++n) for (int64_t l = 0; l < L; ++l) { const double d = double(x[(n * C + c) * L + l]) - m; v += d * d; }
      mean[c] = T(m); var[c] = T(v / double(N * L));
    }
  }, 8);
}
// PyTorch running-statistics rule: r = (1 - momentum) r + momentum * batch, with the UNBIASED batch
// variance (count / (count - 1)) for the running variance.
template <class T> void batchnorm_update_running(cpu, T* rmean, T* rvar, const T* mean, const T* var, int64_t C, int64_t count, double momentum) {
  const double unbias = count > 1 ? double(count) / double(count - 1) : 1.0;
  for (int64_t c = 0; c < C; ++c) {
    rmean[c] = T((1.0 - momentum) * double(rmean[c]) + momentum * double(mean[c]));
    rvar[c] = T((1.0 - momentum) * double(rvar[c]) + momentum * double(var[c]) * unbias);
  }
}
// invstd[c] = 1 / sqrt(var[c] + eps)
template <class T> void batchnorm_invstd(cpu, const T* var, T* invstd, int64_t C, double eps) {
  for (int64_t c = 0; c < C; ++c) invstd[c] = T(1.0 / std::sqrt(double(var[c]) + eps));
}
// y = (x - mean) * invstd * gamma + beta   (gamma/beta may be nullptr: no affine transform)
template <class T> void batchnorm_forward(cpu, const T* x, const T* mean, const T* invstd, const T* gamma, const T* beta, T* y,
                                          int64_t N, int64_t C, int64_t L) {
  parallel_for(N * C, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t c = r % C;
      const T a = invstd[c] * (gamma ? gamma[c] : T(1));
      const T b = (beta ? beta[c] : T(0)) - mean[c] * a;
      for (int64_t l = 0; l < L; ++l) y[r * L + l] = x[r * L + l] * a + b;
    }
  }, 64);
}
// Backward. batch_stats: mean/invstd came from this batch, so they depend on x:
//   dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat))
// otherwise (running statistics, eval/mc) they are constants: dx = gamma * invstd * dy.
// dgamma += sum dy * xhat, dbeta += sum dy (accumulate, like every parameter gradient).
template <class T> void batchnorm_backward(cpu, const T* x, const T* dy, const T* mean, const T* invstd, const T* gamma, T* dx, T* dgamma,
                                           T* dbeta, int64_t N, int64_t C, int64_t L, bool batch_stats) {
  parallel_for(C, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const double m = double(mean[c]), is = double(invstd[c]);
      double sdy = 0, sdyx = 0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t l = 0; l < L; ++l) {
          const int64_t i = (n * C + c) * L + l;
          sdy += double(dy[i]); sdyx += double(dy[i]) * (double(x[i]) - m) * is;
        }
      if (dgamma) dgamma[c] += T(sdyx);
      if (dbeta) dbeta[c] += T(sdy);
      if (!dx) continue;
      const double g = gamma ? double(gamma[c]) : 1.0, cnt = double(N * L);
      const double mdy = batch_stats ? sdy / cnt : 0.0, mdyx = batch_stats ? sdyx / cnt : 0.0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t l = 0; l < L; ++l) {
          const int64_t i = (n * C + c) * L + l;
          const double xh = (double(x[i]) - m) * is;
          dx[i] = T(g * is * (double(dy[i]) - mdy - xh * mdyx));
        }
    }
  }, 8);
}

// ---- LayerNorm over the last axis of x [rows, D] ----
// Saves mean and rstd per row for backward. gamma/beta may be nullptr (no affine).
template <class T> void layernorm_forward(cpu, const T* x, const T* gamma, const T* beta, T* y, T* mean, T* rstd, int64_t rows, int64_t D,
                                          double eps) {
  parallel_for(rows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * D;
      double s = 0; for (int64_t i = 0; i < D; ++i) s += double(xr[i]);
      const double m = s / double(D);
      double v = 0; for (int64_t i = 0; i < D; ++i) { const double d = double(xr[i]) - m; v += d * d; }
      const double is = 1.0 / std::sqrt(v / double(D) + eps);  // biased variance, as PyTorch
      mean[r] = T(m); rstd[r] = T(is);
      for (int64_t i = 0; i < D; ++i) {
        const double xh = (double(xr[i]) - m) * is;
        y[r * D + i] = T(xh * (gamma ? double(gamma[i]) : 1.0) + (beta ? double(beta[i]) : 0.0));
      }
    }
  }, 16);
}
// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * gamma;
// dgamma[i] += sum_r dy * xhat, dbeta[i] += sum_r dy (column reductions, serial per column).
template <class T> void layernorm_backward(cpu, const T* x, const T* dy, const T* mean, const T* rstd, const T* gamma, T* dx, T* dgamma,
                                           T* dbeta, int64_t rows, int64_t D) {
  if (dx) parallel_for(rows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const double m = double(mean[r]), is = double(rstd[r]);
      double sg = 0, sgx = 0;
      for (int64_t i = 0; i < D; ++i) {
        const double g = double(dy[r * D + i]) * (gamma ? double(gamma[i]) : 1.0);
        sg += g; sgx += g * (double(x[r * D + i]) - m) * is;
      }
      sg /= double(D); sgx /= double(D);
      for (int64_t i = 0; i < D; ++i) {
        const double g = double(dy[r * D + i]) * (gamma ? double(gamma[i]) : 1.0);
        const double xh = (double(x[r * D + i]) - m) * is;
        dx[r * D + i] = T(is * (g - sg - xh * sgx));
      }
    }
  }, 16);
  if (dgamma || dbeta) parallel_for(D, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      double sg = 0, sb = 0;
      for (int64_t r = 0; r < rows; ++r) {
        const double d = double(dy[r * D + i]);
        sb += d; sg += d * (double(x[r * D + i]) - double(mean[r])) * double(rstd[r]);
      }
      if (dgamma) dgamma[i] += T(sg);
      if (dbeta) dbeta[i] += T(sb);
    }
  }, 16);
}

}  // namespace galml::backend_ops

#pragma once
// CPU ops for the attention layers (layers/attention.hpp, gated_attention.hpp, transformer.hpp).
//
// Projected queries/keys/values are read in place from the projection GEMM outputs: per sample,
// Q is [Tq, ld_q] with head h at columns [h*dk, (h+1)*dk), and the same for K, V and the output O.
// This lets MultiHeadSelfAttention compute one fused [N*T, 3D] in-projection and hand the three
// column blocks to the kernel without any head split/merge copies.
//
// Work is split over (sample, head) pairs: every pair writes disjoint rows/columns of O, dQ, dK and
// dV, so results are bit-identical on any thread count. Parameter gradients are left to the
// projection ops (dense_backward / linear_kio_backward), which use fixed-chunk reductions.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "galml/backend/cpu/gemm.hpp"
#include "galml/backend/cpu/ops.hpp"
#include "galml/backend/cpu/reduce.hpp"
#include "galml/core/backend.hpp"
#include "galml/core/parallel.hpp"

namespace galml::backend_ops {

// How attention scores become weights: softmax over keys (standard), or an elementwise sigmoid
// (the σ(QKᵀ)V reading of the stellar network's gated attention, spec §4.2).
enum class AttnKind { softmax, sigmoid };

struct AttnDims {
  int64_t Tq, Tk, H, dk, dv;   // query/key tokens, heads, per-head key and value widths
  int64_t ldq, ldk, ldv, ldo;  // row strides (elements) of Q, K, V, O inside one sample
  double scale;                // multiplies QKᵀ (1/sqrt(dk))
};

namespace detail_attn {
template <class T> using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T> using CStrided = Eigen::Map<const RowMat<T>, 0, Eigen::OuterStride<>>;
template <class T> using Strided = Eigen::Map<RowMat<T>, 0, Eigen::OuterStride<>>;
template <class T> using CTight = Eigen::Map<const RowMat<T>>;
template <class T> using Tight = Eigen::Map<RowMat<T>>;
}  // namespace detail_attn

// O = weights(scale * Q Kᵀ) V per (sample, head). P [N, H, Tq, Tk] receives the weights before
// dropout (kept for backward); with drop_p > 0 the weights are dropped out with the counter-based
// mask of ops.hpp (element index = position in P), saved in mask [N, H, Tq, Tk].
template <class T>
void attention_forward(cpu, const T* q, const T* k, const T* v, T* o, T* P, uint8_t* mask, int64_t N, const AttnDims& d, AttnKind kind,
                       double drop_p, uint64_t seed, uint64_t layer, uint64_t step) {
  using namespace detail_attn;
  const int64_t pairs = N * d.H, psz = d.Tq * d.Tk;
  const T dscale = T(1.0 / (1.0 - drop_p));
  const uint32_t thresh = uint32_t(std::min(4294967295.0, drop_p * 4294967296.0));
  parallel_for(pairs, [&](int64_t p0, int64_t p1) {
    std::vector<T> dropped(drop_p > 0 ? size_t(psz) : 0);
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t n = p / d.H, h = p % d.H;
      CStrided<T> Q(q + n * d.Tq * d.ldq + h * d.dk, d.Tq, d.dk, Eigen::OuterStride<>(d.ldq));
      CStrided<T> K(k + n * d.Tk * d.ldk + h * d.dk, d.Tk, d.dk, Eigen::OuterStride<>(d.ldk));
      CStrided<T> V(v + n * d.Tk * d.ldv + h * d.dv, d.Tk, d.dv, Eigen::OuterStride<>(d.ldv));
      Strided<T> O(o + n * d.Tq * d.ldo + h * d.dv, d.Tq, d.dv, Eigen::OuterStride<>(d.ldo));
      T* Pp = P + p * psz;
      Tight<T> S(Pp, d.Tq, d.Tk);
      S.noalias() = (Q * K.transpose()) * T(d.scale);
      for (int64_t i = 0; i < d.Tq; ++i) {
        T* r = Pp + i * d.Tk;
        if (kind == AttnKind::softmax) {  // stable: subtract the row maximum first
          T m = r[0];
          for (int64_t j = 1; j < d.Tk; ++j) m = r[j] > m ? r[j] : m;
          T s = 0;
          for (int64_t j = 0; j < d.Tk; ++j) { r[j] = std::exp(r[j] - m); s += r[j]; }
          const T inv = T(1) / s;
          for (int64_t j = 0; j < d.Tk; ++j) r[j] *= inv;
        } else {
          for (int64_t j = 0; j < d.Tk; ++j) r[j] = T(1) / (T(1) + std::exp(-r[j]));
        }
      }
      if (drop_p > 0) {
        uint8_t* mp = mask + p * psz;
        for (int64_t i = 0; i < psz; ++i) {
          const bool keep = dropout_bits(seed, layer, step, uint64_t(p * psz + i)) >= thresh;
          mp[i] = keep; dropped[size_t(i)] = keep ? Pp[i] * dscale : T(0);
        }
        O.noalias() = CTight<T>(dropped.data(), d.Tq, d.Tk) * V;
      } else {
        O.noalias() = CTight<T>(Pp, d.Tq, d.Tk) * V;
      }
    }
  }, 1);
}

// Gradients of attention_forward: dQ, dK, dV (overwritten, same strides as Q, K, V; any may be
// nullptr only together with the others being computed into scratch by the caller).
//   dPd = dO Vᵀ, dV = Pdᵀ dO, dP = dropout⁻¹(dPd),
//   softmax: dS = P ⊙ (dP − rowsum(dP ⊙ P));  sigmoid: dS = dP ⊙ P ⊙ (1 − P),
//   dQ = scale dS K, dK = scale dSᵀ Q.
template <class T>
void attention_backward(cpu, const T* q, const T* k, const T* v, const T* P, const uint8_t* mask, const T* dout, T* dq, T* dk, T* dv,
                        int64_t N, const AttnDims& d, AttnKind kind, double drop_p) {
  using namespace detail_attn;
  const int64_t pairs = N * d.H, psz = d.Tq * d.Tk;
  const T dscale = T(1.0 / (1.0 - drop_p));
  parallel_for(pairs, [&](int64_t p0, int64_t p1) {
    std::vector<T> dS(static_cast<size_t>(psz)), pd(drop_p > 0 ? static_cast<size_t>(psz) : 0);
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t n = p / d.H, h = p % d.H;
      CStrided<T> Q(q + n * d.Tq * d.ldq + h * d.dk, d.Tq, d.dk, Eigen::OuterStride<>(d.ldq));
      CStrided<T> K(k + n * d.Tk * d.ldk + h * d.dk, d.Tk, d.dk, Eigen::OuterStride<>(d.ldk));
      CStrided<T> V(v + n * d.Tk * d.ldv + h * d.dv, d.Tk, d.dv, Eigen::OuterStride<>(d.ldv));
      CStrided<T> dO(dout + n * d.Tq * d.ldo + h * d.dv, d.Tq, d.dv, Eigen::OuterStride<>(d.ldo));
      Strided<T> dQ(dq + n * d.Tq * d.ldq + h * d.dk, d.Tq, d.dk, Eigen::OuterStride<>(d.ldq));
      Strided<T> dK(dk + n * d.Tk * d.ldk + h * d.dk, d.Tk, d.dk, Eigen::OuterStride<>(d.ldk));
      Strided<T> dV(dv + n * d.Tk * d.ldv + h * d.dv, d.Tk, d.dv, Eigen::OuterStride<>(d.ldv));
      const T* Pp = P + p * psz;
      Tight<T> G(dS.data(), d.Tq, d.Tk);
      G.noalias() = dO * V.transpose();  // gradient w.r.t. the (dropped) weights
      if (drop_p > 0) {
        const uint8_t* mp = mask + p * psz;
        for (int64_t i = 0; i < psz; ++i) { pd[size_t(i)] = mp[i] ? Pp[i] * dscale : T(0); dS[size_t(i)] = mp[i] ? dS[size_t(i)] * dscale : T(0); }
        dV.noalias() = CTight<T>(pd.data(), d.Tq, d.Tk).transpose() * dO;
      } else {
        dV.noalias() = CTight<T>(Pp, d.Tq, d.Tk).transpose() * dO;
      }
      for (int64_t i = 0; i < d.Tq; ++i) {
        T* g = dS.data() + i * d.Tk;
        const T* pr = Pp + i * d.Tk;
        if (kind == AttnKind::softmax) {
          T s = 0;
          for (int64_t j = 0; j < d.Tk; ++j) s += g[j] * pr[j];
          for (int64_t j = 0; j < d.Tk; ++j) g[j] = pr[j] * (g[j] - s) * T(d.scale);
        } else {
          for (int64_t j = 0; j < d.Tk; ++j) g[j] = g[j] * pr[j] * (T(1) - pr[j]) * T(d.scale);
        }
      }
      dQ.noalias() = G * K;
      dK.noalias() = G.transpose() * Q;
    }
  }, 1);
}

// Elementwise gated attention (spec §4.2, Hadamard reading): Y = σ(Q ⊙ K) ⊙ V on rows x width
// blocks with row strides ld (Q, K, V read from one fused projection). Per-head splitting does not
// change an elementwise op, so heads do not appear here.
template <class T>
void hadamard_gate_forward(cpu, const T* q, const T* k, const T* v, int64_t ld_in, T* y, int64_t ld_y, int64_t rows, int64_t width) {
  parallel_for(rows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t i = 0; i < width; ++i) {
        const T g = T(1) / (T(1) + std::exp(-q[r * ld_in + i] * k[r * ld_in + i]));
        y[r * ld_y + i] = g * v[r * ld_in + i];
      }
  }, 16);
}
// dQ = dY ⊙ V ⊙ g(1−g) ⊙ K, dK likewise with Q, dV = dY ⊙ g (outputs share the input strides).
template <class T>
void hadamard_gate_backward(cpu, const T* q, const T* k, const T* v, int64_t ld_in, const T* dy, int64_t ld_y, T* dq, T* dk, T* dv,
                            int64_t rows, int64_t width) {
  parallel_for(rows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t i = 0; i < width; ++i) {
        const int64_t a = r * ld_in + i;
        const T g = T(1) / (T(1) + std::exp(-q[a] * k[a]));
        const T gy = dy[r * ld_y + i];
        const T ds = gy * v[a] * g * (T(1) - g);
        dq[a] = ds * k[a]; dk[a] = ds * q[a]; dv[a] = gy * g;
      }
  }, 16);
}

// Linear map with a Keras-layout kernel W [in, out] (y = x W + b), used by the Keras attention
// projections (EinsumDense kernels [D, H, K] and [H, V, D] are this matrix with split axes).
template <class T>
void linear_kio_forward(cpu, const T* x, const T* w, const T* b, T* y, int64_t rows, int64_t in, int64_t out) {
  parallel_for(rows, [&](int64_t r0, int64_t r1) {
    cpu_kernels::gemm<T>(false, false, r1 - r0, out, in, x + r0 * in, w, y + r0 * out, false);
    if (b) for (int64_t r = r0; r < r1; ++r) for (int64_t o = 0; o < out; ++o) y[r * out + o] += b[o];
  }, 16);
}
// dx = dy Wᵀ (overwritten, may be nullptr); dW += xᵀ dy, db += colsum(dy) in fixed chunks.
template <class T>
void linear_kio_backward(cpu, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t rows, int64_t in, int64_t out) {
  if (dx) parallel_for(rows, [&](int64_t r0, int64_t r1) {
    cpu_kernels::gemm<T>(false, true, r1 - r0, in, out, dy + r0 * out, w, dx + r0 * in, false);
  }, 16);
  if (dw || db) {
    const int64_t wsize = dw ? in * out : 0;
    std::vector<T> acc(size_t(wsize + (db ? out : 0)), T(0));
    cpu_kernels::chunked_accumulate<T>(rows, int64_t(acc.size()), acc.data(), [&](int64_t r0, int64_t r1, T* part) {
      if (dw) cpu_kernels::gemm<T>(true, false, in, out, r1 - r0, x + r0 * in, dy + r0 * out, part, true);
      if (db) for (int64_t r = r0; r < r1; ++r) for (int64_t o = 0; o < out; ++o) part[wsize + o] += dy[r * out + o];
    });
    if (dw) for (int64_t i = 0; i < wsize; ++i) dw[i] += acc[size_t(i)];
    if (db) for (int64_t o = 0; o < out; ++o) db[o] += acc[size_t(wsize + o)];
  }
}

// ---- Row L2 normalisation (F.normalize(x, dim=-1, eps)): y = x / max(‖x‖, eps); norm saved ----
template <class T>
void l2normalize_forward(cpu, const T* x, T* y, T* norm, int64_t rows, int64_t D, double eps) {
  parallel_for(rows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      double s = 0;
      for (int64_t i = 0; i < D; ++i) s += double(x[r * D + i]) * double(x[r * D + i]);
      const double nr = std::sqrt(s);
      norm[r] = T(nr);
      const double inv = 1.0 / std::max(nr, eps);
      for (int64_t i = 0; i < D; ++i) y[r * D + i] = T(double(x[r * D + i]) * inv);
    }
  }, 16);
}
// Above eps: dx = (dy − y (y·dy)) / ‖x‖. At or below eps the denominator is the constant eps
// (clamp_min has zero gradient there, as in PyTorch): dx = dy / eps.
template <class T>
void l2normalize_backward(cpu, const T* y, const T* norm, const T* dy, T* dx, int64_t rows, int64_t D, double eps) {
  parallel_for(rows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const double nr = double(norm[r]);
      if (nr <= eps) { for (int64_t i = 0; i < D; ++i) dx[r * D + i] = T(double(dy[r * D + i]) / eps); continue; }
      double s = 0;
      for (int64_t i = 0; i < D; ++i) s += double(y[r * D + i]) * double(dy[r * D + i]);
      for (int64_t i = 0; i < D; ++i) dx[r * D + i] = T((double(dy[r * D + i]) - double(y[r * D + i]) * s) / nr);
    }
  }, 16);
}

// ---- Cosine head scale: y = s[0] * c; backward dc = s[0] * dy, ds[0] += Σ dy * c (serial: deterministic) ----
template <class T>
void scaled_logits_forward(cpu, const T* c, const T* s, T* y, int64_t n) { for (int64_t i = 0; i < n; ++i) y[i] = s[0] * c[i]; }
template <class T>
void scaled_logits_backward(cpu, const T* c, const T* s, const T* dy, T* dc, T* ds, int64_t n) {
  double acc = 0;
  for (int64_t i = 0; i < n; ++i) { dc[i] = s[0] * dy[i]; acc += double(dy[i]) * double(c[i]); }
  ds[0] += T(acc);
}

// ---- Token helpers ----
// Sum over the batch of x [N, size] into out[size] (+=), fixed chunks (learned CLS / positions).
template <class T>
void batch_sum_accumulate(cpu, const T* x, T* out, int64_t N, int64_t size) {
  cpu_kernels::chunked_accumulate<T>(N, size, out, [&](int64_t n0, int64_t n1, T* part) {
    for (int64_t n = n0; n < n1; ++n) for (int64_t i = 0; i < size; ++i) part[i] += x[n * size + i];
  });
}
// y[n, i] = x[n, i] + b[i] (broadcast over the batch)
template <class T>
void add_broadcast(cpu, const T* x, const T* b, T* y, int64_t N, int64_t size) {
  parallel_for(N, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) for (int64_t i = 0; i < size; ++i) y[n * size + i] = x[n * size + i] + b[i];
  }, 4);
}

// Patches of a strided (stride = kernel) 1-D convolution: x [N, C, L] -> patches [N*Tn, C*P] with
// patch[t][c*P + k] = x[c][t*P + k] (the tail L - Tn*P is ignored, as Conv1d's floor rule).
template <class T>
void patchify1d(cpu, const T* x, T* patches, int64_t N, int64_t C, int64_t L, int64_t P, int64_t Tn) {
  parallel_for(N, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t t = 0; t < Tn; ++t)
        for (int64_t c = 0; c < C; ++c)
          std::copy(x + (n * C + c) * L + t * P, x + (n * C + c) * L + (t + 1) * P, patches + ((n * Tn + t) * C + c) * P);
  }, 4);
}
// Inverse scatter for the input gradient (dx overwritten; the ignored tail gets zero).
template <class T>
void unpatchify1d(cpu, const T* dpatches, T* dx, int64_t N, int64_t C, int64_t L, int64_t P, int64_t Tn) {
  parallel_for(N, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t c = 0; c < C; ++c) {
        T* row = dx + (n * C + c) * L;
        for (int64_t t = 0; t < Tn; ++t) std::copy(dpatches + ((n * Tn + t) * C + c) * P, dpatches + ((n * Tn + t) * C + c + 1) * P, row + t * P);
        std::fill(row + Tn * P, row + L, T(0));
      }
  }, 4);
}
// y [N, T+1, D] = [cls; x[n]] ; backward: dx = dy[:, 1:], dcls += Σ_n dy[n, 0] (fixed chunks).
template <class T>
void cls_prepend_forward(cpu, const T* x, const T* cls, T* y, int64_t N, int64_t Tn, int64_t D) {
  parallel_for(N, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      std::copy(cls, cls + D, y + n * (Tn + 1) * D);
      std::copy(x + n * Tn * D, x + (n + 1) * Tn * D, y + n * (Tn + 1) * D + D);
    }
  }, 4);
}
template <class T>
void cls_prepend_backward(cpu, const T* dy, T* dx, T* dcls, int64_t N, int64_t Tn, int64_t D) {
  if (dx) parallel_for(N, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) std::copy(dy + n * (Tn + 1) * D + D, dy + (n + 1) * (Tn + 1) * D, dx + n * Tn * D);
  }, 4);
  if (dcls) cpu_kernels::chunked_accumulate<T>(N, D, dcls, [&](int64_t n0, int64_t n1, T* part) {
    for (int64_t n = n0; n < n1; ++n) for (int64_t i = 0; i < D; ++i) part[i] += dy[n * (Tn + 1) * D + i];
  });
}
// Token pooling [N, T, D] -> [N, D]: the first (CLS) token, or the mean over tokens.
template <class T>
void token_pool_forward(cpu, const T* x, T* y, int64_t N, int64_t Tn, int64_t D, bool mean) {
  parallel_for(N, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const T* xs = x + n * Tn * D;
      T* yr = y + n * D;
      if (!mean) { std::copy(xs, xs + D, yr); continue; }
      std::fill(yr, yr + D, T(0));
      for (int64_t t = 0; t < Tn; ++t) for (int64_t i = 0; i < D; ++i) yr[i] += xs[t * D + i];
      for (int64_t i = 0; i < D; ++i) yr[i] /= T(Tn);
    }
  }, 4);
}
template <class T>
void token_pool_backward(cpu, const T* dy, T* dx, int64_t N, int64_t Tn, int64_t D, bool mean) {
  parallel_for(N, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      T* dxs = dx + n * Tn * D;
      const T* g = dy + n * D;
      if (!mean) { std::copy(g, g + D, dxs); std::fill(dxs + D, dxs + Tn * D, T(0)); continue; }
      for (int64_t t = 0; t < Tn; ++t) for (int64_t i = 0; i < D; ++i) dxs[t * D + i] = g[i] / T(Tn);
    }
  }, 4);
}

}  // namespace galml::backend_ops

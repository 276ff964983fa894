#pragma once
// Token layers for transformer encoders over Shape<T, D> sequences (stellar network, spec §4.2):
//
//   PatchEmbed1D<Dim, Patch>  Shape<C, L> -> Shape<L/Patch, Dim>: torch.nn.Conv1d(C, Dim, Patch,
//                             stride=Patch) followed by a transpose to tokens (floor rule: a tail
//                             shorter than Patch is dropped). Parameters weight [Dim, C, Patch],
//                             bias [Dim] (Conv1d layout and init). Computed as one GEMM on patches.
//   ClsToken<Dim>             Shape<T, Dim> -> Shape<T+1, Dim>: prepends a learned token
//                             (cls_token [1, 1, Dim], init N(0, 0.02²) as in ViT/timm).
//   PositionalEmbedding       Shape<T, D> -> same: adds a learned table (pos_embedding [1, T, D],
//                             init N(0, 0.02²)).
//   TokenPool<TokenPooling::cls | mean>  Shape<T, D> -> Shape<D>: the first (CLS) token or the mean.
#include <string>

#include "galml/backend/cpu/attention.hpp"
#include "galml/backend/cpu/ops.hpp"
#include "galml/graph/layer.hpp"

namespace galml {

// Shown in errors: ClsToken<Dim> needs a (tokens, Dim) sequence.
template <int Dim> struct expects_tokens_of_width {};

template <int Dim, int Patch>
struct PatchEmbed1D {
  static_assert(Dim > 0 && Patch > 0, "PatchEmbed1D: Dim and Patch must be positive");
  static std::string name() { return "PatchEmbed1D(" + std::to_string(Dim) + ", patch=" + std::to_string(Patch) + ")"; }
  template <class In> static constexpr bool accepts = In::rank == 2 && In::dims[1] >= Patch;
  template <class In> using expects = expects_rank_and_min_length<2, Patch>;
  template <class In> using output = Shape<In::dims[1] / Patch, Dim>;
  template <class In> static constexpr int64_t num_params = int64_t(Dim) * In::dims[0] * Patch + Dim;

  template <class In, class T, class B>
  struct impl : LayerImplBase<T, B> {
    using in_shape = In;
    using out_shape = output<In>;
    static constexpr int64_t C = In::dims[0], L = In::dims[1], Tn = L / Patch, K = C * Patch, wsize = int64_t(Dim) * K;
    // One input channel and no tail: the input already is the [N*Tn, Patch] patch matrix.
    static constexpr bool direct = C == 1 && Tn * Patch == L;
    Tensor<T, B> patches, dpatches;
    static void init(T* p, Rng& rng, Init how) {
      init_weight(p, wsize, K, int64_t(Dim) * Patch, how, rng);
      init_bias(p + wsize, Dim, K, how, rng);
    }
    const T* patch_ptr(const T* x) const { return direct ? x : (const T*)patches.data(); }
    void forward(const T* x, T* y, int64_t N, Context&) {
      if (!direct) { patches.ensure({N * Tn, K}); patchify1d(B{}, x, patches.data(), N, C, L, int64_t(Patch), Tn); }
      dense_forward(B{}, patch_ptr(x), (const T*)this->params, (const T*)this->params + wsize, y, N * Tn, K, int64_t(Dim));
    }
    void backward(const T* x, const T*, const T* dy, T* dx, int64_t N, Context&) {
      T* dp = dx && !direct ? (dpatches.ensure({N * Tn, K}), dpatches.data()) : dx;
      dense_backward(B{}, patch_ptr(x), (const T*)this->params, dy, dp, this->grads, this->grads + wsize, N * Tn, K, int64_t(Dim));
      if (dx && !direct) unpatchify1d(B{}, (const T*)dpatches.data(), dx, N, C, L, int64_t(Patch), Tn);
    }
    template <class V> void visit(V& v) {
      v.param("weight", this->params, this->grads, {Dim, C, Patch});
      v.param("bias", this->params + wsize, this->grads + wsize, {Dim});
    }
  };
};

template <int Dim>
struct ClsToken {
  static_assert(Dim > 0, "ClsToken: Dim must be positive");
  static std::string name() { return "ClsToken(" + std::to_string(Dim) + ")"; }
  template <class In> static constexpr bool accepts = In::rank == 2 && In::dims[1] == Dim;
  template <class In> using expects = expects_tokens_of_width<Dim>;
  template <class In> using output = Shape<In::dims[0] + 1, Dim>;
  template <class In> static constexpr int64_t num_params = Dim;

  template <class In, class T, class B>
  struct impl : LayerImplBase<T, B> {
    using in_shape = In;
    using out_shape = output<In>;
    static constexpr int64_t Tn = In::dims[0];
    static void init(T* p, Rng& rng, Init) { for (int64_t i = 0; i < Dim; ++i) p[i] = T(0.02 * rng.normal()); }
    void forward(const T* x, T* y, int64_t N, Context&) { cls_prepend_forward(B{}, x, (const T*)this->params, y, N, Tn, int64_t(Dim)); }
    void backward(const T*, const T*, const T* dy, T* dx, int64_t N, Context&) { cls_prepend_backward(B{}, dy, dx, this->grads, N, Tn, int64_t(Dim)); }
    template <class V> void visit(V& v) { v.param("cls_token", this->params, this->grads, {1, 1, Dim}); }
  };
};

struct PositionalEmbedding {
  static std::string name() { return "PositionalEmbedding"; }
  template <class In> static constexpr bool accepts = In::rank == 2;
  template <class In> using expects = expects_rank<2>;
  template <class In> using output = In;
  template <class In> static constexpr int64_t num_params = In::size;

  template <class In, class T, class B>
  struct impl : LayerImplBase<T, B> {
    using in_shape = In;
    using out_shape = In;
    static constexpr int64_t S = In::size;
    static void init(T* p, Rng& rng, Init) { for (int64_t i = 0; i < S; ++i) p[i] = T(0.02 * rng.normal()); }
    void forward(const T* x, T* y, int64_t N, Context&) { add_broadcast(B{}, x, (const T*)this->params, y, N, S); }
    void backward(const T*, const T*, const T* dy, T* dx, int64_t N, Context&) {
      if (dx) copy(B{}, dy, dx, N * S);
      batch_sum_accumulate(B{}, dy, this->grads, N, S);
    }
    template <class V> void visit(V& v) { v.param("pos_embedding", this->params, this->grads, {1, In::dims[0], In::dims[1]}); }
  };
};

enum class TokenPooling { cls, mean };

template <TokenPooling Mode = TokenPooling::cls>
struct TokenPool {
  static std::string name() { return Mode == TokenPooling::cls ? "TokenPool(cls)" : "TokenPool(mean)"; }
  template <class In> static constexpr bool accepts = In::rank == 2;
  template <class In> using expects = expects_rank<2>;
  template <class In> using output = Shape<In::dims[1]>;
  template <class In> static constexpr int64_t num_params = 0;

  template <class In, class T, class B>
  struct impl : LayerImplBase<T, B> {
    using in_shape = In;
    using out_shape = output<In>;
    static constexpr int64_t Tn = In::dims[0], D = In::dims[1];
    static constexpr bool mean = Mode == TokenPooling::mean;
    static void init(T*, Rng&, Init) {}
    void forward(const T* x, T* y, int64_t N, Context&) { token_pool_forward(B{}, x, y, N, Tn, D, mean); }
    void backward(const T*, const T*, const T* dy, T* dx, int64_t N, Context&) { if (dx) token_pool_backward(B{}, dy, dx, N, Tn, D, mean); }
  };
};

}  // namespace galml

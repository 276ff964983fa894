#pragma once
// Multi-head attention over token sequences Shape<T, D> (T tokens of D features).
//
// MultiHeadSelfAttention<Heads, Dropout = 0.0>
//   torch.nn.MultiheadAttention(D, Heads, dropout, batch_first=True) called as attn(x, x, x)[0]:
//   d_model D is split over the heads (head dim D/Heads), scores QKᵀ/sqrt(D/Heads), softmax over
//   keys, attention-weight dropout (train/MC modes only), output projection.
//   Parameters (PyTorch names/layout): in_proj_weight [3D, D] (rows: Wq, Wk, Wv), in_proj_bias [3D],
//   out_proj.weight [D, D], out_proj.bias [D]. PyTorch init: Xavier-uniform in_proj, zero biases,
//   out_proj.weight U(±1/sqrt(D)).
//
// KerasMultiHeadAttention<Heads, KeyDim, ValueDim = KeyDim, Dropout = 0.0>
//   keras.layers.MultiHeadAttention(num_heads, key_dim, value_dim) with per-head widths independent
//   of the model width (MMLforGalAM M4: 8 heads x 1024). Two uses:
//    * a JOIN for Inputs<>: query from branch 0 (Shape<Tq, Dq>), key = value from branch 1
//      (Shape<Tv, Dv>); output Shape<Tq, Dq> (Keras' default output_shape = query width);
//    * a plain layer (self-attention, query = key = value = x).
//   Parameters (Keras names with '/' -> '.', Keras layout, i.e. y = x·kernel + bias):
//     query.kernel [Dq, H, KeyDim], query.bias [H, KeyDim], key.kernel [Dv, H, KeyDim],
//     key.bias [H, KeyDim], value.kernel [Dv, H, ValueDim], value.bias [H, ValueDim],
//     attention_output.kernel [H, ValueDim, Dq], attention_output.bias [Dq].
//   Scores use 1/sqrt(KeyDim). Init::glorot_uniform reproduces Keras' fan rule for these 3-D kernels
//   (fan_in = prod(shape[:-1]), fan_out = prod(shape[:-2]) * shape[-1]) with zero biases.
#include <array>
#include <cmath>
#include <string>

#include "galml/backend/cpu/attention.hpp"
#include "galml/backend/cpu/layout.hpp"
#include "galml/backend/cpu/ops.hpp"
#include "galml/graph/layer.hpp"

namespace galml {

template <int Heads, double Dropout = 0.0>
struct MultiHeadSelfAttention {
  static_assert(Heads > 0, "MultiHeadSelfAttention: Heads must be positive");
  static_assert(Dropout >= 0.0 && Dropout < 1.0, "MultiHeadSelfAttention: dropout must be in [0, 1)");
  static std::string name() { return "MultiHeadSelfAttention(heads=" + std::to_string(Heads) + ")"; }
  template <class In> static constexpr bool accepts = In::rank == 2 && In::dims[1] % Heads == 0;
  template <class In> using expects = expects_rank<2>;  // (tokens, d_model), d_model divisible by Heads
  template <class In> using output = In;
  template <class In> static constexpr int64_t num_params = 4 * int64_t(In::dims[1]) * In::dims[1] + 4 * int64_t(In::dims[1]);

  template <class In, class T, class B>
  struct impl : LayerImplBase<T, B> {
    using in_shape = In;
    using out_shape = In;
    static constexpr int64_t Tn = In::dims[0], D = In::dims[1], dh = D / Heads;
    // Offsets inside the parameter slice, in PyTorch's named_parameters() order.
    static constexpr int64_t o_inw = 0, o_inb = 3 * D * D, o_outw = o_inb + 3 * D, o_outb = o_outw + D * D;
    Tensor<T, B> qkv, att, probs, dqkv, datt;
    Tensor<uint8_t, B> mask;
    bool dropped = false;

    static void init(T* p, Rng& rng, Init how) {
      if (how == Init::pytorch) {
        init_uniform(p + o_inw, 3 * D * D, std::sqrt(6.0 / double(D + 3 * D)), rng);  // xavier_uniform_ on [3D, D]
        init_uniform(p + o_outw, D * D, 1.0 / std::sqrt(double(D)), rng);
      } else {
        init_uniform(p + o_inw, 3 * D * D, std::sqrt(6.0 / double(2 * D)), rng);  // per-projection Glorot
        init_uniform(p + o_outw, D * D, std::sqrt(6.0 / double(2 * D)), rng);
      }
      for (int64_t i = 0; i < 3 * D; ++i) p[o_inb + i] = T(0);
      for (int64_t i = 0; i < D; ++i) p[o_outb + i] = T(0);
    }
    static backend_ops::AttnDims dims() { return {Tn, Tn, Heads, dh, dh, 3 * D, 3 * D, 3 * D, D, 1.0 / std::sqrt(double(dh))}; }

    void forward(const T* x, T* y, int64_t N, Context& ctx) {
      const T* P = this->params;
      qkv.ensure({N * Tn, 3 * D}); att.ensure({N * Tn, D}); probs.ensure({N * Heads, Tn, Tn});
      dense_forward(B{}, x, P + o_inw, P + o_inb, qkv.data(), N * Tn, D, 3 * D);  // one fused GEMM for Q, K, V
      dropped = Dropout > 0.0 && ctx.sample_dropout();
      if (dropped) mask.ensure({N * Heads * Tn * Tn});
      const T* q = qkv.data();
      attention_forward(B{}, q, q + D, q + 2 * D, att.data(), probs.data(), dropped ? mask.data() : (uint8_t*)nullptr, N, dims(),
                        backend_ops::AttnKind::softmax, dropped ? Dropout : 0.0, ctx.seed, this->layer_id, ctx.step);
      dense_forward(B{}, (const T*)att.data(), P + o_outw, P + o_outb, y, N * Tn, D, D);
    }
    void backward(const T* x, const T*, const T* dy, T* dx, int64_t N, Context&) {
      const T* P = this->params;
      T* G = this->grads;
      datt.ensure({N * Tn, D}); dqkv.ensure({N * Tn, 3 * D});
      dense_backward(B{}, (const T*)att.data(), P + o_outw, dy, datt.data(), G + o_outw, G + o_outb, N * Tn, D, D);
      const T* q = qkv.data();
      T* dq = dqkv.data();
      attention_backward(B{}, q, q + D, q + 2 * D, (const T*)probs.data(), (const uint8_t*)mask.data(), (const T*)datt.data(), dq, dq + D,
                         dq + 2 * D, N, dims(), backend_ops::AttnKind::softmax, dropped ? Dropout : 0.0);
      dense_backward(B{}, x, P + o_inw, (const T*)dqkv.data(), dx, G + o_inw, G + o_inb, N * Tn, D, 3 * D);
    }
    template <class V> void visit(V& v) {
      v.param("in_proj_weight", this->params + o_inw, this->grads + o_inw, {3 * D, D});
      v.param("in_proj_bias", this->params + o_inb, this->grads + o_inb, {3 * D});
      visit_enter(v, "out_proj");
      v.param("weight", this->params + o_outw, this->grads + o_outw, {D, D});
      v.param("bias", this->params + o_outb, this->grads + o_outb, {D});
      visit_leave(v);
    }
  };
};

namespace detail {
// Keras attention core on a query sequence Qs = Shape<Tq, Dq> and a key/value sequence Vs = Shape<Tv, Dv>.
template <int H, int KD, int VD, double Drop, class Qs, class Vs, class T, class B>
struct keras_mha_core : LayerImplBase<T, B> {
  static constexpr int64_t Tq = Qs::dims[0], Dq = Qs::dims[1], Tv = Vs::dims[0], Dv = Vs::dims[1];
  static constexpr int64_t HK = int64_t(H) * KD, HV = int64_t(H) * VD;
  static constexpr int64_t o_qk = 0, o_qb = Dq * HK, o_kk = o_qb + HK, o_kb = o_kk + Dv * HK, o_vk = o_kb + HK, o_vb = o_vk + Dv * HV,
                           o_ok = o_vb + HV, o_ob = o_ok + HV * Dq, total = o_ob + Dq;
  Tensor<T, B> q, k, v, att, probs, dq, dk, dv, datt;
  Tensor<uint8_t, B> mask;
  bool dropped = false;

  static void init(T* p, Rng& rng, Init how) {
    // Keras fan rule for an N-D kernel: receptive field = prod(shape[:-2]).
    auto kernel = [&](int64_t off, int64_t a, int64_t b, int64_t c) {
      if (how == Init::glorot_uniform) init_uniform(p + off, a * b * c, std::sqrt(6.0 / double(a * b + a * c)), rng);
      else init_uniform(p + off, a * b * c, 1.0 / std::sqrt(double(off == o_ok ? HV : a)), rng);  // U(±1/sqrt(fan_in))
    };
    kernel(o_qk, Dq, H, KD);
    kernel(o_kk, Dv, H, KD);
    kernel(o_vk, Dv, H, VD);
    kernel(o_ok, H, VD, Dq);
    for (int64_t i : {o_qb, o_kb, o_vb}) for (int64_t j = 0; j < (i == o_vb ? HV : HK); ++j) p[i + j] = T(0);
    for (int64_t j = 0; j < Dq; ++j) p[o_ob + j] = T(0);
  }
  static backend_ops::AttnDims dims() { return {Tq, Tv, H, KD, VD, HK, HK, HV, HV, 1.0 / std::sqrt(double(KD))}; }

  void forward(const T* xq, const T* xv, T* y, int64_t N, Context& ctx) {
    const T* P = this->params;
    q.ensure({N * Tq, HK}); k.ensure({N * Tv, HK}); v.ensure({N * Tv, HV}); att.ensure({N * Tq, HV}); probs.ensure({N * H, Tq, Tv});
    linear_kio_forward(B{}, xq, P + o_qk, P + o_qb, q.data(), N * Tq, Dq, HK);
    linear_kio_forward(B{}, xv, P + o_kk, P + o_kb, k.data(), N * Tv, Dv, HK);
    linear_kio_forward(B{}, xv, P + o_vk, P + o_vb, v.data(), N * Tv, Dv, HV);
    dropped = Drop > 0.0 && ctx.sample_dropout();
    if (dropped) mask.ensure({N * H * Tq * Tv});
    attention_forward(B{}, (const T*)q.data(), (const T*)k.data(), (const T*)v.data(), att.data(), probs.data(),
                      dropped ? mask.data() : (uint8_t*)nullptr, N, dims(), backend_ops::AttnKind::softmax, dropped ? Drop : 0.0, ctx.seed,
                      this->layer_id, ctx.step);
    linear_kio_forward(B{}, (const T*)att.data(), P + o_ok, P + o_ob, y, N * Tq, HV, Dq);
  }
  // dxq / dxv overwritten (either may be nullptr). For self-attention the caller adds them.
  void backward(const T* xq, const T* xv, const T* dy, T* dxq, T* dxv, int64_t N, T* scratch) {
    const T* P = this->params;
    T* G = this->grads;
    datt.ensure({N * Tq, HV}); dq.ensure({N * Tq, HK}); dk.ensure({N * Tv, HK}); dv.ensure({N * Tv, HV});
    linear_kio_backward(B{}, (const T*)att.data(), P + o_ok, dy, datt.data(), G + o_ok, G + o_ob, N * Tq, HV, Dq);
    attention_backward(B{}, (const T*)q.data(), (const T*)k.data(), (const T*)v.data(), (const T*)probs.data(), (const uint8_t*)mask.data(),
                       (const T*)datt.data(), dq.data(), dk.data(), dv.data(), N, dims(), backend_ops::AttnKind::softmax, dropped ? Drop : 0.0);
    linear_kio_backward(B{}, xq, P + o_qk, (const T*)dq.data(), dxq, G + o_qk, G + o_qb, N * Tq, Dq, HK);
    // key and value both read xv: dxv = dK·Wkᵀ + dV·Wvᵀ
    linear_kio_backward(B{}, xv, P + o_kk, (const T*)dk.data(), dxv, G + o_kk, G + o_kb, N * Tv, Dv, HK);
    linear_kio_backward(B{}, xv, P + o_vk, (const T*)dv.data(), dxv ? scratch : (T*)nullptr, G + o_vk, G + o_vb, N * Tv, Dv, HV);
    if (dxv) add_inplace(B{}, dxv, (const T*)scratch, N * Tv * Dv);
  }
  template <class V> void visit(V& vis) {
    auto one = [&](const char* n, int64_t ko, std::vector<int64_t> ks, int64_t bo, std::vector<int64_t> bs) {
      visit_enter(vis, n);
      vis.param("kernel", this->params + ko, this->grads + ko, std::move(ks));
      vis.param("bias", this->params + bo, this->grads + bo, std::move(bs));
      visit_leave(vis);
    };
    one("query", o_qk, {Dq, H, KD}, o_qb, {H, KD});
    one("key", o_kk, {Dv, H, KD}, o_kb, {H, KD});
    one("value", o_vk, {Dv, H, VD}, o_vb, {H, VD});
    one("attention_output", o_ok, {H, VD, Dq}, o_ob, {Dq});
  }
};
}  // namespace detail

template <int Heads, int KeyDim, int ValueDim = KeyDim, double Dropout = 0.0>
struct KerasMultiHeadAttention {
  static_assert(Heads > 0 && KeyDim > 0 && ValueDim > 0, "KerasMultiHeadAttention: heads and per-head dims must be positive");
  static_assert(Dropout >= 0.0 && Dropout < 1.0, "KerasMultiHeadAttention: dropout must be in [0, 1)");
  static std::string name() {
    return "KerasMultiHeadAttention(heads=" + std::to_string(Heads) + ", key_dim=" + std::to_string(KeyDim) + ", value_dim=" + std::to_string(ValueDim) + ")";
  }
  template <class Q, class V> static constexpr int64_t count() {
    const int64_t Dq = Q::dims[1], Dv = V::dims[1], HK = int64_t(Heads) * KeyDim, HV = int64_t(Heads) * ValueDim;
    return Dq * HK + HK + Dv * HK + HK + Dv * HV + HV + HV * Dq + Dq;
  }
  // One shape: self-attention layer. Two shapes: join (query branch, key/value branch).
  template <class... Ins> static constexpr bool accepts_impl() {
    if constexpr (sizeof...(Ins) == 1) return ((Ins::rank == 2) && ...);
    else if constexpr (sizeof...(Ins) == 2) return ((Ins::rank == 2) && ...);
    else return false;
  }
  template <class... Ins> static constexpr bool accepts = accepts_impl<Ins...>();
  template <class... Ins> using expects = expects_rank<2>;
  template <class First, class... Rest> using output = First;
  template <class F, class... R> struct kv_of { using type = F; };             // self-attention: K/V = query
  template <class F, class S> struct kv_of<F, S> { using type = S; };        // join: K/V from branch 1
  template <class First, class... Rest> static constexpr int64_t num_params = count<First, typename kv_of<First, Rest...>::type>();

  template <class Q, class V, class T, class B>
  using core = detail::keras_mha_core<Heads, KeyDim, ValueDim, Dropout, Q, V, T, B>;

  // Self-attention (layer contract).
  template <class In, class T, class B>
  struct self_impl : core<In, In, T, B> {
    using in_shape = In;
    using out_shape = In;
    Tensor<T, B> dtmp, scratch;
    void forward(const T* x, T* y, int64_t N, Context& ctx) { core<In, In, T, B>::forward(x, x, y, N, ctx); }
    void backward(const T* x, const T*, const T* dy, T* dx, int64_t N, Context&) {
      if (dx) { dtmp.ensure({N, int64_t(In::size)}); scratch.ensure({N, int64_t(In::size)}); }
      core<In, In, T, B>::backward(x, x, dy, dx, dx ? dtmp.data() : (T*)nullptr, N, scratch.data());
      if (dx) add_inplace(B{}, dx, (const T*)dtmp.data(), N * int64_t(In::size));
    }
  };
  // Join (Inputs<> contract): xs[0] query, xs[1] key/value.
  template <class T, class B, class Q, class V>
  struct join_impl : core<Q, V, T, B> {
    using out_shape = Q;
    Tensor<T, B> scratch;
    void forward(const std::array<const T*, 2>& xs, T* y, int64_t N, Context& ctx) { core<Q, V, T, B>::forward(xs[0], xs[1], y, N, ctx); }
    void backward(const std::array<const T*, 2>& xs, const T*, const T* dy, const std::array<T*, 2>& dxs, int64_t N, Context&) {
      if (dxs[1]) scratch.ensure({N, int64_t(V::size)});
      core<Q, V, T, B>::backward(xs[0], xs[1], dy, dxs[0], dxs[1], N, scratch.data());
    }
  };
  template <class A0, class A1, class A2, class... Rest> struct pick_impl { using type = join_impl<A0, A1, A2, Rest...>; };
  template <int... D, class T, class B> struct pick_impl<Shape<D...>, T, B> { using type = self_impl<Shape<D...>, T, B>; };
  // impl<In, T, B> for the layer form, impl<T, B, Q, V> for the join form.
  template <class... A> using impl = typename pick_impl<A...>::type;
};

}  // namespace galml

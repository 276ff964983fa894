#pragma once
// HadamardGatedAttention<Heads, Variant = GatedVariant::hadamard> over Shape<T, D> (stellar network
// Models 4 and 7, spec §4.2). Q, K, V come from one fused projection as in MultiHeadSelfAttention
// (same parameters and names: in_proj_weight [3D, D], in_proj_bias [3D], out_proj.weight [D, D],
// out_proj.bias [D]); per head h (width D/Heads):
//   hadamard   (default, the spec's element-wise reading):  Y_h = σ(Q_h ⊙ K_h) ⊙ V_h
//              O(T·D), mixes no information between tokens; splitting into heads does not change an
//              element-wise op, so Heads only has to divide D.
//   sigmoid_qk (the literal alternative):  Y_h = σ(Q_h K_hᵀ / sqrt(D/Heads)) V_h, a sigmoid instead of
//              the softmax of scaled dot-product attention (the 1/sqrt(d_h) scale kept, as in the
//              attention it replaces), O(T²·D).
// then the heads are concatenated and projected by out_proj.
#include <cmath>
#include <string>

#include "galml/backend/cpu/attention.hpp"
#include "galml/backend/cpu/ops.hpp"
#include "galml/graph/layer.hpp"

namespace galml {

enum class GatedVariant { hadamard, sigmoid_qk };

template <int Heads, GatedVariant Variant = GatedVariant::hadamard>
struct HadamardGatedAttention {
  static_assert(Heads > 0, "HadamardGatedAttention: Heads must be positive");
  static std::string name() {
    return std::string("HadamardGatedAttention(heads=") + std::to_string(Heads) + (Variant == GatedVariant::hadamard ? ")" : ", sigmoid_qk)");
  }
  template <class In> static constexpr bool accepts = In::rank == 2 && In::dims[1] % Heads == 0;
  template <class In> using expects = expects_rank<2>;
  template <class In> using output = In;
  template <class In> static constexpr int64_t num_params = 4 * int64_t(In::dims[1]) * In::dims[1] + 4 * int64_t(In::dims[1]);

  template <class In, class T, class B>
  struct impl : LayerImplBase<T, B> {
    using in_shape = In;
    using out_shape = In;
    static constexpr int64_t Tn = In::dims[0], D = In::dims[1], dh = D / Heads;
    static constexpr int64_t o_inw = 0, o_inb = 3 * D * D, o_outw = o_inb + 3 * D, o_outb = o_outw + D * D;
    Tensor<T, B> qkv, att, probs, dqkv, datt;

    static void init(T* p, Rng& rng, Init how) {
      // Same initialisation as MultiHeadSelfAttention (PyTorch: Xavier in_proj, zero biases).
      init_uniform(p + o_inw, 3 * D * D, std::sqrt(6.0 / double(how == Init::pytorch ? 4 * D : 2 * D)), rng);
      init_uniform(p + o_outw, D * D, how == Init::pytorch ? 1.0 / std::sqrt(double(D)) : std::sqrt(6.0 / double(2 * D)), rng);
      for (int64_t i = 0; i < 3 * D; ++i) p[o_inb + i] = T(0);
      for (int64_t i = 0; i < D; ++i) p[o_outb + i] = T(0);
    }
    static backend_ops::AttnDims dims() { return {Tn, Tn, Heads, dh, dh, 3 * D, 3 * D, 3 * D, D, 1.0 / std::sqrt(double(dh))}; }

    void forward(const T* x, T* y, int64_t N, Context& ctx) {
      const T* P = this->params;
      qkv.ensure({N * Tn, 3 * D}); att.ensure({N * Tn, D});
      dense_forward(B{}, x, P + o_inw, P + o_inb, qkv.data(), N * Tn, D, 3 * D);
      const T* q = qkv.data();
      if constexpr (Variant == GatedVariant::hadamard) {
        hadamard_gate_forward(B{}, q, q + D, q + 2 * D, 3 * D, att.data(), D, N * Tn, D);
      } else {
        probs.ensure({N * Heads, Tn, Tn});
        attention_forward(B{}, q, q + D, q + 2 * D, att.data(), probs.data(), (uint8_t*)nullptr, N, dims(), backend_ops::AttnKind::sigmoid, 0.0,
                          ctx.seed, this->layer_id, ctx.step);
      }
      dense_forward(B{}, (const T*)att.data(), P + o_outw, P + o_outb, y, N * Tn, D, D);
    }
    void backward(const T* x, const T*, const T* dy, T* dx, int64_t N, Context&) {
      const T* P = this->params;
      T* G = this->grads;
      datt.ensure({N * Tn, D}); dqkv.ensure({N * Tn, 3 * D});
      dense_backward(B{}, (const T*)att.data(), P + o_outw, dy, datt.data(), G + o_outw, G + o_outb, N * Tn, D, D);
      const T* q = qkv.data();
      T* dq = dqkv.data();
      if constexpr (Variant == GatedVariant::hadamard) {
        hadamard_gate_backward(B{}, q, q + D, q + 2 * D, 3 * D, (const T*)datt.data(), D, dq, dq + D, dq + 2 * D, N * Tn, D);
      } else {
        attention_backward(B{}, q, q + D, q + 2 * D, (const T*)probs.data(), (const uint8_t*)nullptr, (const T*)datt.data(), dq, dq + D, dq + 2 * D,
                           N, dims(), backend_ops::AttnKind::sigmoid, 0.0);
      }
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

}  // namespace galml

#pragma once
// TransformerEncoderLayer<Heads, FF, Dropout = 0.1, PreNorm = true, Activation = GELU> over
// Shape<T, D>: torch.nn.TransformerEncoderLayer(D, Heads, FF, Dropout, activation, batch_first=True,
// norm_first=PreNorm), layer_norm_eps 1e-5.
//   PreNorm (norm_first=True):   x = x + drop1(MHA(LN1(x)));  y = x + drop2(W2 drop(act(W1 LN2(x))))
//   post-norm (norm_first=False): x = LN1(x + drop1(MHA(x))); y = LN2(x + drop2(W2 drop(act(W1 x))))
// MHA is MultiHeadSelfAttention<Heads, Dropout> (attention-weight dropout, as PyTorch's
// self_attn dropout). Parameters in PyTorch's named_parameters() order and names:
//   self_attn.{in_proj_weight, in_proj_bias, out_proj.weight, out_proj.bias}, linear1.{weight, bias},
//   linear2.{weight, bias}, norm1.{weight, bias}, norm2.{weight, bias}.
// Built from the existing layer impls (per-token Dense = Dense on N*T rows).
#include <string>

#include "galml/backend/cpu/layout.hpp"
#include "galml/backend/cpu/ops.hpp"
#include "galml/graph/layer.hpp"
#include "galml/layers/activation.hpp"
#include "galml/layers/attention.hpp"
#include "galml/layers/dense.hpp"
#include "galml/layers/dropout.hpp"
#include "galml/layers/layernorm.hpp"

namespace galml {

template <int Heads, int FF, double Dropout = 0.1, bool PreNorm = true, class Activation = GELU>
struct TransformerEncoderLayer {
  static_assert(FF > 0, "TransformerEncoderLayer: FF must be positive");
  static_assert(Dropout >= 0.0 && Dropout < 1.0, "TransformerEncoderLayer: dropout must be in [0, 1)");
  static std::string name() {
    return "TransformerEncoderLayer(heads=" + std::to_string(Heads) + ", ff=" + std::to_string(FF) + (PreNorm ? ", pre-LN" : ", post-LN") + ", " +
           Activation::name() + ")";
  }
  template <class In> static constexpr bool accepts = In::rank == 2 && In::dims[1] % Heads == 0;
  template <class In> using expects = expects_rank<2>;
  template <class In> using output = In;
  template <class In> static constexpr int64_t D_ = In::rank == 2 ? In::dims[In::rank - 1] : 1;
  template <class In> static constexpr int64_t num_params =
      MultiHeadSelfAttention<Heads, Dropout>::template num_params<In> + (int64_t(FF) * D_<In> + FF) + (D_<In> * FF + D_<In>) + 4 * D_<In>;

  template <class In, class T, class B>
  struct impl : LayerImplBase<T, B> {
    using in_shape = In;
    using out_shape = In;
    static constexpr int64_t Tn = In::dims[0], D = In::dims[1], S = In::size, F = FF;
    using Tok = Shape<int(Tn), int(FF)>;
    using attn_t = typename MultiHeadSelfAttention<Heads, Dropout>::template impl<In, T, B>;
    using lin1_t = typename Dense<FF>::template impl<Shape<int(D)>, T, B>;
    using lin2_t = typename Dense<int(D)>::template impl<Shape<FF>, T, B>;
    using norm_t = typename LayerNorm<1e-5>::template impl<In, T, B>;
    using act_t = typename Activation::template impl<Tok, T, B>;
    using dropd_t = typename galml::Dropout<Dropout>::template impl<In, T, B>;
    using dropf_t = typename galml::Dropout<Dropout>::template impl<Tok, T, B>;
    static constexpr int64_t n_attn = MultiHeadSelfAttention<Heads, Dropout>::template num_params<In>;
    static constexpr int64_t o_l1 = n_attn, o_l2 = o_l1 + F * D + F, o_n1 = o_l2 + D * F + D, o_n2 = o_n1 + 2 * D;

    attn_t attn; lin1_t lin1; lin2_t lin2; norm_t norm1, norm2; act_t act; dropd_t drop1, drop2; dropf_t drop;
    // Saved activations (names follow the forward formulas above).
    Tensor<T, B> a, b, c, h, d, e, f, g, k, l, tmp, dh, dtmp, de, df, dg, dk, dl;

    static void init(T* p, Rng& rng, Init how) {
      attn_t::init(p, rng, how);
      lin1_t::init(p + o_l1, rng, how);
      lin2_t::init(p + o_l2, rng, how);
      norm_t::init(p + o_n1, rng, how);
      norm_t::init(p + o_n2, rng, how);
    }
    void bind(T* p, T* gr) {
      this->params = p; this->grads = gr;
      auto at = [](T* base, int64_t off) { return base ? base + off : (T*)nullptr; };
      attn.bind(p, gr);
      lin1.bind(at(p, o_l1), at(gr, o_l1));
      lin2.bind(at(p, o_l2), at(gr, o_l2));
      norm1.bind(at(p, o_n1), at(gr, o_n1));
      norm2.bind(at(p, o_n2), at(gr, o_n2));
    }
    // Distinct ids so the four dropout streams (attention weights, drop, drop1, drop2) differ.
    void set_ids(uint64_t base) {
      this->layer_id = base;
      attn.layer_id = base * 64 + 1; drop.layer_id = base * 64 + 2; drop1.layer_id = base * 64 + 3; drop2.layer_id = base * 64 + 4;
    }

    // Feed-forward block u -> drop2(W2 drop(act(W1 u))) into out (rows N*T).
    void ff_forward(const T* u, T* out, int64_t N, Context& ctx) {
      e.ensure({N, Tn * F}); f.ensure({N, Tn * F}); g.ensure({N, Tn * F}); k.ensure({N, S});
      lin1.forward(u, e.data(), N * Tn, ctx);
      act.forward(e.data(), f.data(), N, ctx);
      drop.forward(f.data(), g.data(), N, ctx);
      lin2.forward(g.data(), k.data(), N * Tn, ctx);
      drop2.forward(k.data(), out, N, ctx);
    }
    // du (overwritten) from dout.
    void ff_backward(const T* u, const T* dout, T* du, int64_t N, Context& ctx) {
      dk.ensure({N, S}); dg.ensure({N, Tn * F}); df.ensure({N, Tn * F}); de.ensure({N, Tn * F});
      drop2.backward(k.data(), l.data(), dout, dk.data(), N, ctx);
      lin2.backward(g.data(), k.data(), dk.data(), dg.data(), N * Tn, ctx);
      drop.backward(f.data(), g.data(), dg.data(), df.data(), N, ctx);
      act.backward(e.data(), f.data(), df.data(), de.data(), N, ctx);
      lin1.backward(u, e.data(), de.data(), du, N * Tn, ctx);
    }

    void forward(const T* x, T* y, int64_t N, Context& ctx) {
      a.ensure({N, S}); b.ensure({N, S}); c.ensure({N, S}); h.ensure({N, S}); l.ensure({N, S});
      if constexpr (PreNorm) {
        norm1.forward(x, a.data(), N, ctx);
        attn.forward(a.data(), b.data(), N, ctx);
        drop1.forward(b.data(), c.data(), N, ctx);
        add(B{}, x, (const T*)c.data(), h.data(), N * S);            // h = x + drop1(MHA(LN1 x))
        d.ensure({N, S});
        norm2.forward(h.data(), d.data(), N, ctx);
        ff_forward(d.data(), l.data(), N, ctx);
        add(B{}, (const T*)h.data(), (const T*)l.data(), y, N * S);  // y = h + FF(LN2 h)
      } else {
        attn.forward(x, b.data(), N, ctx);
        drop1.forward(b.data(), c.data(), N, ctx);
        add(B{}, x, (const T*)c.data(), a.data(), N * S);            // a = x + drop1(MHA x)
        norm1.forward(a.data(), h.data(), N, ctx);                   // h = LN1(a)
        ff_forward(h.data(), l.data(), N, ctx);
        d.ensure({N, S});
        add(B{}, (const T*)h.data(), (const T*)l.data(), d.data(), N * S);  // d = h + FF(h)
        norm2.forward(d.data(), y, N, ctx);                          // y = LN2(d)
      }
    }
    void backward(const T* x, const T* y, const T* dy, T* dx, int64_t N, Context& ctx) {
      dh.ensure({N, S}); dtmp.ensure({N, S}); dl.ensure({N, S}); tmp.ensure({N, S});
      if constexpr (PreNorm) {
        // dh = dy + LN2ᵀ(FFᵀ(dy))
        ff_backward(d.data(), dy, dtmp.data(), N, ctx);
        norm2.backward(h.data(), d.data(), dtmp.data(), dh.data(), N, ctx);
        add_inplace(B{}, dh.data(), dy, N * S);
        // dx = dh + LN1ᵀ(MHAᵀ(drop1ᵀ(dh)))
        drop1.backward(b.data(), c.data(), dh.data(), dtmp.data(), N, ctx);
        attn.backward(a.data(), b.data(), dtmp.data(), dl.data(), N, ctx);
        norm1.backward(x, a.data(), dl.data(), dx ? dx : tmp.data(), N, ctx);
        if (dx) add_inplace(B{}, dx, (const T*)dh.data(), N * S);
      } else {
        // dd = LN2ᵀ(dy); dh = dd + FFᵀ(dd); da = LN1ᵀ(dh); dx = da + MHAᵀ(drop1ᵀ(da))
        norm2.backward(d.data(), y, dy, dl.data(), N, ctx);
        ff_backward(h.data(), dl.data(), dh.data(), N, ctx);
        add_inplace(B{}, dh.data(), (const T*)dl.data(), N * S);
        norm1.backward(a.data(), h.data(), dh.data(), dl.data(), N, ctx);
        drop1.backward(b.data(), c.data(), dl.data(), dtmp.data(), N, ctx);
        attn.backward(x, b.data(), dtmp.data(), dx, N, ctx);
        if (dx) add_inplace(B{}, dx, (const T*)dl.data(), N * S);
      }
    }
    template <class V> void visit(V& v) {
      visit_enter(v, "self_attn"); attn.visit(v); visit_leave(v);
      visit_enter(v, "linear1"); lin1.visit(v); visit_leave(v);
      visit_enter(v, "linear2"); lin2.visit(v); visit_leave(v);
      visit_enter(v, "norm1"); norm1.visit(v); visit_leave(v);
      visit_enter(v, "norm2"); norm2.visit(v); visit_leave(v);
    }
  };
};

}  // namespace galml

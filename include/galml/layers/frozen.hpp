#pragma once
// Frozen<Layers...>: the layers of Chain<Layers...> with parameters that never change.
//  * backward still passes dx upstream, but the parameter gradients go to a private scratch buffer:
//    the model's gradient slice for these parameters stays exactly zero;
//  * the wrapped layers always run in Mode::eval (Keras trainable=False semantics: BatchNorm uses
//    and never updates its running statistics, dropout is off), so the wrapped function is a fixed
//    deterministic map;
//  * parameters are named "<position>.frozen.<inner names>", which is how frozen_ranges(model) finds
//    them; optimizers then skip them entirely (no update, no weight decay):
//        for (auto r : galml::frozen_ranges(model)) opt.freeze(r);     // or galml::freeze_frozen(opt, model)
//
// FixedRandom<Layer, Seed, How = glorot_uniform>: a Frozen layer whose parameters are drawn from
// Rng(Seed) instead of the model's stream, so the projection is the same whatever the rest of the
// network is. FixedRandomProjection<Units, Seed, Bias = true> = FixedRandom<Dense<Units, Bias>, Seed>:
// the "fixed random projection" reference fusion of MMLforGalAM (spec §2.5 item 4: the Keras
// attention applied once with random frozen weights is a fixed affine map of the image feature).
#include <string>
#include <vector>

#include "galml/graph/chain.hpp"
#include "galml/layers/dense.hpp"
#include "galml/optim/param_range.hpp"

namespace galml {

namespace detail {
template <class Inner, bool Seeded, uint64_t Seed, Init How>
struct FrozenWrap {
  static std::string name() { return "Frozen(" + Inner::name() + ")"; }
  template <class In> static constexpr bool accepts = Inner::template accepts<In>;
  template <class In> using expects = typename Inner::template expects<In>;
  template <class In> using output = typename Inner::template output<In>;
  template <class In> static constexpr int64_t num_params = Inner::template num_params<In>;

  template <class In, class T, class B>
  struct impl : LayerImplBase<T, B> {
    using inner_t = typename Inner::template impl<In, T, B>;
    using in_shape = In;
    using out_shape = typename inner_t::out_shape;
    static constexpr int64_t P = Inner::template num_params<In>;
    inner_t inner;
    Tensor<T, B> scratch;  // receives the inner layers' parameter gradients (discarded)

    static void init(T* p, Rng& rng, Init how) {
      if constexpr (Seeded) { Rng own(Seed, 0x66726f7aULL); inner_t::init(p, own, How); (void)rng; (void)how; }
      else inner_t::init(p, rng, how);
    }
    void bind(T* p, T* g) {
      this->params = p; this->grads = g;
      if constexpr (P > 0) scratch = Tensor<T, B>({P});
      inner.bind(p, P > 0 ? scratch.data() : nullptr);
    }
    void set_ids(uint64_t base) {
      this->layer_id = base;
      if constexpr (requires { inner.set_ids(base); }) inner.set_ids(base * 64 + 1);
    }
    void forward(const T* x, T* y, int64_t N, Context& ctx) {
      Context c = ctx; c.mode = Mode::eval;
      inner.forward(x, y, N, c);
    }
    void backward(const T* x, const T* y, const T* dy, T* dx, int64_t N, Context& ctx) {
      if (!dx) return;  // nothing upstream needs a gradient and the parameters take none
      Context c = ctx; c.mode = Mode::eval;
      if constexpr (P > 0) scratch.zero();  // keep the discarded sums bounded
      inner.backward(x, y, dy, dx, N, c);
    }
    // Report the model's (always zero) gradient slice, not the scratch, under a "frozen" scope.
    template <class V> struct Redirect {
      V& v; T* params; T* grads;
      void param(const std::string& n, T* d, T*, std::vector<int64_t> s) { v.param(n, d, grads + (d - params), std::move(s)); }
      void buffer(const std::string& n, T* d, std::vector<int64_t> s) { v.buffer(n, d, std::move(s)); }
      void enter(const std::string& n) { visit_enter(v, n); }
      void leave() { visit_leave(v); }
    };
    template <class V> void visit(V& v) {
      visit_enter(v, "frozen");
      Redirect<V> r{v, this->params, this->grads};
      if constexpr (requires { inner.visit(r); }) inner.visit(r);
      visit_leave(v);
    }
  };
};
template <class... Ls> struct frozen_inner { using type = Chain<Ls...>; };
template <class L> struct frozen_inner<L> { using type = L; };
}  // namespace detail

template <class... Layers>
struct Frozen : detail::FrozenWrap<typename detail::frozen_inner<Layers...>::type, false, 0, Init::pytorch> {
  static_assert(sizeof...(Layers) > 0, "galml: Frozen<> needs at least one layer");
};

template <class Layer, uint64_t Seed, Init How = Init::glorot_uniform>
struct FixedRandom : detail::FrozenWrap<Layer, true, Seed, How> {
  static std::string name() { return "FixedRandom(" + Layer::name() + ", seed=" + std::to_string(Seed) + ")"; }
};

template <int Units, uint64_t Seed = 0, bool Bias = true>
using FixedRandomProjection = FixedRandom<Dense<Units, Bias>, Seed>;

// Parameter ranges (offsets into model.params()) of every frozen layer in the model, merged where
// adjacent, found through the model's visitor (names with a "frozen" component).
template <class M>
std::vector<optim::ParamRange> frozen_ranges(M& model) {
  std::vector<optim::ParamRange> out;
  for (const auto& p : model.parameter_info()) {
    const std::string n = "." + p.name + ".";
    if (n.find(".frozen.") == std::string::npos) continue;
    if (!out.empty() && out.back().offset + out.back().size == p.offset) out.back().size += p.numel;
    else out.push_back({p.offset, p.numel});
  }
  return out;
}
// Freezes every frozen layer of `model` in optimizer `opt` (anything with freeze(ParamRange)).
template <class Opt, class M>
void freeze_frozen(Opt& opt, M& model) {
  for (const auto& r : frozen_ranges(model)) opt.freeze(r);
}

}  // namespace galml

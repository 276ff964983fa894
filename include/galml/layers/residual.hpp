#pragma once
// Residual<Fn, Shortcut = Identity>: y = Fn(x) + Shortcut(x), a residual (skip) connection.
// Fn and Shortcut are layer specs, normally Chain<...>; a projection shortcut is e.g.
// Chain<Conv1D<C, 1>, BatchNorm1D<>>. Both must produce the same shape (checked at compile time).
// Parameters: Fn's, then Shortcut's, named "fn.<...>" and "shortcut.<...>".
#include <type_traits>

#include "galml/backend/cpu/layout.hpp"
#include "galml/backend/cpu/ops.hpp"
#include "galml/graph/chain.hpp"
#include "galml/layers/identity.hpp"

namespace galml {

namespace detail {
// A struct (not a bare alias) so the static_assert fires wherever the output shape is computed, with
// both shapes visible in the instantiation trace.
template <class FnOut, class ShortcutOut>
struct residual_out {
  static_assert(std::is_same_v<FnOut, ShortcutOut>,
                "galml: Residual<Fn, Shortcut>: Fn(x) and Shortcut(x) must have the same shape to be added "
                "(see residual_out<Fn output, Shortcut output>); use a projection shortcut such as Chain<Conv1D<C, 1>>");
  using type = FnOut;
};
}  // namespace detail

template <class Fn, class Shortcut = Identity>
struct Residual {
  static std::string name() { return "Residual(" + Fn::name() + (std::is_same_v<Shortcut, Identity> ? "" : ", " + Shortcut::name()) + ")"; }
  template <class In> static constexpr bool accepts = Fn::template accepts<In> && Shortcut::template accepts<In>;
  template <class In> using expects = typename Fn::template expects<In>;
  template <class In> using output = typename detail::residual_out<typename Fn::template output<In>, typename Shortcut::template output<In>>::type;
  template <class In> static constexpr int64_t num_params = Fn::template num_params<In> + Shortcut::template num_params<In>;

  template <class In, class T, class B>
  struct impl : LayerImplBase<T, B> {
    using in_shape = In;
    using out_shape = output<In>;
    using fn_t = typename Fn::template impl<In, T, B>;
    using sc_t = typename Shortcut::template impl<In, T, B>;
    static constexpr bool identity = std::is_same_v<Shortcut, Identity>;
    static constexpr int64_t nf = Fn::template num_params<In>, O = out_shape::size;
    fn_t fn;
    sc_t sc;
    Tensor<T, B> fy, sy, tmp;  // branch outputs (kept for their backward) and a gradient scratch

    static void init(T* p, Rng& rng, Init how) { fn_t::init(p, rng, how); sc_t::init(p + nf, rng, how); }
    void bind(T* p, T* g) {
      this->params = p; this->grads = g;
      fn.bind(p, g);
      sc.bind(p ? p + nf : nullptr, g ? g + nf : nullptr);
    }
    void set_ids(uint64_t base) {
      this->layer_id = base;
      fn.layer_id = base * 64 + 1; sc.layer_id = base * 64 + 2;
      if constexpr (requires { fn.set_ids(base); }) fn.set_ids(base * 64 + 1);
      if constexpr (requires { sc.set_ids(base); }) sc.set_ids(base * 64 + 2);
    }
    void forward(const T* x, T* y, int64_t N, Context& ctx) {
      fy.ensure({N, O});
      fn.forward(x, fy.data(), N, ctx);
      if constexpr (identity) add(B{}, (const T*)fy.data(), x, y, N * O);
      else {
        sy.ensure({N, O});
        sc.forward(x, sy.data(), N, ctx);
        add(B{}, (const T*)fy.data(), (const T*)sy.data(), y, N * O);
      }
    }
    // dL/dFn(x) = dL/dShortcut(x) = dy: each branch back-propagates dy, the input gradients add up.
    void backward(const T* x, const T*, const T* dy, T* dx, int64_t N, Context& ctx) {
      fn.backward(x, (const T*)fy.data(), dy, dx, N, ctx);
      if constexpr (identity) { if (dx) add_inplace(B{}, dx, dy, N * O); }
      else {
        if (dx) tmp.ensure({N, int64_t(In::size)});
        sc.backward(x, (const T*)sy.data(), dy, dx ? tmp.data() : (T*)nullptr, N, ctx);
        if (dx) add_inplace(B{}, dx, (const T*)tmp.data(), N * int64_t(In::size));
      }
    }
    template <class V> void visit(V& v) {
      visit_enter(v, "fn");
      if constexpr (requires { fn.visit(v); }) fn.visit(v);
      visit_leave(v);
      visit_enter(v, "shortcut");
      if constexpr (requires { sc.visit(v); }) sc.visit(v);
      visit_leave(v);
    }
  };
};

}  // namespace galml

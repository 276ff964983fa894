#pragma once
// Chain<Layers...>: layers applied in sequence. A Chain is itself a layer (it satisfies the layer
// contract), so chains can be used inside residual blocks, branches and heads. The layer list is
// flat; shapes are propagated with one fold at compile time, and a layer that cannot take its input
// stops compilation with
//   shape_mismatch<position, layer, input shape, expected>
// in the error message.
#include <array>
#include <tuple>
#include <utility>

#include "galml/graph/layer.hpp"

namespace galml {

namespace detail {

// Stand-in impl after a shape error (identity shape, no work), so one mistake gives one error, not a cascade.
template <class In, class T, class B>
struct broken_impl : LayerImplBase<T, B> {
  using in_shape = In;
  using out_shape = In;
  static constexpr int64_t num_params = 0;
  static void init(T*, Rng&, Init) {}
  void forward(const T*, T*, int64_t, Context&) {}
  void backward(const T*, const T*, const T*, T*, int64_t, Context&) {}
};

template <int Pos, class L, class In>
constexpr bool check_layer() {
  static_assert(LayerSpec<L>, "galml: a network element is not a layer (it has no static name())");
  if constexpr (!L::template accepts<In>) {
    static_assert(shape_mismatch<Pos, L, In, typename L::template expects<In>>::value,
                  "galml: shape mismatch: the layer shown as shape_mismatch<position, layer, input shape, expected> "
                  "cannot take its input");
    return false;
  } else {
    return true;
  }
}

template <int Pos, class In, class T, class B, class... Ls> struct chain_types;
template <int Pos, class In, class T, class B> struct chain_types<Pos, In, T, B> {
  using impls = std::tuple<>;
  using out = In;
  static constexpr int64_t params = 0;
};
template <int Pos, class In, class T, class B, class L, class... Rest>
struct chain_types<Pos, In, T, B, L, Rest...> {
  static constexpr bool ok = check_layer<Pos, L, In>();
  using this_impl = std::conditional_t<ok, typename L::template impl<In, T, B>, broken_impl<In, T, B>>;
  using rest = chain_types<Pos + 1, typename this_impl::out_shape, T, B, Rest...>;
  using impls = decltype(std::tuple_cat(std::declval<std::tuple<this_impl>>(), std::declval<typename rest::impls>()));
  using out = typename rest::out;
  static constexpr int64_t params = (ok ? L::template num_params<In> : 0) + rest::params;
};

// Output shape of a layer list (no impl instantiation needed: uses output<In> only).
template <int Pos, class In, class... Ls> struct chain_shape { using out = In; };
template <int Pos, class In, class L, class... Rest> struct chain_shape<Pos, In, L, Rest...> {
  static constexpr bool ok = check_layer<Pos, L, In>();
  using next = std::conditional_t<ok, typename L::template output<In>, In>;
  using out = typename chain_shape<Pos + 1, next, Rest...>::out;
};
template <int Pos, class In, class... Ls> struct chain_params { static constexpr int64_t value = 0; };
template <int Pos, class In, class L, class... Rest> struct chain_params<Pos, In, L, Rest...> {
  static constexpr bool ok = L::template accepts<In>;
  using next = std::conditional_t<ok, typename L::template output<In>, In>;
  static constexpr int64_t value = (ok ? L::template num_params<In> : 0) + chain_params<Pos + 1, next, Rest...>::value;
};

}  // namespace detail

template <class... Ls>
struct Chain {
  static std::string name() { return "Chain[" + std::to_string(sizeof...(Ls)) + "]"; }
  template <class In> static constexpr bool accepts = In::rank >= 1;  // each element checks its own input
  template <class In> using expects = expects_anything;
  template <class In> using output = typename detail::chain_shape<0, In, Ls...>::out;
  template <class In> static constexpr int64_t num_params = detail::chain_params<0, In, Ls...>::value;

  template <class In, class T, class B>
  struct impl : LayerImplBase<T, B> {
    using types = detail::chain_types<0, In, T, B, Ls...>;
    using in_shape = In;
    using out_shape = typename types::out;
    using layers_t = typename types::impls;
    static constexpr size_t n = sizeof...(Ls);
    static_assert(n > 0, "galml: Chain<> needs at least one layer");

    layers_t layers;
    std::array<Tensor<T, B>, (n > 1 ? n - 1 : 1)> acts, dacts;  // intermediate outputs and their gradients

    template <size_t I> using layer_t = std::tuple_element_t<I, layers_t>;
    template <size_t I> using spec_t = std::tuple_element_t<I, std::tuple<Ls...>>;
    template <size_t I> static constexpr int64_t count() {
      if constexpr (std::is_same_v<layer_t<I>, detail::broken_impl<typename layer_t<I>::in_shape, T, B>>) return 0;
      else return spec_t<I>::template num_params<typename layer_t<I>::in_shape>;
    }
    template <size_t I> static constexpr int64_t offset() {
      if constexpr (I == 0) return 0;
      else return offset<I - 1>() + count<I - 1>();
    }

    static void init(T* p, Rng& rng, Init how) {
      [&]<size_t... I>(std::index_sequence<I...>) { (layer_t<I>::init(p + offset<I>(), rng, how), ...); }(std::make_index_sequence<n>{});
    }
    void bind(T* p, T* g) {
      this->params = p; this->grads = g;
      [&]<size_t... I>(std::index_sequence<I...>) {
        (std::get<I>(layers).bind(p ? p + offset<I>() : nullptr, g ? g + offset<I>() : nullptr), ...);
      }(std::make_index_sequence<n>{});
    }
    // Ids: each layer gets base*64 + index so dropout streams differ between layers and branches.
    void set_ids(uint64_t base) {
      this->layer_id = base;
      [&]<size_t... I>(std::index_sequence<I...>) {
        ((std::get<I>(layers).layer_id = base * 64 + I + 1, set_child_ids(std::get<I>(layers), base * 64 + I + 1)), ...);
      }(std::make_index_sequence<n>{});
    }
    template <class Lr> static void set_child_ids(Lr& l, uint64_t id) { if constexpr (requires { l.set_ids(id); }) l.set_ids(id); }

    // Peephole fusion: layer I followed by a ReLU, when layer I offers forward_relu/backward_relu
    // (Conv1D on the CPU). Layer I then writes the ReLU's output slot directly and the ReLU is skipped;
    // the pre-activation tensor acts[I] is never allocated.
    template <size_t I> static constexpr bool fuses_next() {
      if constexpr (I + 1 >= n) return false;
      else if constexpr (requires { spec_t<I + 1>::is_relu; layer_t<I>::fuses_relu; }) return spec_t<I + 1>::is_relu && layer_t<I>::fuses_relu;
      else return false;
    }
    template <size_t I> static constexpr bool fused_into_prev() {
      if constexpr (I == 0) return false;
      else return fuses_next<I - 1>();
    }
    template <size_t I> T* out_slot(T* y, int64_t N) {
      if constexpr (I + 1 == n) return y;
      else { acts[I].ensure({N, int64_t(layer_t<I>::out_shape::size)}); return acts[I].data(); }
    }

    void forward(const T* x, T* y, int64_t N, Context& ctx) {
      [&]<size_t... I>(std::index_sequence<I...>) { (forward_one<I>(x, y, N, ctx), ...); }(std::make_index_sequence<n>{});
    }
    template <size_t I> void forward_one(const T* x, T* y, int64_t N, Context& ctx) {
      const T* in = I == 0 ? x : acts[I - 1].data();
      if constexpr (fused_into_prev<I>()) return;
      else if constexpr (fuses_next<I>()) std::get<I>(layers).forward_relu(in, out_slot<I + 1>(y, N), N, ctx);
      else std::get<I>(layers).forward(in, out_slot<I>(y, N), N, ctx);
    }
    void backward(const T* x, const T* y, const T* dy, T* dx, int64_t N, Context& ctx) {
      [&]<size_t... I>(std::index_sequence<I...>) { (backward_one<n - 1 - I>(x, y, dy, dx, N, ctx), ...); }(std::make_index_sequence<n>{});
    }
    template <size_t I> void backward_one(const T* x, const T* y, const T* dy, T* dx, int64_t N, Context& ctx) {
      if constexpr (fused_into_prev<I>()) return;
      else {
        constexpr size_t J = fuses_next<I>() ? I + 1 : I;  // whose output and gradient this step reads
        const T* in = I == 0 ? x : acts[I - 1].data();
        const T* out = J + 1 == n ? y : acts[J].data();
        const T* dout = J + 1 == n ? dy : dacts[J].data();
        T* din;
        if constexpr (I == 0) din = dx;
        else { dacts[I - 1].ensure({N, int64_t(layer_t<I - 1>::out_shape::size)}); din = dacts[I - 1].data(); }
        if constexpr (fuses_next<I>()) std::get<I>(layers).backward_relu(in, out, dout, din, N, ctx);
        else std::get<I>(layers).backward(in, out, dout, din, N, ctx);
      }
    }
    template <class V> void visit(V& v) {
      [&]<size_t... I>(std::index_sequence<I...>) { (visit_one<I>(v), ...); }(std::make_index_sequence<n>{});
    }
    template <size_t I> void visit_one(auto& v) {
      visit_enter(v, std::to_string(I));
      if constexpr (requires { std::get<I>(layers).visit(v); }) std::get<I>(layers).visit(v);
      visit_leave(v);
    }
    // For summary(): f(index, name, out_shape string, num params) per direct child.
    template <class F> static void describe(F&& f) {
      size_t i = 0;
      [&]<size_t... I>(std::index_sequence<I...>) {
        ((f(i++, spec_t<I>::name(), layer_t<I>::out_shape::str(), count<I>())), ...);
      }(std::make_index_sequence<n>{});
    }
  };
};

}  // namespace galml

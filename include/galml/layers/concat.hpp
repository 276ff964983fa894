#pragma once
// Concat<Axis, Branches...>: parallel branches over the SAME input, outputs concatenated along the
// per-sample axis Axis (batch excluded: Axis 0 is channels for a Shape<C, L> map). Each branch is a
// layer spec, normally a Chain<...>:
//
//   Concat<0, Chain<Conv1D<8, 3, 1, 1>, ReLU>, Chain<Conv1D<8, 5, 1, 2>, ReLU>>   // (C, L) -> (16, L)
//
// Branch outputs must have the same rank and agree on every dimension but Axis. The input gradient
// is the sum of the branches' input gradients. Parameters are the branches' in order, named
// "<branch index>.<name inside the branch>" ("3.1.0.weight" = trunk layer 3, branch 1, its layer 0).
#include <array>
#include <tuple>
#include <utility>

#include "galml/backend/cpu/layout.hpp"
#include "galml/backend/cpu/ops.hpp"
#include "galml/graph/chain.hpp"

namespace galml {

// Shown in errors when the branches of a Concat cannot be joined along Axis.
template <int Axis, class... BranchOutputShapes> struct expects_concat_compatible {};

template <int Axis, class... Branches>
struct Concat {
  static_assert(sizeof...(Branches) >= 1, "galml: Concat<Axis, ...> needs at least one branch");
  static_assert(Axis >= 0, "galml: Concat axis is a per-sample axis (the batch is not one): it must be >= 0");
  static std::string name() { return "Concat(axis=" + std::to_string(Axis) + ", " + std::to_string(sizeof...(Branches)) + " branches)"; }

  template <class In> using first_out = typename std::tuple_element_t<0, std::tuple<Branches...>>::template output<In>;
  template <class In> static constexpr bool compatible() {
    using O0 = first_out<In>;
    constexpr int R = O0::rank;
    if constexpr (!((Branches::template output<In>::rank == R) && ...)) return false;
    else {
      if (Axis >= R) return false;
      bool ok = true;
      ([&] {
        using O = typename Branches::template output<In>;
        for (int d = 0; d < R; ++d) if (d != Axis && O::dims[size_t(d)] != O0::dims[size_t(d)]) ok = false;
      }(), ...);
      return ok;
    }
  }
  template <class In> static constexpr auto out_dims() {
    auto a = first_out<In>::dims;
    if constexpr (compatible<In>()) a[size_t(Axis)] = (0 + ... + Branches::template output<In>::dims[size_t(Axis)]);
    return a;
  }
  template <class In> static constexpr bool accepts = (Branches::template accepts<In> && ...) && compatible<In>();
  template <class In> using expects = expects_concat_compatible<Axis, typename Branches::template output<In>...>;
  template <class In> using output = shape_from_array<out_dims<In>()>;
  template <class In> static constexpr int64_t num_params = (int64_t(0) + ... + Branches::template num_params<In>);

  template <class In, class T, class B>
  struct impl : LayerImplBase<T, B> {
    using in_shape = In;
    using out_shape = output<In>;
    using branches_t = std::tuple<typename Branches::template impl<In, T, B>...>;
    static constexpr size_t n = sizeof...(Branches);
    static constexpr std::array<int64_t, n> counts{Branches::template num_params<In>...};
    static constexpr std::array<int64_t, n> lens{int64_t(Branches::template output<In>::dims[size_t(Axis)])...};
    static constexpr std::array<int64_t, n> sizes{int64_t(Branches::template output<In>::size)...};
    static constexpr int64_t total = out_shape::dims[size_t(Axis)];
    static constexpr int64_t pre = [] { int64_t p = 1; for (int d = 0; d < Axis; ++d) p *= out_shape::dims[size_t(d)]; return p; }();
    static constexpr int64_t post = [] { int64_t p = 1; for (int d = Axis + 1; d < out_shape::rank; ++d) p *= out_shape::dims[size_t(d)]; return p; }();
    static constexpr int64_t poff(size_t i) { int64_t o = 0; for (size_t k = 0; k < i; ++k) o += counts[k]; return o; }
    static constexpr int64_t aoff(size_t i) { int64_t o = 0; for (size_t k = 0; k < i; ++k) o += lens[k]; return o; }

    branches_t branches;
    std::array<Tensor<T, B>, n> outs, douts;  // each branch's own (contiguous) output and its gradient
    Tensor<T, B> dxtmp;

    static void init(T* p, Rng& rng, Init how) {
      [&]<size_t... I>(std::index_sequence<I...>) { (std::tuple_element_t<I, branches_t>::init(p + poff(I), rng, how), ...); }(std::make_index_sequence<n>{});
    }
    void bind(T* p, T* g) {
      this->params = p; this->grads = g;
      [&]<size_t... I>(std::index_sequence<I...>) {
        (std::get<I>(branches).bind(p ? p + poff(I) : nullptr, g ? g + poff(I) : nullptr), ...);
      }(std::make_index_sequence<n>{});
    }
    // Distinct ids per branch, so dropout inside two branches draws different masks.
    void set_ids(uint64_t base) {
      this->layer_id = base;
      [&]<size_t... I>(std::index_sequence<I...>) {
        ((std::get<I>(branches).layer_id = base * 64 + I + 1, set_child_ids(std::get<I>(branches), base * 64 + I + 1)), ...);
      }(std::make_index_sequence<n>{});
    }
    template <class Br> static void set_child_ids(Br& b, uint64_t id) { if constexpr (requires { b.set_ids(id); }) b.set_ids(id); }

    void forward(const T* x, T* y, int64_t N, Context& ctx) {
      [&]<size_t... I>(std::index_sequence<I...>) {
        ((outs[I].ensure({N, sizes[I]}), std::get<I>(branches).forward(x, outs[I].data(), N, ctx),
          concat_put(B{}, (const T*)outs[I].data(), y, N, pre, lens[I], post, total, aoff(I))), ...);
      }(std::make_index_sequence<n>{});
    }
    void backward(const T* x, const T*, const T* dy, T* dx, int64_t N, Context& ctx) {
      if (dx && n > 1) dxtmp.ensure({N, int64_t(In::size)});
      [&]<size_t... I>(std::index_sequence<I...>) { (backward_one<I>(x, dy, dx, N, ctx), ...); }(std::make_index_sequence<n>{});
    }
    template <size_t I> void backward_one(const T* x, const T* dy, T* dx, int64_t N, Context& ctx) {
      douts[I].ensure({N, sizes[I]});
      concat_get(B{}, dy, douts[I].data(), N, pre, lens[I], post, total, aoff(I));
      T* d = dx ? (I == 0 ? dx : dxtmp.data()) : nullptr;  // branch 0 writes dx, later ones are summed in
      std::get<I>(branches).backward(x, (const T*)outs[I].data(), (const T*)douts[I].data(), d, N, ctx);
      if (dx && I > 0) add_inplace(B{}, dx, (const T*)dxtmp.data(), N * In::size);
    }
    template <class V> void visit(V& v) {
      [&]<size_t... I>(std::index_sequence<I...>) {
        ((visit_enter(v, std::to_string(I)), visit_branch(std::get<I>(branches), v), visit_leave(v)), ...);
      }(std::make_index_sequence<n>{});
    }
    template <class Br, class V> static void visit_branch(Br& b, V& v) { if constexpr (requires { b.visit(v); }) b.visit(v); }
  };
};

}  // namespace galml

#pragma once
// Several named inputs, each with its own branch of layers, joined into one trunk input:
//
//   using Net = galml::Net<
//       Inputs<JoinConcat<0>,
//              Branch<"spectrum", Shape<1, 400>, Conv1D<8, 5, 2>, ReLU, GlobalAvgPool1D>,   // -> (8)
//              Branch<"image", Shape<3, 32, 32>, Flatten, Dense<16>, ReLU>,                 // -> (16)
//              Branch<"table", Shape<4>>>,                                                  // -> (4)
//       Dense<32>, ReLU,                                                                     // trunk on (28)
//       Heads<Head<"cls", Dense<4>>, Head<"z", Dense<1>>>>;
//   model.forward({{"spectrum", s}, {"image", im}, {"table", tab}});
//
// A join is a multi-input layer: JoinConcat<Axis> concatenates the branch outputs along Axis (their
// other dimensions must agree). Other joins (e.g. cross-attention, query from one branch and
// key/value from another) implement the same contract with std::array inputs:
//   template <class... Ins> static constexpr bool accepts;  template <class... Ins> using output;
//   template <class... Ins> static constexpr int64_t num_params;
//   template <class T, class B, class... Ins> struct impl {
//     static void init(T*, Rng&, Init);
//     void forward(const std::array<const T*, K>& xs, T* y, int64_t N, Context&);
//     void backward(const std::array<const T*, K>& xs, const T* y, const T* dy, const std::array<T*, K>& dxs, int64_t N, Context&);
//   };
#include <array>
#include <string_view>
#include <tuple>

#include "galml/graph/chain.hpp"
#include "galml/layers/identity.hpp"

namespace galml {

// One named input with a per-sample shape (the usual single-input network).
template <fixed_string Name, int... Dims>
struct Input {
  static constexpr std::string_view name() { return Name.view(); }
  using shape = Shape<Dims...>;
};

template <fixed_string Name, class S, class... Ls>
struct Branch {
  static_assert(is_shape<S>::value, "galml: Branch<\"name\", Shape<...>, layers...>: the second argument must be a Shape");
  static constexpr std::string_view name() { return Name.view(); }
  using shape = S;
  using chain = std::conditional_t<sizeof...(Ls) == 0, Chain<Identity>, Chain<Ls...>>;
  using out_shape = typename chain::template output<S>;
};

template <class Join, class... Branches>
struct Inputs {
  static_assert(sizeof...(Branches) >= 1, "galml: Inputs<Join, Branch...> needs at least one branch");
};

// Shown in the compiler's error when branch outputs cannot be joined.
template <class Join, class... BranchOutputShapes> struct join_mismatch { static constexpr bool value = false; };

template <int Axis = 0>
struct JoinConcat {
  static std::string name() { return "JoinConcat(axis=" + std::to_string(Axis) + ")"; }
  template <class First, class... Rest>
  static constexpr bool compatible() {
    if constexpr (Axis >= First::rank) return false;
    else {
      bool ok = true;
      ([&] {
        if (Rest::rank != First::rank) { ok = false; return; }
        for (int d = 0; d < First::rank; ++d) if (d != Axis && Rest::dims[size_t(d)] != First::dims[size_t(d)]) ok = false;
      }(), ...);
      return ok;
    }
  }
  template <class... Ins> static constexpr bool accepts = compatible<Ins...>();
  template <class First, class... Rest> struct out_impl {
    static constexpr std::array<int, First::rank> dims = [] {
      std::array<int, First::rank> a{};
      for (int d = 0; d < First::rank; ++d) a[size_t(d)] = First::dims[size_t(d)];
      a[size_t(Axis)] = (First::dims[size_t(Axis)] + ... + Rest::dims[size_t(Axis)]);
      return a;
    }();
    using type = shape_from_array<dims>;
  };
  template <class... Ins> using output = typename out_impl<Ins...>::type;
  template <class... Ins> static constexpr int64_t num_params = 0;

  template <class T, class B, class... Ins>
  struct impl : LayerImplBase<T, B> {
    static constexpr size_t K = sizeof...(Ins);
    using out_shape = output<Ins...>;
    // Per sample: outer = prod(dims[:Axis]); branch k contributes inner_k = prod(dims[Axis:]) per outer index.
    static constexpr int64_t outer = [] { int64_t o = 1; for (int d = 0; d < Axis; ++d) o *= out_shape::dims[size_t(d)]; return o; }();
    static constexpr std::array<int64_t, K> inner{int64_t(Ins::size / outer)...};
    static constexpr int64_t out_inner = (int64_t(0) + ... + int64_t(Ins::size / outer));
    static void init(T*, Rng&, Init) {}
    void forward(const std::array<const T*, K>& xs, T* y, int64_t N, Context&) {
      for (int64_t r = 0; r < N * outer; ++r) {
        int64_t off = 0;
        for (size_t k = 0; k < K; ++k) { backend_ops::copy(B{}, xs[k] + r * inner[k], y + r * out_inner + off, inner[k]); off += inner[k]; }
      }
    }
    void backward(const std::array<const T*, K>&, const T*, const T* dy, const std::array<T*, K>& dxs, int64_t N, Context&) {
      for (int64_t r = 0; r < N * outer; ++r) {
        int64_t off = 0;
        for (size_t k = 0; k < K; ++k) { if (dxs[k]) backend_ops::copy(B{}, dy + r * out_inner + off, dxs[k] + r * inner[k], inner[k]); off += inner[k]; }
      }
    }
  };
};

namespace detail {
template <class X> struct is_inputs : std::false_type {};
template <class J, class... Bs> struct is_inputs<Inputs<J, Bs...>> : std::true_type {};

// The front end of a model: turns the user's input tensor(s) into the trunk's input.
template <class InSpec, class T, class B> struct front;

// Single input: no work, the trunk reads the user's tensor directly.
template <fixed_string Name, int... D, class T, class B>
struct front<Input<Name, D...>, T, B> {
  static constexpr size_t num_inputs = 1;
  using out_shape = Shape<D...>;
  static constexpr std::array<std::string_view, 1> names{Name.view()};
  static constexpr std::array<int64_t, 1> ranks{int64_t(sizeof...(D))};
  static std::array<std::vector<int64_t>, 1> sample_shapes() { return {std::vector<int64_t>{D...}}; }
  static constexpr int64_t num_params = 0;
  static void init(T*, Rng&, Init) {}
  void bind(T*, T*) {}
  void set_ids(uint64_t) {}
  template <class V> void visit(V&) {}
};

template <class J, class... Bs, class T, class B>
struct front<Inputs<J, Bs...>, T, B> {
  static constexpr size_t num_inputs = sizeof...(Bs);
  static constexpr bool joinable = J::template accepts<typename Bs::out_shape...>;
  static_assert(joinable || join_mismatch<J, typename Bs::out_shape...>::value,
                "galml: the branch outputs cannot be joined; see join_mismatch<join, branch output shapes...>");
  using join_impl = typename J::template impl<T, B, typename Bs::out_shape...>;
  using out_shape = typename join_impl::out_shape;
  using branches_t = std::tuple<typename Bs::chain::template impl<typename Bs::shape, T, B>...>;
  static constexpr std::array<std::string_view, num_inputs> names{Bs::name()...};
  static std::array<std::vector<int64_t>, num_inputs> sample_shapes() {
    return {std::vector<int64_t>(Bs::shape::dims.begin(), Bs::shape::dims.end())...};
  }
  static constexpr std::array<int64_t, num_inputs> branch_params{Bs::chain::template num_params<typename Bs::shape>...};
  static constexpr int64_t join_params = J::template num_params<typename Bs::out_shape...>;
  static std::string join_impl_name() { return J::name(); }
  static constexpr int64_t num_params = (int64_t(0) + ... + Bs::chain::template num_params<typename Bs::shape>) + join_params;
  static constexpr bool unique_names() {
    for (size_t i = 0; i < num_inputs; ++i) for (size_t j = i + 1; j < num_inputs; ++j) if (names[i] == names[j]) return false;
    return true;
  }
  static_assert(unique_names(), "galml: two inputs of a network have the same name");

  branches_t branches;
  join_impl join;
  std::array<Tensor<T, B>, num_inputs> bout, dbout;

  template <size_t I> using branch_t = std::tuple_element_t<I, branches_t>;
  template <size_t I> static constexpr int64_t offset() { int64_t o = 0; for (size_t k = 0; k < I; ++k) o += branch_params[k]; return o; }

  static void init(T* p, Rng& rng, Init how) {
    [&]<size_t... I>(std::index_sequence<I...>) { (branch_t<I>::init(p + offset<I>(), rng, how), ...); }(std::make_index_sequence<num_inputs>{});
    join_impl::init(p + offset<num_inputs>(), rng, how);
  }
  void bind(T* p, T* g) {
    [&]<size_t... I>(std::index_sequence<I...>) { (std::get<I>(branches).bind(p + offset<I>(), g + offset<I>()), ...); }(std::make_index_sequence<num_inputs>{});
    join.bind(p + offset<num_inputs>(), g + offset<num_inputs>());
  }
  void set_ids(uint64_t base) {
    [&]<size_t... I>(std::index_sequence<I...>) { (std::get<I>(branches).set_ids(base * 64 + I + 1), ...); }(std::make_index_sequence<num_inputs>{});
    join.layer_id = base * 64 + 63;
  }
  void forward(const std::array<const T*, num_inputs>& xs, T* y, int64_t N, Context& ctx) {
    [&]<size_t... I>(std::index_sequence<I...>) {
      ((bout[I].ensure({N, int64_t(branch_t<I>::out_shape::size)}), std::get<I>(branches).forward(xs[I], bout[I].data(), N, ctx)), ...);
    }(std::make_index_sequence<num_inputs>{});
    std::array<const T*, num_inputs> outs;
    for (size_t k = 0; k < num_inputs; ++k) outs[k] = bout[k].data();
    join.forward(outs, y, N, ctx);
  }
  // dxs[k] may be nullptr (no input gradient wanted)
  void backward(const std::array<const T*, num_inputs>& xs, const T* y, const T* dy, const std::array<T*, num_inputs>& dxs, int64_t N, Context& ctx) {
    std::array<const T*, num_inputs> outs;
    std::array<T*, num_inputs> douts;
    for (size_t k = 0; k < num_inputs; ++k) { outs[k] = bout[k].data(); dbout[k].ensure(bout[k].shape()); douts[k] = dbout[k].data(); }
    join.backward(outs, y, dy, douts, N, ctx);
    [&]<size_t... I>(std::index_sequence<I...>) {
      (std::get<I>(branches).backward(xs[I], bout[I].data(), dbout[I].data(), dxs[I], N, ctx), ...);
    }(std::make_index_sequence<num_inputs>{});
  }
  template <class V> void visit(V& v) {
    [&]<size_t... I>(std::index_sequence<I...>) {
      ((visit_enter(v, std::string(names[I])), std::get<I>(branches).visit(v), visit_leave(v)), ...);
    }(std::make_index_sequence<num_inputs>{});
    if constexpr (requires { join.visit(v); }) { visit_enter(v, "join"); join.visit(v); visit_leave(v); }
  }
};
}  // namespace detail

}  // namespace galml

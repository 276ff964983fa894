#pragma once
// A network is a type:
//
//   using Net = galml::Net<galml::Input<"spectrum", 1, 5161>,
//                          Conv1D<16, 3>, ReLU, MaxPool1D<3>, GlobalAvgPool1D,
//                          Heads<Head<"cls", Dense<4>>, Head<"z", Dense<1>>>>;
//   galml::Model<Net> model;                      // float, CPU
//   auto& out = model.forward(x);                 // x: Tensor [N, 1, 5161]
//   model.output("cls"), model.output("z")
//
// The element after Input is the trunk (a flat list of layers); an optional last element Heads<...>
// gives several named outputs that share the trunk. All parameters live in one contiguous buffer,
// and so do all gradients; each layer views its slice (fast fused optimizers, trivial save/load).
#include <array>
#include <iomanip>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "galml/core/state_dict.hpp"
#include "galml/graph/chain.hpp"
#include "galml/graph/inputs.hpp"
#include "galml/layers/identity.hpp"

namespace galml {

template <fixed_string Name, class... Ls>
struct Head {
  static constexpr std::string_view name() { return Name.view(); }
  using chain = std::conditional_t<sizeof...(Ls) == 0, Chain<Identity>, Chain<Ls...>>;
};
template <class... Hs> struct Heads {
  static_assert(sizeof...(Hs) > 0, "galml: Heads<> needs at least one Head<\"name\", ...>");
};

template <class... Parts> struct Net;

namespace detail {
template <class X> struct is_heads : std::false_type {};
template <class... Hs> struct is_heads<Heads<Hs...>> : std::true_type {};
template <class X> struct is_input : std::false_type {};
template <fixed_string N, int... D> struct is_input<Input<N, D...>> : std::true_type {};

template <class Tuple, class Idx> struct chain_from_prefix;
template <class Tuple, size_t... I> struct chain_from_prefix<Tuple, std::index_sequence<I...>> {
  using type = std::conditional_t<sizeof...(I) == 0, Chain<Identity>, Chain<std::tuple_element_t<I, Tuple>...>>;
};

template <class In, class... Parts>
struct net_parts {
  using all = std::tuple<Parts...>;
  static constexpr size_t n = sizeof...(Parts);
  using last = std::conditional_t<(n > 0), std::tuple_element_t<(n > 0 ? n - 1 : 0), std::tuple<Parts..., void>>, void>;
  static constexpr bool has_heads = is_heads<last>::value;
  using trunk = typename chain_from_prefix<all, std::make_index_sequence<has_heads ? n - 1 : n>>::type;
  using heads = std::conditional_t<has_heads, last, Heads<Head<"out">>>;
};
}  // namespace detail

template <class In, class... Parts>
struct Net<In, Parts...> {
  static_assert(detail::is_input<In>::value || detail::is_inputs<In>::value,
                "galml: the first element of Net<...> must be Input<\"name\", dims...> or Inputs<Join, Branch<...>...>");
  using input = In;
  using parts = detail::net_parts<In, Parts...>;
  using trunk = typename parts::trunk;
  using heads = typename parts::heads;
};

namespace detail {
template <class TrunkOut, class T, class B, class HeadsSpec> struct heads_impl;
template <class TrunkOut, class T, class B, class... Hs>
struct heads_impl<TrunkOut, T, B, Heads<Hs...>> {
  static constexpr size_t count = sizeof...(Hs);
  using impls = std::tuple<typename Hs::chain::template impl<TrunkOut, T, B>...>;
  static constexpr std::array<std::string_view, count> names{Hs::name()...};
  static constexpr std::array<int64_t, count> params{Hs::chain::template num_params<TrunkOut>...};
  static constexpr std::array<int64_t, count> out_sizes{int64_t(Hs::chain::template output<TrunkOut>::size)...};
  static std::array<std::string, count> out_shape_strs() { return {Hs::chain::template output<TrunkOut>::str()...}; }
  static constexpr int64_t total = (int64_t(0) + ... + Hs::chain::template num_params<TrunkOut>);
  static constexpr bool unique_names() {
    for (size_t i = 0; i < count; ++i) for (size_t j = i + 1; j < count; ++j) if (names[i] == names[j]) return false;
    return true;
  }
};
}  // namespace detail

// The trained object: parameters, gradients, per-layer state and activations of one network type.
template <class NetSpec, class T = float, class B = cpu>
class Model {
 public:
  using spec = NetSpec;
  using scalar = T;
  using backend = B;
  using front_t = detail::front<typename NetSpec::input, T, B>;
  static constexpr size_t num_inputs = front_t::num_inputs;
  static constexpr bool multi_input = detail::is_inputs<typename NetSpec::input>::value;
  using input_shape = typename front_t::out_shape;  // per-sample shape the trunk sees (the input itself for one Input)
  using trunk_impl = typename NetSpec::trunk::template impl<input_shape, T, B>;
  using trunk_shape = typename trunk_impl::out_shape;
  using heads_t = detail::heads_impl<trunk_shape, T, B, typename NetSpec::heads>;
  static constexpr size_t num_heads = heads_t::count;
  static_assert(heads_t::unique_names(), "galml: two heads of a network have the same name");
  static constexpr int64_t front_params = front_t::num_params;
  static constexpr int64_t trunk_params = NetSpec::trunk::template num_params<input_shape>;
  static constexpr int64_t num_params = front_params + trunk_params + heads_t::total;
  template <size_t H> using head_shape = typename std::tuple_element_t<H, typename heads_t::impls>::out_shape;

  explicit Model(Init how = Init::pytorch) : params_({num_params}), grads_({num_params}) {
    ctx_.seed = initial_seed();
    bind_all();
    reset_parameters(how);
    grads_.zero();
  }
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  // Re-initialise every parameter from a fresh deterministic stream (PyTorch defaults or Glorot).
  void reset_parameters(Init how = Init::pytorch) {
    Rng rng = make_rng();
    std::vector<T> host(size_t(std::max<int64_t>(num_params, 1)));
    front_t::init(host.data(), rng, how);
    trunk_impl::init(host.data() + front_params, rng, how);
    int64_t off = front_params + trunk_params;
    [&]<size_t... I>(std::index_sequence<I...>) {
      ((std::tuple_element_t<I, typename heads_t::impls>::init(host.data() + off, rng, how), off += heads_t::params[I]), ...);
    }(std::make_index_sequence<num_heads>{});
    allocator<B>::copy_from_host(params_.data(), host.data(), size_t(num_params) * sizeof(T));
  }

  // ---- modes ----
  void train() { ctx_.mode = Mode::train; }
  void eval() { ctx_.mode = Mode::eval; }
  void mc() { ctx_.mode = Mode::mc; }
  Mode mode() const { return ctx_.mode; }
  Context& context() { return ctx_; }

  // ---- forward / backward ----
  // x: [N, input dims...]. Returns the first head's output; all heads via output(i) / output("name").
  const Tensor<T, B>& forward(const Tensor<T, B>& x) {
    if constexpr (multi_input) { return forward(std::array<Tensor<T, B>, num_inputs>{x}); }
    else {
      check_input(x, 0);
      input_ = x;
      return run_trunk_and_heads(x.data(), x.batch_size());
    }
  }
  // Several inputs, in the order of Inputs<...> (or by name with the overload below).
  const Tensor<T, B>& forward(const std::array<Tensor<T, B>, num_inputs>& xs) {
    if constexpr (!multi_input) { return forward(xs[0]); }
    else {
      const int64_t N = xs[0].batch_size();
      for (size_t k = 0; k < num_inputs; ++k) {
        check_input(xs[k], k);
        GALML_CHECK(xs[k].batch_size() == N, "input '", front_t::names[k], "' has batch ", xs[k].batch_size(), ", input '", front_t::names[0], "' has ", N);
      }
      inputs_ = xs;
      std::array<const T*, num_inputs> ptrs;
      for (size_t k = 0; k < num_inputs; ++k) ptrs[k] = xs[k].data();
      input_.ensure(batch_shape<input_shape>(N));
      front_.forward(ptrs, input_.data(), N, ctx_);
      return run_trunk_and_heads(input_.data(), N);
    }
  }
  const Tensor<T, B>& forward(std::initializer_list<std::pair<std::string_view, Tensor<T, B>>> named) {
    std::array<Tensor<T, B>, num_inputs> xs;
    std::array<bool, num_inputs> got{};
    for (auto& [n, t] : named) { const size_t k = input_index(n); GALML_CHECK(!got[k], "input '", n, "' given twice"); xs[k] = t; got[k] = true; }
    for (size_t k = 0; k < num_inputs; ++k) GALML_CHECK(got[k], "input '", front_t::names[k], "' is missing");
    return forward(xs);
  }
  static size_t input_index(std::string_view name) {
    for (size_t i = 0; i < num_inputs; ++i) if (front_t::names[i] == name) return i;
    std::string all; for (auto n : front_t::names) all += (all.empty() ? "" : ", ") + std::string(n);
    throw Error(detail::cat("model has no input named '", name, "' (inputs: ", all, ")"));
  }

 private:
  const Tensor<T, B>& run_trunk_and_heads(const T* x, int64_t N) {
    trunk_out_.ensure(batch_shape<trunk_shape>(N));
    trunk_.forward(x, trunk_out_.data(), N, ctx_);
    [&]<size_t... I>(std::index_sequence<I...>) {
      ((outputs_[I].ensure(batch_shape<head_shape<I>>(N)),
        std::get<I>(heads_).forward(trunk_out_.data(), outputs_[I].data(), N, ctx_)), ...);
    }(std::make_index_sequence<num_heads>{});
    if (ctx_.sample_dropout()) ++ctx_.step;
    return outputs_[0];
  }

 public:
  const Tensor<T, B>& output(size_t i = 0) const { return outputs_.at(i); }
  const Tensor<T, B>& output(std::string_view name) const { return outputs_[head_index(name)]; }
  static size_t head_index(std::string_view name) {
    for (size_t i = 0; i < num_heads; ++i) if (heads_t::names[i] == name) return i;
    throw Error(detail::cat("model has no head named '", name, "' (heads: ", head_names_str(), ")"));
  }
  static std::string head_names_str() { std::string s; for (auto n : heads_t::names) s += (s.empty() ? "" : ", ") + std::string(n); return s; }
  static constexpr std::array<std::string_view, num_heads> head_names() { return heads_t::names; }

  // dy[i]: gradient of the loss w.r.t. head i's output (same shape), or nullptr if head i is unused.
  // Parameter gradients accumulate; call zero_grad() between steps. Returns nothing; input gradient
  // is available through input_grad() when want_input_grad is true.
  void backward(const std::array<const T*, num_heads>& dy, bool want_input_grad = false) {
    const int64_t N = input_.batch_size();
    GALML_CHECK(N > 0, "Model::backward called before forward");
    dtrunk_.ensure(batch_shape<trunk_shape>(N));
    dtrunk_.zero();
    tmp_.ensure(batch_shape<trunk_shape>(N));
    bool first = true;
    [&]<size_t... I>(std::index_sequence<I...>) {
      ((dy[I] ? (std::get<I>(heads_).backward(trunk_out_.data(), outputs_[I].data(), dy[I], first ? dtrunk_.data() : tmp_.data(), N, ctx_),
                 first ? void() : backend_ops::add_inplace(B{}, dtrunk_.data(), (const T*)tmp_.data(), N * trunk_shape::size),
                 first = false, 0) : 0), ...);
    }(std::make_index_sequence<num_heads>{});
    T* dx = nullptr;
    if (want_input_grad || multi_input) { dinput_.ensure(input_.shape()); dx = dinput_.data(); }
    trunk_.backward(input_.data(), trunk_out_.data(), dtrunk_.data(), dx, N, ctx_);
    if constexpr (multi_input) {
      std::array<const T*, num_inputs> xs;
      std::array<T*, num_inputs> dxs{};
      for (size_t k = 0; k < num_inputs; ++k) {
        xs[k] = inputs_[k].data();
        if (want_input_grad) { dinputs_[k].ensure(inputs_[k].shape()); dxs[k] = dinputs_[k].data(); }
      }
      front_.backward(xs, input_.data(), dinput_.data(), dxs, N, ctx_);
    }
  }
  // Gradient w.r.t. input k (after backward(..., true)).
  const Tensor<T, B>& input_grad(size_t k = 0) const {
    if constexpr (multi_input) return dinputs_.at(k);
    else { (void)k; return dinput_; }
  }

  // ---- parameters ----
  T* params() { return params_.data(); }
  const T* params() const { return params_.data(); }
  T* grads() { return grads_.data(); }
  const T* grads() const { return grads_.data(); }
  Tensor<T, B>& param_tensor() { return params_; }
  Tensor<T, B>& grad_tensor() { return grads_; }
  void zero_grad() { grads_.zero(); }

  // v.param(name, data, grad, shape) and v.buffer(name, data, shape), names like "trunk.0.weight",
  // "heads.cls.2.bias" (hierarchical, stable across builds).
  template <class V> void visit(V& v) {
    NameStack<V> ns{v, {}};
    if constexpr (multi_input) { ns.enter("inputs"); front_.visit(ns); ns.leave(); }
    ns.enter("trunk"); trunk_.visit(ns); ns.leave();
    [&]<size_t... I>(std::index_sequence<I...>) {
      ((ns.enter("heads"), ns.enter(std::string(heads_t::names[I])), std::get<I>(heads_).visit(ns), ns.leave(), ns.leave()), ...);
    }(std::make_index_sequence<num_heads>{});
  }
  // (name, offset into the parameter buffer, shape) for every parameter, in buffer order.
  struct ParamInfo { std::string name; int64_t offset; std::vector<int64_t> shape; int64_t numel; };
  std::vector<ParamInfo> parameter_info() {
    std::vector<ParamInfo> out;
    struct V {
      std::vector<ParamInfo>* out; const T* base;
      void param(const std::string& n, T* d, T*, std::vector<int64_t> s) {
        int64_t k = 1; for (auto x : s) k *= x;
        out->push_back({n, int64_t(d - base), s, k});
      }
      void buffer(const std::string&, T*, std::vector<int64_t>) {}
    } v{&out, params_.data()};
    visit(v);
    return out;
  }

  // ---- state dict: every parameter and buffer, by name ----
  StateDict state_dict() {
    StateDict sd;
    struct V {
      StateDict* sd;
      void param(const std::string& n, T* d, T*, std::vector<int64_t> s) { put(n, d, s); }
      void buffer(const std::string& n, T* d, std::vector<int64_t> s) { put(n, d, s); }
      void put(const std::string& n, const T* d, const std::vector<int64_t>& s) {
        int64_t k = 1; for (auto x : s) k *= x;
        std::vector<T> host(static_cast<size_t>(k));
        allocator<B>::copy_to_host(host.data(), d, size_t(k) * sizeof(T));
        sd->set(n, host.data(), s);
      }
    } v{&sd};
    visit(v);
    return sd;
  }
  // strict: every parameter/buffer of the model must be in sd with the same shape, and sd must have
  // no unknown entries under the model's prefixes.
  void load_state_dict(const StateDict& sd, bool strict = true) {
    std::vector<std::string> missing;
    size_t used = 0;
    struct V {
      const StateDict* sd; std::vector<std::string>* missing; size_t* used;
      void param(const std::string& n, T* d, T*, std::vector<int64_t> s) { get(n, d, s); }
      void buffer(const std::string& n, T* d, std::vector<int64_t> s) { get(n, d, s); }
      void get(const std::string& n, T* d, const std::vector<int64_t>& s) {
        if (!sd->contains(n)) { missing->push_back(n); return; }
        const auto& a = sd->at(n);
        int64_t k = 1; for (auto x : s) k *= x;
        GALML_CHECK(a.shape == s || a.numel() == k, "state dict entry '", n, "' has ", a.numel(), " elements, the model expects ", k);
        std::vector<T> host(static_cast<size_t>(k));
        a.copy_to(host.data(), k, n);
        allocator<B>::copy_from_host(d, host.data(), size_t(k) * sizeof(T));
        ++*used;
      }
    } v{&sd, &missing, &used};
    visit(v);
    if (strict) {
      GALML_CHECK(missing.empty(), "state dict is missing ", missing.size(), " model entries, first: '", missing.empty() ? "" : missing[0], "'");
      size_t model_entries = 0;
      for (auto& [k, a] : sd.entries()) if (k.rfind("trunk.", 0) == 0 || k.rfind("heads.", 0) == 0 || k.rfind("inputs.", 0) == 0) ++model_entries;
      GALML_CHECK(model_entries == used, "state dict has ", model_entries - used, " entries the model does not know (different architecture?)");
    }
  }

  // ---- summary: one row per layer ----
  static std::string summary() {
    std::ostringstream os;
    os << std::left << std::setw(5) << "#" << std::setw(40) << "layer" << std::setw(18) << "output" << std::right << std::setw(12) << "params" << "\n";
    os << std::string(75, '-') << "\n";
    if constexpr (multi_input) {
      [&]<size_t... I>(std::index_sequence<I...>) {
        ((os << "input \"" << front_t::names[I] << "\" " << std::tuple_element_t<I, typename front_t::branches_t>::in_shape::str() << "\n",
          std::tuple_element_t<I, typename front_t::branches_t>::describe([&](size_t i, const std::string& n, const std::string& s, int64_t p) {
            os << std::left << std::setw(5) << i << std::setw(40) << ("  " + n) << std::setw(18) << s << std::right << std::setw(12) << p << "\n";
          })), ...);
      }(std::make_index_sequence<num_inputs>{});
      os << std::left << std::setw(5) << "join" << std::setw(40) << front_t::join_impl_name() << std::setw(18) << input_shape::str() << std::right << std::setw(12) << front_t::join_params << "\n";
    } else {
      os << std::left << std::setw(5) << "in" << std::setw(40) << ("Input \"" + std::string(front_t::names[0]) + "\"")
         << std::setw(18) << input_shape::str() << std::right << std::setw(12) << 0 << "\n";
    }
    trunk_impl::describe([&](size_t i, const std::string& n, const std::string& s, int64_t p) {
      os << std::left << std::setw(5) << i << std::setw(40) << n << std::setw(18) << s << std::right << std::setw(12) << p << "\n";
    });
    [&]<size_t... I>(std::index_sequence<I...>) {
      ((os << "head \"" << heads_t::names[I] << "\"\n",
        std::tuple_element_t<I, typename heads_t::impls>::describe([&](size_t i, const std::string& n, const std::string& s, int64_t p) {
          os << std::left << std::setw(5) << i << std::setw(40) << ("  " + n) << std::setw(18) << s << std::right << std::setw(12) << p << "\n";
        })), ...);
    }(std::make_index_sequence<num_heads>{});
    os << std::string(75, '-') << "\n" << "total parameters: " << num_params << "\n";
    return os.str();
  }

 private:
  template <class S> static std::vector<int64_t> batch_shape(int64_t N) {
    std::vector<int64_t> v{N};
    for (int d : S::dims) v.push_back(d);
    return v;
  }
  void check_input(const Tensor<T, B>& x, size_t k) const {
    const auto want = front_t::sample_shapes()[k];
    const bool rank_ok = x.rank() == int(want.size()) + 1;
    bool dims_ok = rank_ok;
    for (size_t i = 0; dims_ok && i < want.size(); ++i) dims_ok = x.shape(int(i) + 1) == want[i];
    if (!dims_ok) {  // the message is built only on failure (this runs on every forward)
      std::string ws = "(";
      for (size_t i = 0; i < want.size(); ++i) {
        if (i) ws += 'x';
        ws += std::to_string(want[i]);
      }
      ws += ')';
      GALML_CHECK(rank_ok, "input '", front_t::names[k], "': expected shape [N]", ws, ", got ", x.shape_str());
      throw Error(detail::cat("input '", front_t::names[k], "': expected per-sample shape ", ws, ", got ", x.shape_str()));
    }
    GALML_CHECK(x.batch_size() > 0, "input '", front_t::names[k], "': empty batch");
  }
  void bind_all() {
    front_.bind(params_.data(), grads_.data());
    front_.set_ids(40);
    trunk_.bind(params_.data() + front_params, grads_.data() + front_params);
    trunk_.set_ids(1);
    int64_t off = front_params + trunk_params;
    [&]<size_t... I>(std::index_sequence<I...>) {
      ((std::get<I>(heads_).bind(params_.data() + off, grads_.data() + off), std::get<I>(heads_).set_ids(2 + I), off += heads_t::params[I]), ...);
    }(std::make_index_sequence<num_heads>{});
  }
  template <class V> struct NameStack {
    V& v; std::vector<std::string> stack;
    void enter(const std::string& n) { stack.push_back(n); }
    void leave() { stack.pop_back(); }
    std::string full(const std::string& n) const { std::string s; for (auto& p : stack) s += p + "."; return s + n; }
    void param(const std::string& n, T* d, T* g, std::vector<int64_t> s) { v.param(full(n), d, g, std::move(s)); }
    void buffer(const std::string& n, T* d, std::vector<int64_t> s) { v.buffer(full(n), d, std::move(s)); }
  };

  Tensor<T, B> params_, grads_;
  front_t front_;
  std::array<Tensor<T, B>, num_inputs> inputs_, dinputs_;
  trunk_impl trunk_;
  typename heads_t::impls heads_;
  std::array<Tensor<T, B>, num_heads> outputs_;
  Tensor<T, B> input_, trunk_out_, dtrunk_, tmp_, dinput_;
  Context ctx_;
};

}  // namespace galml

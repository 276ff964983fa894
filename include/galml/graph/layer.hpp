#pragma once
// The layer contract. A layer *spec* is a small type a user writes in a network (Conv1D<16, 3>); it is
// bound to an input shape, a scalar type and a backend to give its *impl*:
//
//   struct MyLayer {
//     static std::string name();                                 // "MyLayer(16)" for summary()
//     template <class In> static constexpr bool accepts = ...;   // may this layer take input shape In?
//     template <class In> using expects = ...;                   // a type describing what it wants (for errors)
//     template <class In> using output = Shape<...>;             // per-sample output shape
//     template <class In> static constexpr int64_t num_params = ...;
//     template <class In, class T, class B> struct impl : LayerImplBase<T, B> {
//       static void init(T* params, Rng& rng, Init how);        // initialise its slice (host memory)
//       void forward(const T* x, T* y, int64_t N, Context& ctx);
//       void backward(const T* x, const T* y, const T* dy, T* dx, int64_t N, Context& ctx);
//                 // dx may be nullptr (nothing upstream needs it); parameter gradients ACCUMULATE (+=)
//       template <class V> void visit(V& v);                    // named parameters and buffers
//     };
//   };
//
// Parameters and gradients are slices of one contiguous buffer owned by the Model: the impl receives
// pointers to its slice in bind(). See docs/writing-a-layer.md.
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "galml/core/backend.hpp"
#include "galml/core/rng.hpp"
#include "galml/core/shape.hpp"
#include "galml/core/tensor.hpp"

namespace galml {

enum class Mode {
  train,  // dropout samples, normalisation layers use and update batch statistics
  eval,   // dropout off, normalisation uses running statistics
  mc      // Monte-Carlo dropout: dropout samples, normalisation statistics frozen (as in eval)
};
inline const char* mode_name(Mode m) { return m == Mode::train ? "train" : m == Mode::eval ? "eval" : "mc"; }

// Per-call state passed down the network.
struct Context {
  Mode mode = Mode::eval;
  uint64_t seed = 0;   // from manual_seed() at model construction (or set explicitly)
  uint64_t step = 0;   // number of stochastic forward passes so far: dropout mask = f(seed, layer id, step, index)
  bool sample_dropout() const { return mode != Mode::eval; }
  bool batch_statistics() const { return mode == Mode::train; }
};

// Common state of every impl: a stable id (its position in the network, for RNG streams) and its
// parameter/gradient slices.
template <class T, class B>
struct LayerImplBase {
  using scalar = T;
  using backend = B;
  uint64_t layer_id = 0;
  T* params = nullptr;
  T* grads = nullptr;
  void bind(T* p, T* g) { params = p; grads = g; }
  template <class V> void visit(V&) {}
};

// Expectation descriptors: they appear in compiler errors next to the failing layer and shapes.
template <int R> struct expects_rank {};
template <int R, int MinLast> struct expects_rank_and_min_length {};
template <class S> struct expects_shape {};
struct expects_anything {};

// Shown in the compiler's error when a layer cannot take its input:
//   shape_mismatch<position, layer, input shape, what the layer expects>
template <int Position, class Layer, class InputShape, class Expected>
struct shape_mismatch { static constexpr bool value = false; };  // own member, so the compiler prints these types

namespace detail {
template <class T> struct always_false : std::false_type {};
}

// Visitor helpers: a visitor v receives
//   v.param(name, T* data, T* grad, std::vector<int64_t> shape)
//   v.buffer(name, T* data, std::vector<int64_t> shape)
//   v.enter(name) / v.leave()   (for hierarchical names "trunk.3.weight")
template <class V> concept has_enter = requires(V v) { v.enter(std::string()); v.leave(); };
template <class V> void visit_enter(V& v, const std::string& n) { if constexpr (has_enter<V>) v.enter(n); }
template <class V> void visit_leave(V& v) { if constexpr (has_enter<V>) v.leave(); }

// PyTorch default initialisation helpers (Kaiming-uniform with a = sqrt(5) => U(+-1/sqrt(fan_in))
// for weights, U(+-1/sqrt(fan_in)) for biases) and Keras' Glorot-uniform.
enum class Init { pytorch, glorot_uniform };
template <class T>
void init_uniform(T* p, int64_t n, double bound, Rng& rng) {
  for (int64_t i = 0; i < n; ++i) p[i] = T(rng.uniform(-bound, bound));
}
template <class T>
void init_weight(T* w, int64_t n, int64_t fan_in, int64_t fan_out, Init how, Rng& rng) {
  if (how == Init::pytorch) init_uniform(w, n, 1.0 / std::sqrt(double(fan_in)), rng);
  else init_uniform(w, n, std::sqrt(6.0 / double(fan_in + fan_out)), rng);
}
template <class T>
void init_bias(T* b, int64_t n, int64_t fan_in, Init how, Rng& rng) {
  if (how == Init::pytorch) init_uniform(b, n, 1.0 / std::sqrt(double(fan_in)), rng);
  else for (int64_t i = 0; i < n; ++i) b[i] = T(0);
}

// A layer spec, checked structurally (the full contract needs an input shape to check).
template <class L> concept LayerSpec = requires { { L::name() } -> std::convertible_to<std::string>; };

}  // namespace galml

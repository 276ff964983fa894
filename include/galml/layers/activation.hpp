#pragma once
// Elementwise activations: ReLU, GELU (exact erf form, PyTorch default), Sigmoid, Tanh. Any shape.
#include "galml/backend/cpu/ops.hpp"
#include "galml/graph/layer.hpp"

namespace galml {

namespace detail {
template <backend_ops::Act A>
struct Activation {
  static std::string name() {
    switch (A) { case backend_ops::Act::relu: return "ReLU"; case backend_ops::Act::sigmoid: return "Sigmoid";
                 case backend_ops::Act::tanh: return "Tanh"; default: return "GELU"; }
  }
  template <class In> static constexpr bool accepts = true;
  template <class In> using expects = expects_anything;
  template <class In> using output = In;
  template <class In> static constexpr int64_t num_params = 0;
  static constexpr bool is_relu = A == backend_ops::Act::relu;  // Chain may fuse it into the layer before
  template <class In, class T, class B>
  struct impl : LayerImplBase<T, B> {
    using in_shape = In;
    using out_shape = In;
    static void init(T*, Rng&, Init) {}
    void forward(const T* x, T* y, int64_t N, Context&) { activation_forward(B{}, A, x, y, N * In::size); }
    void backward(const T* x, const T* y, const T* dy, T* dx, int64_t N, Context&) {
      if (dx) activation_backward(B{}, A, x, y, dy, dx, N * In::size);
    }
  };
};
}  // namespace detail

using ReLU = detail::Activation<backend_ops::Act::relu>;
using GELU = detail::Activation<backend_ops::Act::gelu>;
using Sigmoid = detail::Activation<backend_ops::Act::sigmoid>;
using Tanh = detail::Activation<backend_ops::Act::tanh>;

}  // namespace galml

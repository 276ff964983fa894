#pragma once
// Softmax and LogSoftmax over the LAST axis (torch.softmax(x, -1) / torch.log_softmax(x, -1)),
// numerically stable. For a loss on class logits prefer the losses' fused log-softmax; these layers
// are for attention weights and probability outputs.
#include "galml/backend/cpu/softmax.hpp"
#include "galml/graph/layer.hpp"

namespace galml {

namespace detail {
template <bool Log>
struct SoftmaxLayer {
  static std::string name() { return Log ? "LogSoftmax" : "Softmax"; }
  template <class In> static constexpr bool accepts = In::rank >= 1;
  template <class In> using expects = expects_anything;
  template <class In> using output = In;
  template <class In> static constexpr int64_t num_params = 0;
  template <class In, class T, class B>
  struct impl : LayerImplBase<T, B> {
    using in_shape = In;
    using out_shape = In;
    static constexpr int64_t D = In::dims[In::rank - 1], R = In::size / D;
    static void init(T*, Rng&, Init) {}
    void forward(const T* x, T* y, int64_t N, Context&) { softmax_forward(B{}, x, y, N * R, D, Log); }
    // The gradient needs only the output y (saved by the caller), not x.
    void backward(const T*, const T* y, const T* dy, T* dx, int64_t N, Context&) {
      if (dx) softmax_backward(B{}, y, dy, dx, N * R, D, Log);
    }
  };
};
}  // namespace detail

using Softmax = detail::SoftmaxLayer<false>;
using LogSoftmax = detail::SoftmaxLayer<true>;

}  // namespace galml

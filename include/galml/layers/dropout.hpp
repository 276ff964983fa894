#pragma once
// Dropout<P>: inverted dropout with rate P (torch.nn.Dropout(P)). Active in train and MC modes, identity
// in eval. The mask depends only on (seed, layer id, step, element), so runs are reproducible on any
// thread count and a resumed run draws the same masks.
#include "galml/backend/cpu/ops.hpp"
#include "galml/graph/layer.hpp"

namespace galml {

template <double P = 0.5>
struct Dropout {
  static_assert(P >= 0.0 && P < 1.0, "Dropout: rate must be in [0, 1)");
  static std::string name() { return "Dropout(" + std::to_string(P).substr(0, 4) + ")"; }
  template <class In> static constexpr bool accepts = true;
  template <class In> using expects = expects_anything;
  template <class In> using output = In;
  template <class In> static constexpr int64_t num_params = 0;
  template <class In, class T, class B>
  struct impl : LayerImplBase<T, B> {
    using in_shape = In;
    using out_shape = In;
    Tensor<uint8_t, B> mask;
    bool active = false;
    static void init(T*, Rng&, Init) {}
    void forward(const T* x, T* y, int64_t N, Context& ctx) {
      active = ctx.sample_dropout() && P > 0.0;
      if (!active) { copy(B{}, x, y, N * In::size); return; }
      mask.ensure({N * In::size});
      dropout_forward(B{}, x, y, mask.data(), N * In::size, P, ctx.seed, this->layer_id, ctx.step);
    }
    void backward(const T*, const T*, const T* dy, T* dx, int64_t N, Context&) {
      if (!dx) return;
      if (!active) { copy(B{}, dy, dx, N * In::size); return; }
      dropout_backward(B{}, dy, (const uint8_t*)mask.data(), dx, N * In::size, P);
    }
  };
};

}  // namespace galml

#pragma once
// FlattenChannelsLast: a channels-first feature map Shape<C, H, W> (or Shape<C, L>) -> Shape<H*W*C> in
// channels-last order, y[(h*W + w)*C + c] = x[c, h, w]. This is what a Keras Flatten produces on its
// channels-last tensors, so a Keras Dense kernel that follows a Flatten loads unchanged (after the
// usual [in, out] -> [out, in] transpose) behind a channels-first galml trunk. Equivalent to
// torch x.permute(0, 2, 3, 1).flatten(1). A per-sample [C, H*W] -> [H*W, C] transpose.
#include "galml/backend/cpu/layout.hpp"
#include "galml/graph/layer.hpp"

namespace galml {

struct FlattenChannelsLast {
  static std::string name() { return "FlattenChannelsLast"; }
  template <class In> static constexpr bool accepts = In::rank >= 2;
  template <class In> using expects = expects_rank<3>;
  template <class In> using output = Shape<int(In::size)>;
  template <class In> static constexpr int64_t num_params = 0;
  template <class In, class T, class B>
  struct impl : LayerImplBase<T, B> {
    using in_shape = In;
    using out_shape = output<In>;
    static constexpr int64_t C = In::dims[0], HW = In::size / In::dims[0];
    static void init(T*, Rng&, Init) {}
    void forward(const T* x, T* y, int64_t N, Context&) { transpose2d(B{}, x, y, N, C, HW); }
    void backward(const T*, const T*, const T* dy, T* dx, int64_t N, Context&) { if (dx) transpose2d(B{}, dy, dx, N, HW, C); }
  };
};

}  // namespace galml

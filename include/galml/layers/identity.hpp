#pragma once
// Identity: passes its input through (an empty head or trunk).
#include "galml/backend/cpu/ops.hpp"
#include "galml/graph/layer.hpp"

namespace galml {
struct Identity {
  static std::string name() { return "Identity"; }
  template <class In> static constexpr bool accepts = true;
  template <class In> using expects = expects_anything;
  template <class In> using output = In;
  template <class In> static constexpr int64_t num_params = 0;
  template <class In, class T, class B>
  struct impl : LayerImplBase<T, B> {
    using in_shape = In;
    using out_shape = In;
    static void init(T*, Rng&, Init) {}
    void forward(const T* x, T* y, int64_t N, Context&) { copy(B{}, x, y, N * In::size); }
    void backward(const T*, const T*, const T* dy, T* dx, int64_t N, Context&) { if (dx) copy(B{}, dy, dx, N * In::size); }
  };
};
}  // namespace galml

#pragma once
// Transpose: Shape<A, B> -> Shape<B, A> per sample (x.transpose(1, 2) in PyTorch on [N, A, B]),
// e.g. channels-first <-> channels-last or a C x L feature map into an L x C token sequence.
#include "galml/backend/cpu/layout.hpp"
#include "galml/graph/layer.hpp"

namespace galml {

struct Transpose {
  static std::string name() { return "Transpose"; }
  template <class In> static constexpr bool accepts = In::rank == 2;
  template <class In> using expects = expects_rank<2>;
  template <class In> using output = Shape<In::dims[In::rank - 1], In::dims[0]>;
  template <class In> static constexpr int64_t num_params = 0;
  template <class In, class T, class B>
  struct impl : LayerImplBase<T, B> {
    using in_shape = In;
    using out_shape = output<In>;
    static constexpr int64_t A = In::dims[0], Bd = In::dims[1];
    static void init(T*, Rng&, Init) {}
    void forward(const T* x, T* y, int64_t N, Context&) { transpose2d(B{}, x, y, N, A, Bd); }
    void backward(const T*, const T*, const T* dy, T* dx, int64_t N, Context&) { if (dx) transpose2d(B{}, dy, dx, N, Bd, A); }
  };
};

}  // namespace galml

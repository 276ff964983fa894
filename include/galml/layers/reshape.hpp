#pragma once
// Flatten (any shape -> Shape<size>, row-major, i.e. channels-first order like torch.flatten) and
// Reshape<Dims...> (same element count). Both are copies on the forward pass.
#include "galml/backend/cpu/ops.hpp"
#include "galml/graph/layer.hpp"

namespace galml {

namespace detail {
template <class OutFn>
struct reshape_like {
  template <class In> static constexpr int64_t num_params = 0;
  template <class In, class T, class B>
  struct impl : LayerImplBase<T, B> {
    using in_shape = In;
    using out_shape = typename OutFn::template out<In>;
    static void init(T*, Rng&, Init) {}
    void forward(const T* x, T* y, int64_t N, Context&) { copy(B{}, x, y, N * In::size); }
    void backward(const T*, const T*, const T* dy, T* dx, int64_t N, Context&) { if (dx) copy(B{}, dy, dx, N * In::size); }
  };
};
struct flatten_fn { template <class In> using out = Shape<int(In::size)>; };
template <int... D> struct reshape_fn { template <class In> using out = Shape<D...>; };
}  // namespace detail

struct Flatten : detail::reshape_like<detail::flatten_fn> {
  static std::string name() { return "Flatten"; }
  template <class In> static constexpr bool accepts = true;
  template <class In> using expects = expects_anything;
  template <class In> using output = Shape<int(In::size)>;
};

template <int... D>
struct Reshape : detail::reshape_like<detail::reshape_fn<D...>> {
  static std::string name() { return "Reshape" + Shape<D...>::str(); }
  template <class In> static constexpr bool accepts = In::size == Shape<D...>::size;
  template <class In> using expects = expects_shape<Shape<D...>>;
  template <class In> using output = Shape<D...>;
};

}  // namespace galml

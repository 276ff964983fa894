#pragma once
// L2Normalize<Eps = 1e-12>: each row of the LAST axis divided by its Euclidean norm, like
// torch.nn.functional.normalize(x, p=2, dim=-1, eps): y = x / max(‖x‖₂, eps). A zero row stays zero
// (no NaN). Any shape; for a flattened feature vector Shape<D> it normalises the whole vector
// (GCSNet head H1).
#include "galml/backend/cpu/attention.hpp"
#include "galml/graph/layer.hpp"

namespace galml {

template <double Eps = 1e-12>
struct L2Normalize {
  static_assert(Eps > 0.0, "L2Normalize: eps must be positive");
  static std::string name() { return "L2Normalize"; }
  template <class In> static constexpr bool accepts = In::rank >= 1;
  template <class In> using expects = expects_anything;
  template <class In> using output = In;
  template <class In> static constexpr int64_t num_params = 0;

  template <class In, class T, class B>
  struct impl : LayerImplBase<T, B> {
    using in_shape = In;
    using out_shape = In;
    static constexpr int64_t D = In::dims[In::rank - 1], R = In::size / D;
    Tensor<T, B> norm;  // per-row norms, saved for backward
    static void init(T*, Rng&, Init) {}
    void forward(const T* x, T* y, int64_t N, Context&) {
      norm.ensure({N * R});
      l2normalize_forward(B{}, x, y, norm.data(), N * R, D, Eps);
    }
    void backward(const T*, const T* y, const T* dy, T* dx, int64_t N, Context&) {
      if (dx) l2normalize_backward(B{}, y, (const T*)norm.data(), dy, dx, N * R, D, Eps);
    }
  };
};

}  // namespace galml

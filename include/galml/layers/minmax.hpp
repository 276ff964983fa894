#pragma once
// MinMaxNormalize: per-sample min-max scaling over ALL features of a sample (any shape), as a
// trainable-graph layer (MMLforGalAM row A7, spec §2.2):
//
//   y = (x - min(x)) / (max(x) - min(x))       min/max over the In::size values of one sample
//
// Gradient: besides the direct 1/(max - min), it flows through the min and max themselves, i.e. to
// the ONE element holding each: dL/dx[argmin] += sum_i dL/dy_i (y_i - 1)/r, dL/dx[argmax] -= sum_i
// dL/dy_i y_i / r (r = max - min). Ties: the FIRST occurrence (lowest flat index) is the argmin /
// argmax and takes the whole extremum gradient (a subgradient; the others get only the direct term).
// Guard: a sample with max == min (range exactly 0, e.g. a constant or all-zero feature) has no
// scale: its output is 0 and its input gradient 0 (no eps is added, so non-degenerate samples are
// exact). This matches the data-side galml::data::MinMaxNormalize, which rejects such spectra instead.
// No parameters. Ops in backend/cpu/minmax.hpp and backend/cuda/norm.cuh.
#include "galml/backend/cpu/minmax.hpp"
#include "galml/graph/layer.hpp"

namespace galml {

struct MinMaxNormalize {
  static std::string name() { return "MinMaxNormalize"; }
  template <class In> static constexpr bool accepts = In::rank >= 1;
  template <class In> using expects = expects_anything;
  template <class In> using output = In;
  template <class In> static constexpr int64_t num_params = 0;

  template <class In, class T, class B>
  struct impl : LayerImplBase<T, B> {
    using in_shape = In;
    using out_shape = In;
    static constexpr int64_t D = In::size;
    Tensor<int32_t, B> argext;  // [N, 2]: first argmin, first argmax per sample (for backward)
    static void init(T*, Rng&, Init) {}
    void forward(const T* x, T* y, int64_t N, Context&) {
      argext.ensure({N, 2});
      minmax_normalize_forward(B{}, x, y, argext.data(), N, D);
    }
    void backward(const T* x, const T* y, const T* dy, T* dx, int64_t N, Context&) {
      if (dx) minmax_normalize_backward(B{}, x, y, (const int32_t*)argext.data(), dy, dx, N, D);
    }
  };
};

}  // namespace galml

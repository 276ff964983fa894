#pragma once
// BatchNorm2D<Eps = 1e-5, Momentum = 0.1, Affine = true> over a channels-first Shape<C, H, W>, like
// torch.nn.BatchNorm2d(C): statistics per channel over batch, height and width. Same semantics as
// BatchNorm1D (see batchnorm.hpp) and the same backend ops, with L = H*W:
//   train: batch mean / biased variance; running stats r = (1 - m) r + m * batch, the running
//          variance from the UNBIASED batch variance (count N*H*W).
//   eval:  running statistics.
//   mc:    like eval; the statistics stay frozen.
// Parameters weight [C] (1), bias [C] (0); buffers running_mean [C] (0), running_var [C] (1).
// Keras' BatchNormalization(momentum=0.99, epsilon=1e-3) weights the OLD value by 0.99: its momentum
// and epsilon correspond to BatchNorm2D<1e-3, 0.01>.
#include "galml/layers/batchnorm.hpp"

namespace galml {

template <double Eps = 1e-5, double Momentum = 0.1, bool Affine = true>
struct BatchNorm2D {
  static_assert(Eps > 0.0, "BatchNorm2D: epsilon must be positive");
  static_assert(Momentum >= 0.0 && Momentum <= 1.0, "BatchNorm2D: momentum must be in [0, 1]");
  static std::string name() { return "BatchNorm2D(eps=" + std::to_string(Eps) + ", m=" + std::to_string(Momentum) + ")"; }
  template <class In> static constexpr bool accepts = In::rank == 3;
  template <class In> using expects = expects_rank<3>;
  template <class In> using output = In;
  template <class In> static constexpr int64_t num_params = Affine ? 2 * int64_t(In::dims[0]) : 0;

  // The same implementation as BatchNorm1D (L = H*W values per sample and channel).
  template <class In, class T, class B> using impl = detail::BatchNormImpl<Eps, Momentum, Affine, In, T, B>;
};

}  // namespace galml

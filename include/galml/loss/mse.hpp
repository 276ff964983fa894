#pragma once
// Mean squared error over all N×D entries (PyTorch MSELoss 'mean', Keras 'mse' on multi-output heads).
// With a row mask the mean is over the kept rows' entries.
#include "galml/loss/common.hpp"

namespace galml::loss {

struct MSE : detail::ElementwiseMean<MSE> {
  static constexpr const char* kName = "MSE";
  static std::pair<double, double> value_grad(double r, double scale) { return {r * r, 2.0 * scale * r}; }
};

}  // namespace galml::loss

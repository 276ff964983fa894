#pragma once
// Gradient clipping over the single gradient buffer (PyTorch clip_grad_norm_ / clip_grad_value_).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "galml/core/error.hpp"

namespace galml::optim {

// Scales grads so that their global norm is at most max_norm (coef = max_norm/(norm + 1e-6), capped at 1,
// as PyTorch does). norm_type: 2 (default), any p > 0, or +inf for the max-abs norm. Returns the norm
// BEFORE clipping (useful for logging and NaN guards). A non-finite norm throws if error_if_nonfinite,
// otherwise the buffer is left as is (scaling by NaN would destroy every gradient).
template <class T>
inline double clip_grad_norm(T* grads, int64_t n, double max_norm, double norm_type = 2.0,
                             bool error_if_nonfinite = false) {
  GALML_CHECK(max_norm >= 0, "clip_grad_norm: max_norm must be >= 0, got ", max_norm);
  GALML_CHECK(norm_type > 0, "clip_grad_norm: norm_type must be > 0, got ", norm_type);
  double norm = 0;
  if (std::isinf(norm_type)) {
    for (int64_t i = 0; i < n; ++i) norm = std::max(norm, std::abs(double(grads[i])));
    for (int64_t i = 0; i < n; ++i) if (std::isnan(double(grads[i]))) norm = std::numeric_limits<double>::quiet_NaN();
  } else if (norm_type == 2.0) {
    for (int64_t i = 0; i < n; ++i) norm += double(grads[i]) * double(grads[i]);
    norm = std::sqrt(norm);
  } else {
    for (int64_t i = 0; i < n; ++i) norm += std::pow(std::abs(double(grads[i])), norm_type);
    norm = std::pow(norm, 1.0 / norm_type);
  }
  if (!std::isfinite(norm)) {
    GALML_CHECK(!error_if_nonfinite, "clip_grad_norm: the total gradient norm is ", norm,
                " (non-finite gradients; check the loss for NaN/inf)");
    return norm;
  }
  const double coef = max_norm / (norm + 1e-6);
  if (coef < 1.0)
    for (int64_t i = 0; i < n; ++i) grads[i] = static_cast<T>(double(grads[i]) * coef);
  return norm;
}

// Clamps every gradient to [−clip_value, clip_value].
template <class T>
inline void clip_grad_value(T* grads, int64_t n, double clip_value) {
  GALML_CHECK(clip_value >= 0, "clip_grad_value: clip_value must be >= 0, got ", clip_value);
  const T c = static_cast<T>(clip_value);
  for (int64_t i = 0; i < n; ++i) grads[i] = std::clamp(grads[i], -c, c);
}

}  // namespace galml::optim

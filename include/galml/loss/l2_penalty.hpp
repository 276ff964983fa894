#pragma once
// Keras-style L2 kernel regulariser: penalty = λ·Σw², gradient 2λw ADDED into an existing gradient buffer
// (the network has already written the data-loss gradient there). Note the factor: PyTorch weight_decay=wd
// corresponds to λ = wd/2 (spec §6). Usually applied to kernels only, so an overload takes parameter ranges
// (offset, size) within the one contiguous parameter buffer.
#include <span>

#include "galml/loss/common.hpp"
#include "galml/optim/param_range.hpp"

namespace galml::loss {

struct L2Penalty {
  double lambda = 1e-3;  // MMLforGalAM uses 0.001

  // Returns λΣw² over w[0..n); grad (nullable) += 2λw.
  template <class T> T forward_backward(const T* w, int64_t n, detail::ptr<T> grad = nullptr) const {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) {
      s += double(w[i]) * double(w[i]);
      if (grad) grad[i] += static_cast<T>(2.0 * lambda * double(w[i]));
    }
    return static_cast<T>(lambda * s);
  }

  // Same over several ranges of one parameter buffer; grads index the same buffer layout.
  template <class T>
  T forward_backward(const T* params, std::span<const optim::ParamRange> ranges, detail::ptr<T> grad = nullptr) const {
    double s = 0;
    for (const auto& r : ranges)
      s += double(forward_backward(params + r.offset, r.size, grad ? grad + r.offset : nullptr));
    return static_cast<T>(s);
  }
};

}  // namespace galml::loss

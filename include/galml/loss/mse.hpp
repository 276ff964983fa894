#pragma once
// Mean squared error over all N×D entries (PyTorch MSELoss 'mean', Keras 'mse' on multi-output heads).
// With a row mask the mean is over the kept rows' entries.
#include "galml/loss/common.hpp"

namespace galml::loss {

struct MSE {
  template <class T>
  T forward_backward(const T* pred, const T* target, int64_t N, int64_t D, detail::ptr<T> grad = nullptr,
                     detail::cptr<T> mask = nullptr) const {
    detail::check_shape(N, D, "MSE");
    return detail::reduce(*this, pred, target, N, D, grad, mask);
  }

  double row_unit(int64_t D) const { return double(D); }
  template <class T> double denominator(const T*, int64_t N, int64_t D, const T* mask) const {
    return double(detail::kept_rows(mask, N)) * double(D);
  }
  template <class T>
  double accumulate(const T* pred, const T* target, int64_t N, int64_t D, T* grad, const T* mask, double scale) const {
    double total = 0;
    for (int64_t i = 0; i < N; ++i) {
      const bool k = detail::kept(mask, i);
      for (int64_t d = 0; d < D; ++d) {
        const int64_t j = i * D + d;
        if (!k) { if (grad) grad[j] = T(0); continue; }  // never read a dropped row's target
        const double r = double(pred[j]) - double(target[j]);
        total += r * r;
        if (grad) grad[j] = static_cast<T>(2.0 * scale * r);
      }
    }
    return total;
  }
};

}  // namespace galml::loss

#pragma once
// Softmax cross-entropy on logits, with PyTorch CrossEntropyLoss semantics (reduction 'mean'):
//  - hard targets (class index per row, stored as T) with optional class weights: the weighted mean
//    divides by Σ_i w[y_i] over the kept rows, exactly like PyTorch;
//  - label_smoothing ε: q = (1−ε)·onehot + ε/C; with class weights the smoothing term is Σ_c w_c·(−log p_c),
//    also divided by Σ_i w[y_i] (PyTorch 1.13 cross_entropy_loss_label_smoothing);
//  - soft targets (N×D probabilities, e.g. mixup): loss_i = −Σ_c w_c q_c log p_c, mean over rows (PyTorch
//    divides probability targets by N, never by the weights); smoothing is applied to q first.
// Gradient w.r.t. logit j of row i: p_j·Σ_c a_c − a_j, where a_c is the coefficient of −log p_c.
#include <vector>

#include "galml/loss/common.hpp"

namespace galml::loss {

struct CrossEntropy {
  std::vector<double> class_weights;  // empty = all 1; otherwise one per class (e.g. sklearn 'balanced')
  double label_smoothing = 0.0;       // ε in [0, 1]
  bool soft_targets = false;          // target is N×D probabilities instead of N class indices

  template <class T>
  T forward_backward(const T* pred, const T* target, int64_t N, int64_t D, detail::ptr<T> grad = nullptr,
                     detail::cptr<T> mask = nullptr) const {
    check(D);
    return detail::reduce(*this, pred, target, N, D, grad, mask);
  }

  // --- pieces used by detail::reduce and Masked<> ---
  double row_unit(int64_t) const { return 1.0; }

  template <class T> double denominator(const T* target, int64_t N, int64_t D, const T* mask) const {
    if (soft_targets || class_weights.empty()) return double(detail::kept_rows(mask, N));
    double s = 0;
    for (int64_t i = 0; i < N; ++i)
      if (detail::kept(mask, i)) s += class_weights[size_t(detail::class_index(target[i], D, i, "CrossEntropy"))];
    return s;
  }

  template <class T>
  double accumulate(const T* pred, const T* target, int64_t N, int64_t D, T* grad, const T* mask, double scale) const {
    check(D);
    std::vector<double> lsm(static_cast<size_t>(D)), a(static_cast<size_t>(D));
    const double eps = label_smoothing;
    double total = 0;
    for (int64_t i = 0; i < N; ++i) {
      T* g = grad ? grad + i * D : nullptr;
      if (!detail::kept(mask, i)) {
        if (g) std::fill(g, g + D, T(0));
        continue;
      }
      detail::log_softmax_row(pred + i * D, D, lsm.data());
      if (soft_targets) {
        const T* q = target + i * D;
        for (int64_t c = 0; c < D; ++c) a[size_t(c)] = w(c) * ((1 - eps) * double(q[c]) + eps / double(D));
      } else {
        const int64_t y = detail::class_index(target[i], D, i, "CrossEntropy");
        for (int64_t c = 0; c < D; ++c) a[size_t(c)] = w(c) * (eps / double(D));
        a[size_t(y)] += (1 - eps) * w(y);
      }
      double li = 0, asum = 0;
      for (int64_t c = 0; c < D; ++c) { li -= a[size_t(c)] * lsm[size_t(c)]; asum += a[size_t(c)]; }
      total += li;
      if (g)
        for (int64_t c = 0; c < D; ++c) g[c] = static_cast<T>(scale * (std::exp(lsm[size_t(c)]) * asum - a[size_t(c)]));
    }
    return total;
  }

 private:
  double w(int64_t c) const { return class_weights.empty() ? 1.0 : class_weights[size_t(c)]; }
  void check(int64_t D) const {
    GALML_CHECK(D >= 1, "CrossEntropy: number of classes D must be >= 1, got ", D);
    GALML_CHECK(class_weights.empty() || int64_t(class_weights.size()) == D, "CrossEntropy: class_weights has ",
                class_weights.size(), " entries but the logits have D=", D, " classes");
    GALML_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0, "CrossEntropy: label_smoothing must be in [0,1], got ",
                label_smoothing);
  }
};

}  // namespace galml::loss

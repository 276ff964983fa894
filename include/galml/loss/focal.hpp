#pragma once
// Softmax (multi-class) focal loss, MTLforGalSpecZ Eq. 6 / Lin et al.:
//   L = −(1/N) Σ_i Σ_c α_c (1 − p_ic)^γ y_ic log p_ic,   p = softmax(logits)
// α is a per-class vector (default 0.25 for every class, spec §1.5 item 3), γ = 2 by default, and the mean
// is over the N (kept) rows. y is one-hot from a class index, or N×D probabilities with soft_targets.
// log p comes from a stable log-softmax and 1 − p from −expm1(log p), so p_t → 1 loses no precision.
// ∂/∂z_j of the class-c term is h_c·(δ_cj − p_j) with h_c = α_c[γ(1−p_c)^(γ−1) p_c log p_c − (1−p_c)^γ].
#include <vector>

#include "galml/loss/common.hpp"

namespace galml::loss {

struct FocalLoss {
  std::vector<double> alpha;  // per-class α_c; empty = default_alpha for every class
  double default_alpha = 0.25;
  double gamma = 2.0;
  bool soft_targets = false;

  template <class T>
  T forward_backward(const T* pred, const T* target, int64_t N, int64_t D, detail::ptr<T> grad = nullptr,
                     detail::cptr<T> mask = nullptr) const {
    return detail::reduce(*this, pred, target, N, D, grad, mask);
  }

  double row_unit(int64_t) const { return 1.0; }
  template <class T> double denominator(const T*, int64_t N, int64_t, const T* mask) const {
    return double(detail::kept_rows(mask, N));
  }

  template <class T>
  double accumulate(const T* pred, const T* target, int64_t N, int64_t D, T* grad, const T* mask, double scale) const {
    GALML_CHECK(D >= 1, "FocalLoss: number of classes D must be >= 1, got ", D);
    GALML_CHECK(alpha.empty() || int64_t(alpha.size()) == D, "FocalLoss: alpha has ", alpha.size(),
                " entries but the logits have D=", D, " classes");
    GALML_CHECK(gamma >= 0, "FocalLoss: gamma must be >= 0, got ", gamma);
    std::vector<double> lsm(static_cast<size_t>(D)), y(static_cast<size_t>(D)), h(static_cast<size_t>(D));
    double total = 0;
    for (int64_t i = 0; i < N; ++i) {
      T* g = grad ? grad + i * D : nullptr;
      if (!detail::kept(mask, i)) {
        if (g) std::fill(g, g + D, T(0));
        continue;
      }
      detail::log_softmax_row(pred + i * D, D, lsm.data());
      if (soft_targets) {
        for (int64_t c = 0; c < D; ++c) y[size_t(c)] = double(target[i * D + c]);
      } else {
        std::fill(y.begin(), y.end(), 0.0);
        y[size_t(detail::class_index(target[i], D, i, "FocalLoss"))] = 1.0;
      }
      double li = 0, yh = 0;
      for (int64_t c = 0; c < D; ++c) {
        h[size_t(c)] = 0;
        if (y[size_t(c)] == 0) continue;
        const double lp = lsm[size_t(c)], p = std::exp(lp), om = -std::expm1(lp), a = a_of(c);
        const double omg = std::pow(om, gamma);
        li -= a * y[size_t(c)] * omg * lp;
        // (1−p)^(γ−1)·log p → 0 as p → 1 for γ > 0; skip it there instead of forming inf·0.
        const double gterm = (gamma == 0 || om <= 0) ? 0.0 : gamma * std::pow(om, gamma - 1) * p * lp;
        h[size_t(c)] = a * (gterm - omg);
        yh += y[size_t(c)] * h[size_t(c)];
      }
      total += li;
      if (g)
        for (int64_t c = 0; c < D; ++c)
          g[c] = static_cast<T>(scale * (y[size_t(c)] * h[size_t(c)] - std::exp(lsm[size_t(c)]) * yh));
    }
    return total;
  }

 private:
  double a_of(int64_t c) const { return alpha.empty() ? default_alpha : alpha[size_t(c)]; }
};

}  // namespace galml::loss

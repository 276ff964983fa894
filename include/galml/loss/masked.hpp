#pragma once
// Masked<Loss>: a per-row mask (1 keep / 0 drop) applied to any galml loss, with a choice of normaliser:
//   Normalize::batch       Σ_kept loss / (N · row unit)   — MTLforGalSpecZ Eq. 7 (÷N, the default)
//   Normalize::mask_count  Σ_kept loss / natural count    — masked mean (÷ΣM); 0 when ΣM = 0
// "row unit" is D for element-wise losses (MSE, MAE) and 1 for classification losses; under ÷N a
// class-weighted CrossEntropy divides by N, because dropped rows have no class and hence no weight.
// Dropped rows are skipped (select, not multiply), so their targets may be NaN without poisoning the value
// or the gradient; their gradient rows are exactly 0.
//
// class_mask() builds the mask from TRUE labels (spec §1.5 item 4), e.g. M_i = (label_i == SF).
#include <initializer_list>
#include <vector>

#include "galml/loss/common.hpp"

namespace galml::loss {

template <class Loss>
struct Masked {
  Loss base{};
  Normalize normalize = Normalize::batch;

  template <class T>
  T forward_backward(const T* pred, const T* target, int64_t N, int64_t D, detail::ptr<T> grad = nullptr,
                     detail::cptr<T> mask = nullptr) const {
    detail::check_shape(N, D, "Masked loss");
    const double denom = normalize == Normalize::batch ? double(N) * base.row_unit(D)
                                                       : base.denominator(target, N, D, mask);
    return detail::reduce_with(base, denom, pred, target, N, D, grad, mask);
  }
};

// mask_out[i] = 1 when labels[i] is one of keep_classes, else 0 (NaN or missing labels give 0).
template <class T, class L>
inline void class_mask(const L* labels, int64_t N, std::initializer_list<int64_t> keep_classes, T* mask_out) {
  for (int64_t i = 0; i < N; ++i) {
    bool keep = false;
    for (auto c : keep_classes) keep = keep || labels[i] == static_cast<L>(c);
    mask_out[i] = keep ? T(1) : T(0);
  }
}

template <class T, class L>
inline std::vector<T> class_mask(const L* labels, int64_t N, int64_t keep_class) {
  std::vector<T> m(size_t(N < 0 ? 0 : N));
  class_mask<T, L>(labels, N, {keep_class}, m.data());
  return m;
}

}  // namespace galml::loss

#pragma once
// Shared plumbing for the losses in galml/loss. Every loss works on raw row-major N×D arrays of
// float or double so that network code (and later a CUDA backend) can call it without a tensor type.
//
// Each loss struct provides three small pieces and `detail::reduce` turns them into the public
//   T forward_backward(pred, target, N, D, grad /*nullable*/, mask /*nullable*/) const
// call:
//   denominator(target, N, D, mask)  natural normaliser over the kept rows (count, count·D or Σ class weight)
//   row_unit(D)                      the per-row share of that normaliser when every row counts (for ÷N)
//   accumulate(pred, target, N, D, grad, mask, scale)
//                                    Σ of the per-row losses over kept rows; writes scale·∂Σ/∂pred into grad
//                                    (zero for dropped rows). Dropped rows' targets are never read, so they
//                                    may hold NaN (select, not multiply: NaN·0 is still NaN).
// A row-mask given straight to a plain loss means "mean over the valid rows" (PyTorch ignore_index
// semantics); Masked<Loss> also offers the ÷N convention of MTLforGalSpecZ Eq. 7.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "galml/core/error.hpp"

namespace galml::loss {

// How a masked loss is normalised: ÷N (full batch, MTLforGalSpecZ Eq. 7) or ÷ΣM (MTAN-style masked mean;
// 0 when no row is kept).
enum class Normalize { batch, mask_count };

namespace detail {

// Non-deduced pointer parameter, so callers can pass a literal nullptr for grad or mask.
template <class T> using ptr = std::type_identity_t<T>*;
template <class T> using cptr = const std::type_identity_t<T>*;

template <class T> inline bool kept(const T* mask, int64_t i) { return mask == nullptr || mask[i] != T(0); }

template <class T> inline int64_t kept_rows(const T* mask, int64_t N) {
  if (!mask) return N;
  int64_t k = 0;
  for (int64_t i = 0; i < N; ++i) k += mask[i] != T(0);
  return k;
}

// Class indices arrive as T (one per row); insist on an exact integer so a soft-target array passed by
// mistake is reported instead of silently truncated.
template <class T> inline int64_t class_index(T v, int64_t D, int64_t row, const char* who) {
  GALML_CHECK(std::isfinite(v) && v >= T(0) && v < T(D) && v == std::floor(v), who, ": row ", row, " target ", v,
              " is not a class index in [0, ", D, ") (set soft_targets for probability targets)");
  return static_cast<int64_t>(v);
}

// Numerically stable log-softmax of one row, computed in double whatever T is (the row is short and
// the extra precision keeps float losses close to a double reference).
template <class T> inline void log_softmax_row(const T* z, int64_t D, double* out) {
  double m = -INFINITY;
  for (int64_t c = 0; c < D; ++c) m = std::max(m, double(z[c]));
  double s = 0;
  for (int64_t c = 0; c < D; ++c) s += std::exp(double(z[c]) - m);
  const double lse = m + std::log(s);
  for (int64_t c = 0; c < D; ++c) out[c] = double(z[c]) - lse;
}

inline void check_shape(int64_t N, int64_t D, const char* who) {
  GALML_CHECK(N >= 0 && D >= 1, who, ": bad shape N=", N, " D=", D);
}

// Normalise by `denom`; an empty selection (denom 0) gives value 0 and a zero gradient rather than NaN.
template <class Loss, class T>
inline T reduce_with(const Loss& loss, double denom, const T* pred, const T* target, int64_t N, int64_t D, T* grad,
                     const T* mask) {
  if (!(denom > 0)) {
    if (grad) std::fill(grad, grad + N * D, T(0));
    return T(0);
  }
  const double sum = loss.accumulate(pred, target, N, D, grad, mask, 1.0 / denom);
  return static_cast<T>(sum / denom);
}

template <class Loss, class T>
inline T reduce(const Loss& loss, const T* pred, const T* target, int64_t N, int64_t D, T* grad, const T* mask) {
  return reduce_with(loss, loss.denominator(target, N, D, mask), pred, target, N, D, grad, mask);
}

// The body MAE and MSE share: the mean over the kept rows' N×D entries of an elementwise loss of
// r = pred - target. Elem provides kName and value_grad(r, scale) -> {loss, scale·∂loss/∂pred}.
template <class Elem>
struct ElementwiseMean {
  template <class T>
  T forward_backward(const T* pred, const T* target, int64_t N, int64_t D, ptr<T> grad = nullptr, cptr<T> mask = nullptr) const {
    check_shape(N, D, Elem::kName);
    return reduce(*this, pred, target, N, D, grad, mask);
  }
  double row_unit(int64_t D) const { return double(D); }
  template <class T> double denominator(const T*, int64_t N, int64_t D, const T* mask) const {
    return double(kept_rows(mask, N)) * double(D);
  }
  template <class T>
  double accumulate(const T* pred, const T* target, int64_t N, int64_t D, T* grad, const T* mask, double scale) const {
    double total = 0;
    for (int64_t i = 0; i < N; ++i) {
      const bool k = kept(mask, i);
      for (int64_t d = 0; d < D; ++d) {
        const int64_t j = i * D + d;
        if (!k) { if (grad) grad[j] = T(0); continue; }  // never read a dropped row's target
        const auto [v, g] = Elem::value_grad(double(pred[j]) - double(target[j]), scale);
        total += v;
        if (grad) grad[j] = static_cast<T>(g);
      }
    }
    return total;
  }
};

}  // namespace detail
}  // namespace galml::loss

#pragma once
// CPU twins of the CUDA training-step ops (backend/cuda/train.cuh): the same backend_ops signatures
// with the `cpu` tag, so train::DeviceTrainStep is written once for both backends. Values and
// gradients come from the galml::loss structs and follow optim::Adam exactly; the CUDA versions match
// them to rounding (tests/cuda/test_cuda_train.cpp).
//
//   focal_loss / mae_loss: value -> *loss_out, += value·N -> *sum_out, grad = λ·dL/dpred (λ = *weight,
//     nullptr = 1; added to grad when accumulate). mask_count: divide by the kept rows (a plain loss
//     given a mask), else by N (Masked<Loss>, MTLforGalSpecZ Eq. 7). One difference: a focal target that
//     is not a class index throws here and gives a NaN loss on the GPU.
//   adam_prepare: t += 1, coef = {lr/bc1, sqrt(bc2), lr·sqrt(bc2)/bc1, 1 − lr·wd} from hyper {lr, β1, β2, wd}.
//   adam_update: the optim::Adam / AdamW element update over the whole parameter buffer.
//   adam_update_frozen: the same with optim's frozen mask and per-element step counts (frozen elements
//     are skipped; every other element counts its own step, its bias correction from hyper {lr, β1, β2, wd}).
//   clip_grad_norm: train::train_step's clipping (global L2 norm in double; when finite and > max_norm,
//     g *= T(max_norm / (norm + 1e-6))); the norm goes to *norm_out (nullable).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "galml/core/backend.hpp"
#include "galml/core/error.hpp"
#include "galml/loss/focal.hpp"
#include "galml/loss/mae.hpp"
#include "galml/loss/masked.hpp"

namespace galml::backend_ops {

enum AdamFlag : int { adam_decoupled = 1, adam_amsgrad = 2, adam_keras_eps = 4 };

namespace fused_detail {
template <class T>
inline void finish(const std::vector<T>& g, T* grad, int64_t n, const T* weight, bool accumulate) {
  if (!grad) return;
  const T w = weight ? *weight : T(1);
  for (int64_t i = 0; i < n; ++i) grad[i] = accumulate ? grad[i] + w * g[size_t(i)] : w * g[size_t(i)];
}
template <class T> inline void store(T v, int64_t N, T* loss_out, double* sum_out) {
  if (loss_out) *loss_out = v;
  if (sum_out) *sum_out += double(v) * double(N);
}
}  // namespace fused_detail

template <class T>
void focal_loss(cpu, const T* z, const T* target, const T* mask, int64_t N, int64_t D, const T* alpha, double default_alpha, double gamma,
                bool soft, bool mask_count, const T* weight, T* grad, bool accumulate, T* loss_out, double* sum_out) {
  if (N <= 0) return;
  loss::FocalLoss f;
  if (alpha) f.alpha.assign(alpha, alpha + D);
  f.default_alpha = default_alpha; f.gamma = gamma; f.soft_targets = soft;
  std::vector<T> g(grad ? size_t(N * D) : 0);
  T* gp = grad ? g.data() : nullptr;
  const T v = mask_count ? f.forward_backward(z, target, N, D, gp, mask)
                         : loss::Masked<loss::FocalLoss>{f, loss::Normalize::batch}.forward_backward(z, target, N, D, gp, mask);
  fused_detail::finish(g, grad, N * D, weight, accumulate);
  fused_detail::store(v, N, loss_out, sum_out);
}

template <class T>
void mae_loss(cpu, const T* pred, const T* target, const T* mask, int64_t N, int64_t D, bool mask_count, const T* weight, T* grad,
              bool accumulate, T* loss_out, double* sum_out) {
  if (N <= 0) return;
  std::vector<T> g(grad ? size_t(N * D) : 0);
  T* gp = grad ? g.data() : nullptr;
  const T v = mask_count ? loss::MAE{}.forward_backward(pred, target, N, D, gp, mask)
                         : loss::Masked<loss::MAE>{}.forward_backward(pred, target, N, D, gp, mask);
  fused_detail::finish(g, grad, N * D, weight, accumulate);
  fused_detail::store(v, N, loss_out, sum_out);
}

template <class T>
void adam_prepare(cpu, const double* hyper, int64_t* t, T* coef) {
  const int64_t s = ++*t;
  const double lr = hyper[0], bc1 = 1 - std::pow(hyper[1], double(s)), bc2 = 1 - std::pow(hyper[2], double(s));
  coef[0] = T(lr / bc1);
  coef[1] = T(std::sqrt(bc2));
  coef[2] = T(lr * std::sqrt(bc2) / bc1);
  coef[3] = T(1 - lr * hyper[3]);
}

namespace fused_detail {
// One Adam / AdamW element update with optim::Adam's arithmetic, given the step's bias-correction
// scalars; adam_update (one global step) and adam_update_frozen (per-element steps) share it.
template <class T>
struct AdamElement {
  T b1, b2, omb1, omb2, e, w, decay;
  bool decoupled, ams, keras;
  AdamElement(double beta1, double beta2, double eps, double wd, T decay_, int flags)
      : b1(T(beta1)), b2(T(beta2)), omb1(T(1 - beta1)), omb2(T(1 - beta2)), e(T(eps)), w(T(wd)), decay(decay_),
        decoupled(flags & adam_decoupled), ams(flags & adam_amsgrad), keras(flags & adam_keras_eps) {}
  void operator()(T& p, T g, T& m, T& v, T* vmax, T step_size, T bc2_sqrt, T keras_step) const {
    if (w != T(0)) {
      if (decoupled) p *= decay;
      else g = g + w * p;
    }
    m = b1 * m + omb1 * g;
    v = b2 * v + omb2 * g * g;
    T vv = v;
    if (ams) vv = *vmax = std::max(*vmax, v);
    if (keras) p -= keras_step * (m / (std::sqrt(vv) + e));
    else p -= step_size * (m / (std::sqrt(vv) / bc2_sqrt + e));
  }
};
}  // namespace fused_detail

template <class T>
void adam_update(cpu, T* p, const T* g, T* m, T* v, T* vmax, int64_t n, const T* coef, double beta1, double beta2, double eps, double wd,
                 int flags) {
  const fused_detail::AdamElement<T> step(beta1, beta2, eps, wd, coef[3], flags);
  for (int64_t i = 0; i < n; ++i) step(p[i], g[i], m[i], v[i], vmax ? vmax + i : nullptr, coef[0], coef[1], coef[2]);
}

template <class T>
void adam_update_frozen(cpu, T* p, const T* g, T* m, T* v, T* vmax, int64_t n, const double* hyper, const uint8_t* frozen, int64_t* elem_steps,
                        double eps, int flags) {
  const double lr = hyper[0], beta1 = hyper[1], beta2 = hyper[2];
  const fused_detail::AdamElement<T> step(beta1, beta2, eps, hyper[3], T(1 - lr * hyper[3]), flags);
  for (int64_t i = 0; i < n; ++i) {
    if (frozen[i]) continue;
    const int64_t t = ++elem_steps[i];
    const double bc1 = 1 - std::pow(beta1, double(t)), bc2 = 1 - std::pow(beta2, double(t));
    step(p[i], g[i], m[i], v[i], vmax ? vmax + i : nullptr, T(lr / bc1), T(std::sqrt(bc2)), T(lr * std::sqrt(bc2) / bc1));
  }
}

template <class T>
void clip_grad_norm(cpu, T* g, int64_t n, double max_norm, double* norm_out) {
  GALML_CHECK(max_norm >= 0, "clip_grad_norm: max_norm must be >= 0, got ", max_norm);
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += double(g[i]) * double(g[i]);
  const double norm = std::sqrt(s);
  if (norm_out) *norm_out = norm;
  if (std::isfinite(norm) && norm > max_norm) {
    const T f = T(max_norm / (norm + 1e-6));
    for (int64_t i = 0; i < n; ++i) g[i] *= f;
  }
}

}  // namespace galml::backend_ops

#pragma once
// Adam and AdamW, PyTorch 1.13 (single-tensor) semantics:
//   [AdamW] p ← p·(1 − lr·wd)            [Adam] g ← g + wd·p   (coupled L2)
//   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  v̂max ← max(v̂max, v) with amsgrad
//   p ← p − lr/(1−β1^t) · m / (√v / √(1−β2^t) + ε)
// ε: 1e-8 is PyTorch's default; Keras uses 1e-7 AND puts ε before the bias correction
// ("epsilon hat": p −= lr·√(1−β2^t)/(1−β1^t) · m/(√v + ε)); set keras_epsilon to reproduce tf.keras.
// t is the element's own update count (see OptimizerBase on freezing).
#include <cmath>

#include "galml/optim/optimizer_base.hpp"

namespace galml::optim {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // Adam: coupled (added to the gradient); AdamW: decoupled
  bool amsgrad = false;
  bool keras_epsilon = false;
};

namespace detail {

template <class T, bool Decoupled>
class AdamImpl : public OptimizerBase<T> {
  using Base = OptimizerBase<T>;
  static constexpr const char* kName = Decoupled ? "AdamW" : "Adam";

 public:
  explicit AdamImpl(int64_t n, AdamOptions o) : Base(n, o.lr), opt_(o) {
    GALML_CHECK(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1, kName, ": betas must be in [0, 1), got (",
                o.beta1, ", ", o.beta2, ")");
    GALML_CHECK(o.eps >= 0 && o.weight_decay >= 0, kName, ": eps and weight_decay must be >= 0");
  }

  const AdamOptions& options() const { return opt_; }

  void step(T* params, const T* grads, int64_t n) {
    this->check_step(params, grads, n, kName);
    if (m_.empty()) {  // moments are created lazily so a never-stepped optimizer saves nothing big
      m_.assign(size_t(n), T(0));
      v_.assign(size_t(n), T(0));
      if (opt_.amsgrad) vmax_.assign(size_t(n), T(0));
    }
    const double lr = this->lr_;
    const T b1 = T(opt_.beta1), b2 = T(opt_.beta2), omb1 = T(1 - opt_.beta1), omb2 = T(1 - opt_.beta2);
    const T wd = T(opt_.weight_decay), eps = T(opt_.eps), decay = T(1 - lr * opt_.weight_decay);
    // Bias-correction scalars depend only on the element's step; cache the common (global) one.
    Coef common = coef(this->step_ + 1);
    for (int64_t i = 0; i < n; ++i) {
      if (this->is_frozen(i)) continue;
      const int64_t t = this->prior_steps(i) + 1;
      const Coef c = t == this->step_ + 1 ? common : coef(t);
      T g = grads[i];
      if constexpr (Decoupled) {
        if (opt_.weight_decay != 0) params[i] *= decay;
      } else {
        if (opt_.weight_decay != 0) g = g + wd * params[i];
      }
      T& m = m_[size_t(i)];
      T& v = v_[size_t(i)];
      m = b1 * m + omb1 * g;
      v = b2 * v + omb2 * g * g;
      T vv = v;
      if (opt_.amsgrad) vv = vmax_[size_t(i)] = std::max(vmax_[size_t(i)], v);
      if (opt_.keras_epsilon)
        params[i] -= c.keras_step * (m / (std::sqrt(vv) + eps));
      else
        params[i] -= c.step_size * (m / (std::sqrt(vv) / c.bc2_sqrt + eps));
    }
    this->finish_step();
  }

  const std::vector<T>& exp_avg() const { return m_; }
  const std::vector<T>& exp_avg_sq() const { return v_; }
  const std::vector<T>& max_exp_avg_sq() const { return vmax_; }

  // Saves hyper-parameters too and restores them on load (PyTorch param_group semantics).
  StateDict state_dict() const {
    StateDict s;
    this->save_base(s);
    s.set_scalar<double>("beta1", opt_.beta1);
    s.set_scalar<double>("beta2", opt_.beta2);
    s.set_scalar<double>("eps", opt_.eps);
    s.set_scalar<double>("weight_decay", opt_.weight_decay);
    s.set_scalar<uint8_t>("amsgrad", opt_.amsgrad);
    s.set_scalar<uint8_t>("keras_epsilon", opt_.keras_epsilon);
    if (!m_.empty()) {
      s.set_vector("exp_avg", m_);
      s.set_vector("exp_avg_sq", v_);
      if (!vmax_.empty()) s.set_vector("max_exp_avg_sq", vmax_);
    }
    return s;
  }
  void load_state_dict(const StateDict& s) {
    this->load_base(s, kName);
    opt_.lr = this->lr_;
    opt_.beta1 = s.scalar<double>("beta1");
    opt_.beta2 = s.scalar<double>("beta2");
    opt_.eps = s.scalar<double>("eps");
    opt_.weight_decay = s.scalar<double>("weight_decay");
    opt_.amsgrad = s.scalar<uint8_t>("amsgrad") != 0;
    opt_.keras_epsilon = s.scalar<uint8_t>("keras_epsilon") != 0;
    m_.clear(); v_.clear(); vmax_.clear();
    if (s.contains("exp_avg")) {
      this->load_buf(s, "exp_avg", m_, this->n_);
      this->load_buf(s, "exp_avg_sq", v_, this->n_);
      if (opt_.amsgrad) {
        if (s.contains("max_exp_avg_sq")) this->load_buf(s, "max_exp_avg_sq", vmax_, this->n_);
        else vmax_.assign(size_t(this->n_), T(0));
      }
    }
  }

 private:
  struct Coef { T step_size, bc2_sqrt, keras_step; };
  Coef coef(int64_t t) const {
    const double bc1 = 1 - std::pow(opt_.beta1, double(t)), bc2 = 1 - std::pow(opt_.beta2, double(t));
    return {T(this->lr_ / bc1), T(std::sqrt(bc2)), T(this->lr_ * std::sqrt(bc2) / bc1)};
  }

  AdamOptions opt_;
  std::vector<T> m_, v_, vmax_;
};

}  // namespace detail

template <class T>
class Adam : public detail::AdamImpl<T, false> {
 public:
  explicit Adam(int64_t n, AdamOptions o = {}) : detail::AdamImpl<T, false>(n, o) {}
};

// AdamW defaults to weight_decay = 1e-2 like torch.optim.AdamW.
inline AdamOptions adamw_defaults() { AdamOptions o; o.weight_decay = 1e-2; return o; }

template <class T>
class AdamW : public detail::AdamImpl<T, true> {
 public:
  explicit AdamW(int64_t n, AdamOptions o = adamw_defaults()) : detail::AdamImpl<T, true>(n, o) {}
};

}  // namespace galml::optim

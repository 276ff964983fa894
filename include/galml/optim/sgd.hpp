#pragma once
// SGD with momentum, dampening, Nesterov and (coupled) weight decay, PyTorch 1.13 semantics:
//   d = g + wd·p;  b = d on the first update, else b = μ·b + (1−τ)·d;  d = nesterov ? d + μ·b : b;  p −= lr·d
#include "galml/optim/optimizer_base.hpp"

namespace galml::optim {

struct SGDOptions {
  double lr = 1e-2;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

template <class T>
class SGD : public OptimizerBase<T> {
  using Base = OptimizerBase<T>;

 public:
  explicit SGD(int64_t n, SGDOptions o = {}) : Base(n, o.lr), opt_(o) {
    GALML_CHECK(!o.nesterov || (o.momentum > 0 && o.dampening == 0),
                "SGD: Nesterov momentum requires momentum > 0 and zero dampening");
    GALML_CHECK(o.momentum >= 0 && o.weight_decay >= 0, "SGD: momentum and weight_decay must be >= 0");
  }

  const SGDOptions& options() const { return opt_; }

  void step(T* params, const T* grads, int64_t n) {
    this->check_step(params, grads, n, "SGD");
    if (opt_.momentum != 0 && buf_.empty()) buf_.assign(size_t(n), T(0));
    const T lr = T(this->lr_), wd = T(opt_.weight_decay), mu = T(opt_.momentum), damp = T(1 - opt_.dampening);
    for (int64_t i = 0; i < n; ++i) {
      if (this->is_frozen(i)) continue;
      T d = grads[i];
      if (opt_.weight_decay != 0) d = d + wd * params[i];
      if (opt_.momentum != 0) {
        T& b = buf_[size_t(i)];
        b = this->prior_steps(i) == 0 ? d : mu * b + damp * d;
        d = opt_.nesterov ? d + mu * b : b;
      }
      params[i] -= lr * d;
    }
    this->finish_step();
  }

  const std::vector<T>& momentum_buffer() const { return buf_; }

  // Saves hyper-parameters too and restores them on load (PyTorch param_group semantics).
  StateDict state_dict() const {
    StateDict s;
    this->save_base(s);
    s.set_scalar<double>("momentum", opt_.momentum);
    s.set_scalar<double>("dampening", opt_.dampening);
    s.set_scalar<double>("weight_decay", opt_.weight_decay);
    s.set_scalar<uint8_t>("nesterov", opt_.nesterov);
    if (!buf_.empty()) s.set_vector("momentum_buffer", buf_);
    return s;
  }
  void load_state_dict(const StateDict& s) {
    this->load_base(s, "SGD");
    opt_.lr = this->lr_;
    opt_.momentum = s.scalar<double>("momentum");
    opt_.dampening = s.scalar<double>("dampening");
    opt_.weight_decay = s.scalar<double>("weight_decay");
    opt_.nesterov = s.scalar<uint8_t>("nesterov") != 0;
    if (s.contains("momentum_buffer")) this->load_buf(s, "momentum_buffer", buf_, this->n_);
    else buf_.clear();
  }

 private:
  SGDOptions opt_;
  std::vector<T> buf_;
};

}  // namespace galml::optim

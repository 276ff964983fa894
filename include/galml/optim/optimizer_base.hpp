#pragma once
// Common part of galml optimizers: one contiguous parameter buffer of n elements, a learning rate, a
// step counter and an optional "frozen" mask. Frozen parameters are skipped entirely: they never change
// (no update, no weight decay) and their optimizer moments stay zero.
//
// Step counts are per element once any freezing is used, matching PyTorch where the state (and step) of
// a parameter only starts on its first update: a block unfrozen after k steps starts its Adam bias
// correction and its SGD momentum buffer afresh instead of inheriting the global count.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "galml/core/error.hpp"
#include "galml/core/state_dict.hpp"
#include "galml/optim/param_range.hpp"

namespace galml::optim {

template <class T>
class OptimizerBase {
 public:
  explicit OptimizerBase(int64_t n, double lr) : n_(n), lr_(lr) {
    GALML_CHECK(n >= 0, "optimizer: parameter count must be >= 0, got ", n);
    GALML_CHECK(lr >= 0, "optimizer: learning rate must be >= 0, got ", lr);
  }

  int64_t size() const { return n_; }
  double lr() const { return lr_; }
  void set_lr(double lr) {
    GALML_CHECK(lr >= 0, "optimizer: learning rate must be >= 0, got ", lr);
    lr_ = lr;
  }
  int64_t step_count() const { return step_; }  // number of step() calls

  // --- freezing ---
  // mask[i] != 0 freezes parameter i. Replaces any previous mask.
  void set_frozen_mask(std::vector<uint8_t> mask) {
    GALML_CHECK(int64_t(mask.size()) == n_, "optimizer: frozen mask has ", mask.size(), " entries, buffer has ", n_);
    ensure_elem_steps();
    frozen_ = std::move(mask);
  }
  void freeze(ParamRange r) { set_range(r, 1); }
  void unfreeze(ParamRange r) { set_range(r, 0); }
  void unfreeze_all() { if (!frozen_.empty()) std::fill(frozen_.begin(), frozen_.end(), uint8_t(0)); }
  bool is_frozen(int64_t i) const { return !frozen_.empty() && frozen_[size_t(i)] != 0; }
  const std::vector<uint8_t>& frozen_mask() const { return frozen_; }

 protected:
  void check_step(const T* params, const T* grads, int64_t n, const char* who) const {
    GALML_CHECK(n == n_, who, "::step: optimizer was built for ", n_, " parameters, got ", n);
    GALML_CHECK(n == 0 || (params && grads), who, "::step: null parameter or gradient buffer");
  }
  // Number of updates element i has had before the current one (0 = first update).
  int64_t prior_steps(int64_t i) const { return elem_steps_.empty() ? step_ : elem_steps_[size_t(i)]; }
  void finish_step() {
    if (!elem_steps_.empty())
      for (int64_t i = 0; i < n_; ++i)
        if (!is_frozen(i)) ++elem_steps_[size_t(i)];
    ++step_;
  }

  void save_base(StateDict& s) const {
    s.set_scalar<double>("lr", lr_);
    s.set_scalar<int64_t>("step", step_);
    s.set_scalar<int64_t>("numel", n_);
    if (!frozen_.empty()) s.set_vector("frozen", frozen_);
    if (!elem_steps_.empty()) s.set_vector("elem_steps", elem_steps_);
  }
  void load_base(const StateDict& s, const char* who) {
    const auto n = s.scalar<int64_t>("numel");
    GALML_CHECK(n == n_, who, "::load_state_dict: checkpoint is for ", n, " parameters, optimizer has ", n_);
    lr_ = s.scalar<double>("lr");
    step_ = s.scalar<int64_t>("step");
    frozen_ = s.contains("frozen") ? s.vector<uint8_t>("frozen") : std::vector<uint8_t>{};
    elem_steps_ = s.contains("elem_steps") ? s.vector<int64_t>("elem_steps") : std::vector<int64_t>{};
  }
  // Moment buffers are saved in T; loading converts float<->double if the checkpoint differs.
  static void load_buf(const StateDict& s, const std::string& name, std::vector<T>& buf, int64_t n) {
    buf.assign(size_t(n), T(0));
    s.at(name).copy_to(buf.data(), n, name);
  }

  int64_t n_;
  double lr_;
  int64_t step_ = 0;
  std::vector<uint8_t> frozen_;       // empty = nothing frozen
  std::vector<int64_t> elem_steps_;   // empty = every element has step_ updates

 private:
  void ensure_elem_steps() {
    if (elem_steps_.empty()) elem_steps_.assign(size_t(n_), step_);
  }
  void set_range(ParamRange r, uint8_t v) {
    GALML_CHECK(r.offset >= 0 && r.size >= 0 && r.offset + r.size <= n_, "optimizer: range [", r.offset, ", ",
                r.offset + r.size, ") is outside the parameter buffer of ", n_);
    ensure_elem_steps();
    if (frozen_.empty()) frozen_.assign(size_t(n_), 0);
    std::fill(frozen_.begin() + r.offset, frozen_.begin() + r.offset + r.size, v);
  }
};

}  // namespace galml::optim

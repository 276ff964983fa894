#pragma once
// Learning-rate schedules with PyTorch 1.13 semantics and state_dict for resume.
// Each can drive any optimizer with lr()/set_lr() (`step(opt)` / `step(metric, opt)`), or be used on a
// plain double lr.
#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <numbers>
#include <string>

#include "galml/core/error.hpp"
#include "galml/core/state_dict.hpp"

namespace galml::optim {

template <class O>
concept HasLearningRate = requires(O o, double v) {
  { o.lr() } -> std::convertible_to<double>;
  o.set_lr(v);
};

// ---------------------------------------------------------------------------------------------------
// ReduceLROnPlateau: every knob of torch.optim.lr_scheduler.ReduceLROnPlateau.
//   improvement (min, rel): m < best·(1 − threshold); (min, abs): m < best − threshold;
//               (max, rel): m > best·(1 + threshold); (max, abs): m > best + threshold.
//   A bad epoch increments the counter; during cooldown the counter is held at 0. When the counter
//   exceeds patience: lr ← max(lr·factor, min_lr) (skipped if the change is ≤ eps), cooldown starts and
//   the counter resets. A NaN metric is never an improvement.
struct PlateauOptions {
  enum class Mode { min, max };
  enum class ThresholdMode { rel, abs };
  Mode mode = Mode::min;
  double factor = 0.1;
  int patience = 10;
  double threshold = 1e-4;
  ThresholdMode threshold_mode = ThresholdMode::rel;
  int cooldown = 0;
  double min_lr = 0.0;
  double eps = 1e-8;
};

class ReduceLROnPlateau {
 public:
  using Mode = PlateauOptions::Mode;
  using ThresholdMode = PlateauOptions::ThresholdMode;

  explicit ReduceLROnPlateau(PlateauOptions o = {}) : o_(o) {
    GALML_CHECK(o.factor < 1.0 && o.factor >= 0, "ReduceLROnPlateau: factor must be in [0, 1), got ", o.factor);
    GALML_CHECK(o.patience >= 0 && o.cooldown >= 0, "ReduceLROnPlateau: patience and cooldown must be >= 0");
    reset();
  }

  const PlateauOptions& options() const { return o_; }
  double best() const { return best_; }
  int num_bad_epochs() const { return bad_; }
  int cooldown_counter() const { return cooldown_counter_; }
  int64_t last_epoch() const { return last_epoch_; }
  bool in_cooldown() const { return cooldown_counter_ > 0; }

  void reset() {
    best_ = o_.mode == Mode::min ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
    bad_ = 0;
    cooldown_counter_ = 0;
  }

  bool is_better(double a, double best) const {
    if (o_.mode == Mode::min)
      return o_.threshold_mode == ThresholdMode::rel ? a < best * (1.0 - o_.threshold) : a < best - o_.threshold;
    return o_.threshold_mode == ThresholdMode::rel ? a > best * (1.0 + o_.threshold) : a > best + o_.threshold;
  }

  // Feed one epoch's monitored value; returns the learning rate to use next.
  double step(double metric, double current_lr) {
    ++last_epoch_;
    if (is_better(metric, best_)) {
      best_ = metric;
      bad_ = 0;
    } else {
      ++bad_;
    }
    if (in_cooldown()) {
      --cooldown_counter_;
      bad_ = 0;  // bad epochs during cooldown do not count
    }
    double lr = current_lr;
    if (bad_ > o_.patience) {
      const double new_lr = std::max(current_lr * o_.factor, o_.min_lr);
      if (current_lr - new_lr > o_.eps) lr = new_lr;
      cooldown_counter_ = o_.cooldown;
      bad_ = 0;
    }
    return lr;
  }
  template <HasLearningRate O> double step(double metric, O& opt) {
    const double lr = step(metric, double(opt.lr()));
    opt.set_lr(lr);
    return lr;
  }

  StateDict state_dict() const {
    StateDict s;
    s.set_scalar<uint8_t>("mode", o_.mode == Mode::max);
    s.set_scalar<uint8_t>("threshold_mode", o_.threshold_mode == ThresholdMode::abs);
    s.set_scalar<double>("factor", o_.factor);
    s.set_scalar<int64_t>("patience", o_.patience);
    s.set_scalar<double>("threshold", o_.threshold);
    s.set_scalar<int64_t>("cooldown", o_.cooldown);
    s.set_scalar<double>("min_lr", o_.min_lr);
    s.set_scalar<double>("eps", o_.eps);
    s.set_scalar<double>("best", best_);
    s.set_scalar<int64_t>("num_bad_epochs", bad_);
    s.set_scalar<int64_t>("cooldown_counter", cooldown_counter_);
    s.set_scalar<int64_t>("last_epoch", last_epoch_);
    return s;
  }
  void load_state_dict(const StateDict& s) {
    o_.mode = s.scalar<uint8_t>("mode") ? Mode::max : Mode::min;
    o_.threshold_mode = s.scalar<uint8_t>("threshold_mode") ? ThresholdMode::abs : ThresholdMode::rel;
    o_.factor = s.scalar<double>("factor");
    o_.patience = int(s.scalar<int64_t>("patience"));
    o_.threshold = s.scalar<double>("threshold");
    o_.cooldown = int(s.scalar<int64_t>("cooldown"));
    o_.min_lr = s.scalar<double>("min_lr");
    o_.eps = s.scalar<double>("eps");
    best_ = s.scalar<double>("best");
    bad_ = int(s.scalar<int64_t>("num_bad_epochs"));
    cooldown_counter_ = int(s.scalar<int64_t>("cooldown_counter"));
    last_epoch_ = s.scalar<int64_t>("last_epoch");
  }

 private:
  PlateauOptions o_;
  double best_ = 0;
  int bad_ = 0;
  int cooldown_counter_ = 0;
  int64_t last_epoch_ = 0;
};

// ---------------------------------------------------------------------------------------------------
// Epoch-indexed schedules. Construct with the base lr; lr() is the rate for the current epoch (epoch 0
// before any step). step() advances one epoch. They use PyTorch's recursive ("chainable") update, so
// the sequence matches torch bit for bit in double rather than only to rounding.
class EpochSchedule {
 public:
  explicit EpochSchedule(double base_lr) : base_lr_(base_lr), lr_(base_lr) {}
  double lr() const { return lr_; }
  double base_lr() const { return base_lr_; }
  int64_t last_epoch() const { return last_epoch_; }

 protected:
  void save(StateDict& s) const {
    s.set_scalar<double>("base_lr", base_lr_);
    s.set_scalar<double>("lr", lr_);
    s.set_scalar<int64_t>("last_epoch", last_epoch_);
  }
  void load(const StateDict& s) {
    base_lr_ = s.scalar<double>("base_lr");
    lr_ = s.scalar<double>("lr");
    last_epoch_ = s.scalar<int64_t>("last_epoch");
  }
  double base_lr_, lr_;
  int64_t last_epoch_ = 0;
};

// StepLR: lr ← lr·gamma every step_size epochs (GaSNet: ×0.5 every 5).
class StepLR : public EpochSchedule {
 public:
  StepLR(double base_lr, int64_t step_size, double gamma = 0.1) : EpochSchedule(base_lr), step_size_(step_size), gamma_(gamma) {
    GALML_CHECK(step_size >= 1, "StepLR: step_size must be >= 1, got ", step_size);
  }
  double step() {
    ++last_epoch_;
    if (last_epoch_ % step_size_ == 0) lr_ *= gamma_;
    return lr_;
  }
  template <HasLearningRate O> double step(O& opt) { opt.set_lr(step()); return lr_; }

  StateDict state_dict() const {
    StateDict s; save(s);
    s.set_scalar<int64_t>("step_size", step_size_);
    s.set_scalar<double>("gamma", gamma_);
    return s;
  }
  void load_state_dict(const StateDict& s) {
    load(s);
    step_size_ = s.scalar<int64_t>("step_size");
    gamma_ = s.scalar<double>("gamma");
  }

 private:
  int64_t step_size_;
  double gamma_;
};

// CosineAnnealingLR (SGDR without restarts), PyTorch's recursive form:
//   lr_t = η_min + (lr_{t−1} − η_min)·(1 + cos(πt/T))/(1 + cos(π(t−1)/T)), with the special case
//   (t − 1 − T) % 2T == 0 handled additively as torch does (the ratio would be 0/0 there).
class CosineAnnealingLR : public EpochSchedule {
 public:
  CosineAnnealingLR(double base_lr, int64_t T_max, double eta_min = 0.0) : EpochSchedule(base_lr), T_max_(T_max), eta_min_(eta_min) {
    GALML_CHECK(T_max >= 1, "CosineAnnealingLR: T_max must be >= 1, got ", T_max);
  }
  double step() {
    ++last_epoch_;
    const double pi = std::numbers::pi, T = double(T_max_), t = double(last_epoch_);
    if ((last_epoch_ - 1 - T_max_) % (2 * T_max_) == 0)
      lr_ = lr_ + (base_lr_ - eta_min_) * (1 - std::cos(pi / T)) / 2;
    else
      lr_ = (1 + std::cos(pi * t / T)) / (1 + std::cos(pi * (t - 1) / T)) * (lr_ - eta_min_) + eta_min_;
    return lr_;
  }
  template <HasLearningRate O> double step(O& opt) { opt.set_lr(step()); return lr_; }

  // Closed form, for reference and logging.
  double closed_form(int64_t epoch) const {
    return eta_min_ + (base_lr_ - eta_min_) * (1 + std::cos(std::numbers::pi * double(epoch) / double(T_max_))) / 2;
  }

  StateDict state_dict() const {
    StateDict s; save(s);
    s.set_scalar<int64_t>("T_max", T_max_);
    s.set_scalar<double>("eta_min", eta_min_);
    return s;
  }
  void load_state_dict(const StateDict& s) {
    load(s);
    T_max_ = s.scalar<int64_t>("T_max");
    eta_min_ = s.scalar<double>("eta_min");
  }

 private:
  int64_t T_max_;
  double eta_min_;
};

}  // namespace galml::optim

#pragma once
// Task-weighting policies for multi-task losses. Both expose
//   std::vector<double> weights_for_epoch(int epoch_one_based) const;
//   void record_epoch(std::vector<double> mean_raw_losses);   // training-epoch means, unweighted
//   StateDict state_dict() const;  void load_state_dict(const StateDict&);
// Call weights_for_epoch(t) before epoch t starts and hold λ fixed within it; call record_epoch after it.
#include <algorithm>
#include <cmath>
#include <vector>

#include "galml/core/error.hpp"
#include "galml/core/state_dict.hpp"

namespace galml::loss {

struct FixedWeights {
  std::vector<double> lambdas;

  std::vector<double> weights_for_epoch(int) const { return lambdas; }
  void record_epoch(const std::vector<double>&) {}
  StateDict state_dict() const { StateDict s; s.set_vector("lambdas", lambdas); return s; }
  void load_state_dict(const StateDict& s) { lambdas = s.vector<double>("lambdas"); }
};

// Dynamic Weight Average (Liu et al. 2019, MTAN trainer convention; spec §1.3 and §6):
//   λ_k(t) = 1 for t = 1, 2 (one-based);  otherwise w_k = L̄_k(t−1)/L̄_k(t−2), λ = K·softmax(w/T).
// L̄_k(e) is what record_epoch received after epoch e. The whole history is kept (and saved) so that a
// resumed run computes the same λ, and λ for any past epoch can be recomputed for logging.
class DWA {
 public:
  explicit DWA(int num_tasks = 2, double temperature = 2.0) : K_(num_tasks), T_(temperature) {
    GALML_CHECK(num_tasks >= 1, "DWA: num_tasks must be >= 1, got ", num_tasks);
    GALML_CHECK(temperature > 0, "DWA: temperature must be > 0, got ", temperature);
  }

  int num_tasks() const { return K_; }
  double temperature() const { return T_; }
  int epochs_recorded() const { return int(history_.size()); }
  const std::vector<std::vector<double>>& history() const { return history_; }

  std::vector<double> weights_for_epoch(int epoch_one_based) const {
    GALML_CHECK(epoch_one_based >= 1, "DWA::weights_for_epoch: epochs are one-based, got ", epoch_one_based);
    if (epoch_one_based <= 2) return std::vector<double>(size_t(K_), 1.0);
    GALML_CHECK(int(history_.size()) >= epoch_one_based - 1, "DWA::weights_for_epoch(", epoch_one_based,
                "): needs the losses of epochs ", epoch_one_based - 2, " and ", epoch_one_based - 1, " but only ",
                history_.size(), " epochs were recorded");
    const auto& prev = history_[size_t(epoch_one_based - 2)];   // L̄(t−1)
    const auto& prev2 = history_[size_t(epoch_one_based - 3)];  // L̄(t−2)
    std::vector<double> w(static_cast<size_t>(K_));
    // A task whose loss reached exactly 0 two epochs ago has no defined ratio; treat it as unchanged (w=1).
    for (size_t k = 0; k < w.size(); ++k) w[k] = prev2[k] > 0 ? prev[k] / prev2[k] : 1.0;
    return weights_from_ratios(w, T_);
  }

  // λ = K·softmax(w/T), shifted by max(w) for stability. Public for tests and for logging.
  static std::vector<double> weights_from_ratios(const std::vector<double>& w, double temperature) {
    const double m = *std::max_element(w.begin(), w.end());
    std::vector<double> e(w.size());
    double s = 0;
    for (size_t k = 0; k < w.size(); ++k) s += e[k] = std::exp((w[k] - m) / temperature);
    for (auto& v : e) v = double(w.size()) * v / s;
    return e;
  }

  void record_epoch(std::vector<double> mean_losses) {
    GALML_CHECK(int(mean_losses.size()) == K_, "DWA::record_epoch: expected ", K_, " task losses, got ",
                mean_losses.size());
    for (size_t k = 0; k < mean_losses.size(); ++k)
      GALML_CHECK(std::isfinite(mean_losses[k]) && mean_losses[k] >= 0, "DWA::record_epoch: task ", k,
                  " mean loss is ", mean_losses[k], " (must be finite and >= 0)");
    history_.push_back(std::move(mean_losses));
  }

  StateDict state_dict() const {
    StateDict s;
    s.set_scalar<int64_t>("num_tasks", K_);
    s.set_scalar<double>("temperature", T_);
    std::vector<double> flat;
    for (auto& h : history_) flat.insert(flat.end(), h.begin(), h.end());
    s.set("history", flat.data(), {int64_t(history_.size()), int64_t(K_)});
    return s;
  }

  void load_state_dict(const StateDict& s) {
    const auto k = s.scalar<int64_t>("num_tasks");
    GALML_CHECK(k == K_, "DWA::load_state_dict: checkpoint has ", k, " tasks, this DWA has ", K_);
    T_ = s.scalar<double>("temperature");
    const auto& a = s.at("history");
    GALML_CHECK(a.shape.size() == 2 && a.shape[1] == K_, "DWA::load_state_dict: 'history' must be E×", K_);
    const auto flat = a.to_vector<double>();
    history_.assign(size_t(a.shape[0]), std::vector<double>(size_t(K_)));
    for (size_t e = 0; e < history_.size(); ++e)
      std::copy_n(flat.begin() + std::ptrdiff_t(e * size_t(K_)), K_, history_[e].begin());
  }

 private:
  int K_;
  double T_;
  std::vector<std::vector<double>> history_;
};

}  // namespace galml::loss

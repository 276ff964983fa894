#pragma once
// Multi-task objective (MTLforGalSpecZ Eq. 5, GCSNet aux loss, stellar multi-head): named tasks, each with
// its own loss and its own head output, total = Σ_k λ_k L_k. Each task's gradient buffer receives
// λ_k·∂L_k/∂pred_k, and the raw (unweighted) L_k are returned too, because DWA needs epoch means of the
// raw losses. The losses are a flat type list held in a std::tuple and visited with a fold expression.
#include <array>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "galml/loss/common.hpp"

namespace galml::loss {

// One task's arrays for a batch (same meaning as the loss forward_backward arguments).
template <class T>
struct TaskBatch {
  const T* pred = nullptr;
  const T* target = nullptr;
  int64_t N = 0;
  int64_t D = 1;
  T* grad = nullptr;        // nullable: value only
  const T* mask = nullptr;  // nullable: every row kept
};

struct MultiTaskValues {
  std::vector<std::string> names;
  std::vector<double> raw;      // unweighted L_k
  std::vector<double> weights;  // λ_k used
  double total = 0;             // Σ λ_k L_k

  double operator[](std::string_view name) const {
    for (size_t k = 0; k < names.size(); ++k)
      if (names[k] == name) return raw[k];
    GALML_CHECK(false, "MultiTaskValues: no task named '", std::string(name), "'");
    return 0;
  }
};

// Combine already-computed task losses (for callers that evaluate the heads themselves).
inline MultiTaskValues combine_tasks(std::vector<std::string> names, std::vector<double> raw,
                                     std::span<const double> weights) {
  GALML_CHECK(raw.size() == names.size() && weights.size() == names.size(), "combine_tasks: ", names.size(),
              " task names, ", raw.size(), " losses and ", weights.size(), " weights");
  MultiTaskValues v{std::move(names), std::move(raw), {weights.begin(), weights.end()}, 0.0};
  for (size_t k = 0; k < v.raw.size(); ++k) v.total += v.weights[k] * v.raw[k];
  return v;
}

template <class... Losses>
class MultiTaskLoss {
 public:
  static constexpr size_t K = sizeof...(Losses);

  MultiTaskLoss(std::array<std::string, K> names, Losses... losses)
      : names_(std::move(names)), losses_(std::move(losses)...) {}

  const std::array<std::string, K>& names() const { return names_; }
  template <size_t I> auto& loss() { return std::get<I>(losses_); }
  template <size_t I> const auto& loss() const { return std::get<I>(losses_); }

  // weights: λ_k, one per task in declaration order (e.g. from DWA::weights_for_epoch).
  template <class T>
  MultiTaskValues forward_backward(const std::array<TaskBatch<T>, K>& batches, std::span<const double> weights) const {
    GALML_CHECK(weights.size() == K, "MultiTaskLoss: ", K, " tasks but ", weights.size(), " weights");
    std::vector<double> raw(K);
    run(batches, weights, raw, std::make_index_sequence<K>{});
    return combine_tasks({names_.begin(), names_.end()}, std::move(raw), weights);
  }

 private:
  template <class T, size_t... I>
  void run(const std::array<TaskBatch<T>, K>& b, std::span<const double> w, std::vector<double>& raw,
           std::index_sequence<I...>) const {
    (one<I>(b[I], w[I], raw[I]), ...);
  }
  template <size_t I, class T>
  void one(const TaskBatch<T>& b, double w, double& raw) const {
    raw = double(std::get<I>(losses_).forward_backward(b.pred, b.target, b.N, b.D, b.grad, b.mask));
    if (b.grad)  // chain rule through the weight: ∂(λL)/∂pred = λ·∂L/∂pred
      for (int64_t j = 0; j < b.N * b.D; ++j) b.grad[j] = static_cast<T>(w * double(b.grad[j]));
  }

  std::array<std::string, K> names_;
  std::tuple<Losses...> losses_;
};

}  // namespace galml::loss

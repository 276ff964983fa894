#pragma once
// Training, evaluation and prediction for the MTLforGalSpecZ networks (spec §1.2-§1.4).
#include <chrono>
#include <nlohmann/json.hpp>

#include "data.hpp"
#include "galml/galml.hpp"
#include "galml/loss/focal.hpp"
#include "galml/loss/mae.hpp"
#include "galml/loss/masked.hpp"
#include "galml/loss/task_weighting.hpp"
#include "galml/metrics/binned.hpp"
#include "galml/metrics/classification.hpp"
#include "galml/metrics/regression.hpp"
#include "galml/metrics/uncertainty.hpp"
#include "galml/models/mtlforgalspecz.hpp"
#include "galml/optim/adam.hpp"
#include "galml/optim/schedulers.hpp"
#include "galml/train/memory_source.hpp"
#include "galml/train/trainer.hpp"
#include "galml/report/atomic_write.hpp"

namespace mtl {

enum class TaskSet { both, cls, reg };
inline const char* task_name(TaskSet t) { return t == TaskSet::both ? "both" : t == TaskSet::cls ? "cls" : "reg"; }

struct TrainConfig {
  int epochs = 100, batch = 128;
  TaskSet task = TaskSet::both;
  bool attention = true;
  uint64_t seed = 42;
  double lr = 1e-3;
  bool resume = false, progress = true;
  int stop_after_epoch = 0;
  galml::Init init = galml::Init::pytorch;  // spec §1.2 assumption; glorot_uniform is Keras' default
};

// The network types (dropout 0.5, padding 0; spec §1.2 and §1.5 items 1-2).
using NetMT = galml::models::MTLforGalSpecZ<0, true, 0.5>;
using NetNoSE = galml::models::MTLforGalSpecZ<0, false, 0.5>;
using NetCls = galml::models::MTLforGalSpecZ_Cls<0, true, 0.5>;
using NetReg = galml::models::MTLforGalSpecZ_Z<0, true, 0.5>;

inline float focal(const float* p, const float* t, int64_t N, int64_t D, float* g, const float* m) {
  return galml::loss::FocalLoss{}.forward_backward(p, t, N, D, g, m);  // α = 0.25 every class, γ = 2
}
inline float masked_mae(const float* p, const float* t, int64_t N, int64_t D, float* g, const float* m) {
  return galml::loss::Masked<galml::loss::MAE>{}.forward_backward(p, t, N, D, g, m);  // ÷N (Eq. 7)
}

// Samples of one split as an in-memory batch source. Regression-only models see SF galaxies only.
inline galml::train::InMemorySource<float> make_source(const Dataset& d, int split, TaskSet task, int batch, bool shuffle, uint64_t seed) {
  std::vector<float> x, cls, oh, mask;
  for (int64_t i : split_indices(d, split)) {
    if (task == TaskSet::reg && !has_oh(d, i)) continue;
    x.insert(x.end(), d.flux.begin() + i * kPixels, d.flux.begin() + (i + 1) * kPixels);
    cls.push_back(float(d.label[size_t(i)]));
    oh.push_back(d.oh[size_t(i)]);
    mask.push_back(has_oh(d, i) ? 1.0f : 0.0f);  // M_i from the TRUE class (SF with a valid label), spec §1.5 item 4
  }
  GALML_CHECK(!cls.empty(), "split ", split, " has no samples for task '", task_name(task), "'");
  std::vector<std::vector<float>> targets, masks;
  if (task != TaskSet::reg) { targets.push_back(cls); masks.emplace_back(); }
  if (task != TaskSet::cls) { targets.push_back(oh); masks.push_back(task == TaskSet::reg ? std::vector<float>{} : mask); }
  return galml::train::InMemorySource<float>({1, kPixels}, std::move(x), std::move(targets), std::move(masks), batch, shuffle, seed);
}

struct TrainSummary { double seconds = 0; int best_epoch = 0; std::vector<galml::train::EpochRecord> history; };

template <class NetT>
TrainSummary train_net(const Dataset& d, const TrainConfig& c, const fs::path& out) {
  using M = galml::Model<NetT>;
  galml::manual_seed(c.seed);
  M model(c.init);
  // Start the regression output at the training-set mean (spec §1.5 item 11): same loss, faster start.
  {
    double s = 0; int64_t n = 0;
    for (int64_t i : d.train) if (has_oh(d, i)) { s += d.oh[size_t(i)]; ++n; }
    if (n > 0 && c.task != TaskSet::cls) for (auto& p : model.parameter_info()) if (p.name == "heads.z.5.bias") model.params()[p.offset] = float(s / double(n));
  }
  std::vector<galml::train::Task<float>> tasks;
  if (c.task != TaskSet::reg) tasks.push_back({"cls", 0, focal});
  if (c.task == TaskSet::reg)  // single-task regression: plain MAE over SF galaxies (spec §1.3)
    tasks.push_back({"z", 0, [](const float* p, const float* t, int64_t N, int64_t D, float* g, const float* m) { return galml::loss::MAE{}.forward_backward(p, t, N, D, g, m); }});
  else if (c.task == TaskSet::both)
    tasks.push_back({"z", 1, masked_mae});
  auto train = make_source(d, 0, c.task, c.batch, true, c.seed);
  auto val = make_source(d, 1, c.task, 256, false, c.seed);
  galml::optim::Adam<float> opt(M::num_params, {.lr = c.lr});
  galml::optim::ReduceLROnPlateau sched({.factor = 0.1, .patience = 10});
  galml::train::TrainerOptions o;
  o.epochs = c.epochs; o.out_dir = out; o.progress = c.progress; o.resume = c.resume; o.stop_after_epoch = c.stop_after_epoch;
  TrainSummary s;
  auto fit = [&](auto& weighting) {
    galml::train::Trainer trainer(model, tasks, opt, weighting, &sched, o);
    trainer.fit(train, val);
    s.seconds = trainer.train_seconds(); s.best_epoch = trainer.best_epoch(); s.history = trainer.history();
  };
  if (c.task == TaskSet::both) { galml::loss::DWA dwa(2, 1.0); fit(dwa); }
  else { galml::loss::FixedWeights w{{1.0}}; fit(w); }
  nlohmann::json j{{"network", c.task == TaskSet::both ? (c.attention ? "multi-task" : "multi-task without SE") : c.task == TaskSet::cls ? "single-task classification" : "single-task regression"},
                   {"task", task_name(c.task)}, {"attention", c.attention}, {"epochs", c.epochs}, {"batch", c.batch}, {"seed", c.seed},
                   {"parameters", M::num_params}, {"train_seconds", s.seconds}, {"best_epoch", s.best_epoch}};
  galml::report::write_file_atomic(out / "config.json", j.dump(2));
  return s;
}

// Predictions of a trained model over dataset indices (eval mode), plus optional MC-dropout σ.
struct Predictions {
  std::vector<int64_t> index;
  std::vector<double> probs;   // [n, 4] (empty for regression-only)
  std::vector<int> cls_pred;
  std::vector<double> oh_pred, oh_sigma;  // empty for classification-only
  double ms_per_spectrum_batched = 0, ms_per_spectrum_b1 = 0;
};

template <class NetT>
Predictions predict_net(const Dataset& d, const std::vector<int64_t>& idx, const fs::path& weights, bool has_cls, bool has_reg, int mc_passes, bool time_it) {
  using M = galml::Model<NetT>;
  M model;
  const auto sd = galml::StateDict::load(weights);
  model.load_state_dict(sd.contains("trainer.epoch") ? sd.sub("model.") : sd);  // a checkpoint or a plain state dict
  Predictions p; p.index = idx;
  const int64_t n = int64_t(idx.size()), bs = 256;
  galml::Tensor<float> x;
  auto fill = [&](int64_t b, int64_t m) {
    x = galml::Tensor<float>({m, 1, kPixels});
    for (int64_t k = 0; k < m; ++k) std::copy_n(d.flux.data() + idx[size_t(b + k)] * kPixels, kPixels, x.data() + k * kPixels);
  };
  model.eval();
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t b = 0; b < n; b += bs) {
    const int64_t m = std::min(bs, n - b);
    fill(b, m);
    model.forward(x);
    for (int64_t k = 0; k < m; ++k) {
      if (has_cls) {
        const float* l = model.output("cls").data() + k * 4;
        const float mx = *std::max_element(l, l + 4);
        double e[4], s = 0; for (int c = 0; c < 4; ++c) { e[c] = std::exp(double(l[c] - mx)); s += e[c]; }
        int best = 0; for (int c = 0; c < 4; ++c) { p.probs.push_back(e[c] / s); if (l[c] > l[best]) best = c; }
        p.cls_pred.push_back(best);
      }
      if (has_reg) p.oh_pred.push_back(model.output("z").data()[k]);
    }
  }
  p.ms_per_spectrum_batched = 1e3 * std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / double(std::max<int64_t>(n, 1));
  if (time_it && n > 0) {  // batch-1 latency over up to 50 spectra
    const int64_t m = std::min<int64_t>(50, n);
    const auto t1 = std::chrono::steady_clock::now();
    for (int64_t k = 0; k < m; ++k) { fill(k, 1); model.forward(x); }
    p.ms_per_spectrum_b1 = 1e3 * std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count() / double(m);
  }
  if (has_reg && mc_passes > 0) {  // MC dropout: dropout sampling on (paper §4.2.1), T passes
    model.mc();
    p.oh_sigma.assign(size_t(n), 0.0);
    std::vector<double> passes(size_t(mc_passes) * size_t(n));
    for (int t = 0; t < mc_passes; ++t)
      for (int64_t b = 0; b < n; b += bs) {
        const int64_t m = std::min(bs, n - b);
        fill(b, m);
        model.forward(x);
        for (int64_t k = 0; k < m; ++k) passes[size_t(t) * size_t(n) + size_t(b + k)] = model.output("z").data()[k];
      }
    auto mcs = galml::metrics::mc_aggregate(passes, size_t(mc_passes), size_t(n), 1);
    p.oh_sigma.assign(mcs.std.begin(), mcs.std.end());
  }
  return p;
}

}  // namespace mtl

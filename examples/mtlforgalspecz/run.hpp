#pragma once
// Training, evaluation and prediction for the MTLforGalSpecZ networks (spec §1.2-§1.4).
// The CUDA backend's op overloads must be declared before the layer templates (model.hpp's qualified
// backend_ops calls), so its header comes first.
#if defined(GALML_HAVE_CUDA_BACKEND)
#include "galml/backend/cuda/cuda.hpp"
#endif
#include <chrono>
#include <fstream>
#include <limits>
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
#include "galml/train/device_step.hpp"
// The CPU kernels are compiled once, in cpu_ops.cpp (see CMakeLists.txt): here they are only declared.
#include "galml/backend/cpu/extern_float.hpp"

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
  std::string precision = "fp32";           // CUDA only: fp32, tf32, bf16 or tf32x3 (docs/gpu.md; FP32 weights in all)
  bool fused_loop = false;                  // CPU: train with the device loop (DeviceTrainStep) instead of the Trainer
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

template <class NetT, class B> TrainSummary train_net_device(const Dataset& d, const TrainConfig& c, const fs::path& out);

// B = galml::cpu: the Trainer (bit-identical resume). B = galml::cuda: train::DeviceTrainStep (losses,
// Adam and the whole step on the GPU, replayed as a CUDA graph; docs/gpu.md).
template <class NetT, class B = galml::cpu>
TrainSummary train_net(const Dataset& d, const TrainConfig& c, const fs::path& out) {
  if constexpr (!std::is_same_v<B, galml::cpu>) return train_net_device<NetT, B>(d, c, out);
  else {
  // The fused loop on the CPU is built for the multi-task networks only (it exists to check the GPU
  // loop's logic without a GPU; building it for all four networks would cost ~5 s of example build).
  if constexpr (std::is_same_v<NetT, NetMT> || std::is_same_v<NetT, NetNoSE>) {
    if (c.fused_loop) return train_net_device<NetT, galml::cpu>(d, c, out);
  } else {
    GALML_CHECK(!c.fused_loop, "--loop fused: on the CPU only for --task both (the multi-task networks); use the default trainer loop");
  }
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
}

// The device training loop: same data, losses (focal; masked MAE ÷N; MAE), DWA / fixed λ, Adam and
// ReduceLROnPlateau as the CPU Trainer; checkpoints best.ckpt / last.ckpt (model weights, optimizer
// state, epoch) and history.csv / history.json in the same format. Validation uses the training batch
// size (the captured buffers). Checkpoints hold what the CPU Trainer's hold (model, optimizer, DWA and
// scheduler state, dropout seed and step, best epoch, history), so --resume continues a stopped run:
// data order is a function of (seed, epoch), and graph replay equals eager stepping bit for bit.
template <class NetT, class B>
TrainSummary train_net_device(const Dataset& d, const TrainConfig& c, const fs::path& out) {
  using M = galml::Model<NetT, float, B>;
  namespace gt = galml::train;
  constexpr const char* kDev = std::is_same_v<B, galml::cpu> ? "cpu" : "cuda";
  fs::create_directories(out);
  galml::manual_seed(c.seed);
  M model(c.init);
  if (c.task != TaskSet::cls) {
    double s = 0; int64_t n = 0;
    for (int64_t i : d.train) if (has_oh(d, i)) { s += d.oh[size_t(i)]; ++n; }
    if (n > 0) for (auto& p : model.parameter_info()) if (p.name == "heads.z.5.bias") {
      const float v = float(s / double(n));
      galml::allocator<B>::copy_from_host(model.params() + p.offset, &v, sizeof v);
    }
  }
  std::vector<gt::DeviceTask> tasks;
  if (c.task != TaskSet::reg) tasks.push_back(gt::DeviceTask::focal("cls", 0));
  if (c.task == TaskSet::reg) tasks.push_back(gt::DeviceTask::mae("z", 0));
  else if (c.task == TaskSet::both) tasks.push_back(gt::DeviceTask::masked_mae("z", 1));
  auto train = make_source(d, 0, c.task, c.batch, true, c.seed);
  auto val = make_source(d, 1, c.task, c.batch, false, c.seed);
  gt::DeviceTrainStep<M> step(model, tasks, c.batch, {.graph = true, .precision = galml::precision_from_name(c.precision), .adam = {.lr = c.lr}});
  galml::optim::ReduceLROnPlateau sched({.factor = 0.1, .patience = 10});
  galml::loss::DWA dwa(2, 1.0);
  galml::loss::FixedWeights fixed{{1.0}};
  const bool use_dwa = c.task == TaskSet::both;
  TrainSummary s;
  double best = std::numeric_limits<double>::infinity(), lr = c.lr;
  const size_t K = tasks.size(), cols = 9 + 3 * K;
  // The precision is part of the run: resuming an FP32 run in BF16 would mix precisions while the report
  // names one. Stored as galml::Precision's value (a StateDict holds numbers).
  const auto precision_code = int64_t(galml::precision_from_name(c.precision));
  // Same keys and history layout as galml::train::Trainer's checkpoints.
  auto save = [&](const fs::path& p, int epoch) {
    galml::StateDict sd;
    sd.merge(model.state_dict(), "model.");
    sd.merge(step.optimizer_state_dict(), "optim.");
    if (use_dwa) sd.merge(dwa.state_dict(), "weighting.");
    sd.merge(sched.state_dict(), "sched.");
    sd.set_scalar<int64_t>("trainer.epoch", epoch);
    sd.set_scalar<int64_t>("trainer.rng_step", int64_t(step.rng_step()));
    sd.set_scalar<int64_t>("trainer.seed", int64_t(model.context().seed));
    sd.set_scalar<int64_t>("trainer.precision", precision_code);
    sd.set_scalar<double>("trainer.best", best);
    sd.set_scalar<int64_t>("trainer.best_epoch", s.best_epoch);
    sd.set_scalar<int64_t>("trainer.bad_epochs", 0);
    sd.set_scalar<double>("trainer.train_seconds", s.seconds);
    std::vector<double> h;
    for (auto& r : s.history) {
      h.insert(h.end(), {double(r.epoch), r.train_total, r.val_total, r.monitored, r.lr, r.seconds, r.samples_per_s, 0.0, 0.0});
      for (double v : r.train_loss) h.push_back(v);
      for (double v : r.val_loss) h.push_back(v);
      for (double v : r.lambda) h.push_back(v);
    }
    sd.set("trainer.history", h.data(), {int64_t(s.history.size()), int64_t(cols)});
    sd.save(p);  // StateDict::save writes a temporary file and renames it
  };
  int first = 1;
  if (c.resume && fs::exists(out / "last.ckpt")) {
    const auto ck = out / "last.ckpt";
    const galml::StateDict sd = galml::StateDict::load(ck);
    GALML_CHECK(sd.contains("trainer.history") && sd.contains("trainer.rng_step"), "--resume: '", ck.string(),
                "' is not a training checkpoint of this program (no trainer.history / trainer.rng_step)");
    const auto& ha = sd.at("trainer.history");
    GALML_CHECK(ha.shape.size() == 2 && size_t(ha.shape[1]) == cols, "--resume: '", ck.string(), "' was written for another task set (",
                ha.shape.size() == 2 ? (ha.shape[1] - 9) / 3 : 0, " tasks; this run has ", K, ")");
    if (sd.contains("trainer.precision")) {
      const int64_t was = sd.scalar<int64_t>("trainer.precision");
      GALML_CHECK(was == precision_code, "--resume: '", ck.string(), "' was trained with --precision ",
                  galml::precision_name(galml::Precision(was)), "; this run asks for ", c.precision,
                  " (resume with the same precision, or start a new --out)");
    }
    model.load_state_dict(sd.sub("model."));
    step.load_optimizer_state_dict(sd.sub("optim."));
    if (use_dwa) dwa.load_state_dict(sd.sub("weighting."));
    sched.load_state_dict(sd.sub("sched."));
    model.context().step = uint64_t(sd.scalar<int64_t>("trainer.rng_step"));
    model.context().seed = uint64_t(sd.scalar<int64_t>("trainer.seed"));
    best = sd.scalar<double>("trainer.best");
    s.best_epoch = int(sd.scalar<int64_t>("trainer.best_epoch"));
    s.seconds = sd.scalar<double>("trainer.train_seconds");
    const auto h = ha.to_vector<double>();
    for (size_t r = 0; r < size_t(ha.shape[0]); ++r) {
      const double* p = h.data() + r * cols;
      galml::train::EpochRecord rec;
      rec.epoch = int(p[0]); rec.train_total = p[1]; rec.val_total = p[2]; rec.monitored = p[3]; rec.lr = p[4]; rec.seconds = p[5]; rec.samples_per_s = p[6];
      rec.train_loss.assign(p + 9, p + 9 + K); rec.val_loss.assign(p + 9 + K, p + 9 + 2 * K); rec.lambda.assign(p + 9 + 2 * K, p + 9 + 3 * K);
      s.history.push_back(rec);
    }
    lr = step.lr();  // the next epoch's learning rate (saved after the scheduler's step)
    first = int(sd.scalar<int64_t>("trainer.epoch")) + 1;
    if (c.progress) std::fprintf(stderr, "resuming from %s at epoch %d\n", ck.string().c_str(), first);
  }
  for (int e = first; e <= c.epochs; ++e) {
    const auto t0 = std::chrono::steady_clock::now();
    galml::train::EpochRecord r;
    r.epoch = e; r.lr = lr;
    r.lambda = use_dwa ? dwa.weights_for_epoch(e) : fixed.weights_for_epoch(e);
    step.set_lambdas(r.lambda);
    step.set_lr(lr);
    train.start_epoch(e);
    galml::train::Batch<float> b;
    int64_t seen = 0; bool pending = false;
    while (train.next(b)) { step.stage(b); seen += b.size(); if (pending) step.step(); pending = true; }
    if (pending) step.step();
    r.train_loss = step.take_means();  // the one read-back of the epoch
    for (size_t k = 0; k < K; ++k)
      GALML_CHECK(std::isfinite(r.train_loss[k]), "training diverged: task '", tasks[k].name, "' mean loss is ", r.train_loss[k], " in epoch ", e,
                  " (lr ", lr, "); the last good checkpoint is ", (out / "last.ckpt").string());
    const double tt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.samples_per_s = double(seen) / std::max(tt, 1e-9);
    if (use_dwa) dwa.record_epoch(r.train_loss);
    val.start_epoch(0);
    while (val.next(b)) step.eval(b);
    r.val_loss = step.take_eval_means();
    for (size_t k = 0; k < K; ++k) { r.train_total += r.lambda[k] * r.train_loss[k]; r.val_total += r.lambda[k] * r.val_loss[k]; }
    r.monitored = r.val_total;
    lr = sched.step(r.monitored, lr);
    step.set_lr(lr);  // now, so the checkpoint's optimizer state holds the next epoch's rate
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    s.seconds += r.seconds;
    s.history.push_back(r);
    const bool improved = r.monitored < best;
    if (improved) { best = r.monitored; s.best_epoch = e; }
    save(out / "last.ckpt", e);
    if (improved) galml::report::copy_file_atomic(out / "last.ckpt", out / "best.ckpt");
    if (c.progress) {
      std::fprintf(stderr, "epoch %d/%d [%s%s] %.0f samples/s |", e, c.epochs, kDev, step.graph_ready() ? ", graph" : "", r.samples_per_s);
      for (size_t k = 0; k < K; ++k) std::fprintf(stderr, " %s %.4g (λ %.3g)", tasks[k].name.c_str(), r.train_loss[k], r.lambda[k]);
      std::fprintf(stderr, " | val %.4g lr %.3g\n", r.monitored, r.lr);
    }
    if (c.stop_after_epoch > 0 && e == c.stop_after_epoch) break;
  }
  {
    std::ofstream f(out / "history.csv");
    f << "epoch,train_total,val_total,monitored,lr,seconds,samples_per_s";
    for (auto& t : tasks) f << ",train_" << t.name;
    for (auto& t : tasks) f << ",val_" << t.name;
    for (auto& t : tasks) f << ",lambda_" << t.name;
    f << "\n";
    for (auto& r : s.history) {
      f << r.epoch << "," << r.train_total << "," << r.val_total << "," << r.monitored << "," << r.lr << "," << r.seconds << "," << r.samples_per_s;
      for (double v : r.train_loss) f << "," << v;
      for (double v : r.val_loss) f << "," << v;
      for (double v : r.lambda) f << "," << v;
      f << "\n";
    }
  }
  nlohmann::json hist{{"best_epoch", s.best_epoch}, {"device", kDev}, {"epochs", nlohmann::json::array()}};
  for (auto& r : s.history)
    hist["epochs"].push_back({{"epoch", r.epoch}, {"train_total", r.train_total}, {"val_total", r.val_total}, {"monitored", r.monitored}, {"lr", r.lr},
                              {"seconds", r.seconds}, {"samples_per_s", r.samples_per_s}, {"train_loss", r.train_loss}, {"val_loss", r.val_loss}, {"lambda", r.lambda}});
  galml::report::write_file_atomic(out / "history.json", hist.dump(2));
  nlohmann::json j{{"network", c.task == TaskSet::both ? (c.attention ? "multi-task" : "multi-task without SE") : c.task == TaskSet::cls ? "single-task classification" : "single-task regression"},
                   {"task", task_name(c.task)}, {"attention", c.attention}, {"epochs", c.epochs}, {"batch", c.batch}, {"seed", c.seed}, {"device", kDev}, {"loop", "fused"},
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

// An evaluation's predictions and the key it was made with (weights hash, MC passes; the test indices
// are stored too), written atomically (StateDict::save).
inline void save_predictions(const fs::path& path, const Predictions& p, uint64_t weights_hash, int mc_passes) {
  galml::StateDict sd;
  sd.set("index", p.index.data(), {int64_t(p.index.size())});
  sd.set("probs", p.probs.data(), {int64_t(p.probs.size())});
  const std::vector<int64_t> cls(p.cls_pred.begin(), p.cls_pred.end());
  sd.set("cls_pred", cls.data(), {int64_t(cls.size())});
  sd.set("oh_pred", p.oh_pred.data(), {int64_t(p.oh_pred.size())});
  sd.set("oh_sigma", p.oh_sigma.data(), {int64_t(p.oh_sigma.size())});
  sd.set_scalar<double>("ms_per_spectrum_batched", p.ms_per_spectrum_batched);
  sd.set_scalar<double>("ms_per_spectrum_b1", p.ms_per_spectrum_b1);
  sd.set_scalar<int64_t>("weights_hash", int64_t(weights_hash));
  sd.set_scalar<int64_t>("mc_passes", mc_passes);
  sd.save(path);
}
// True (and `p` filled) when `path` holds predictions made from the same weights, test indices and
// number of MC passes; false when it is missing, unreadable or made otherwise (the caller evaluates).
inline bool load_predictions(const fs::path& path, uint64_t weights_hash, const std::vector<int64_t>& index, int mc_passes, Predictions& p) {
  if (!fs::exists(path)) return false;
  try {
    const auto sd = galml::StateDict::load(path);
    if (uint64_t(sd.scalar<int64_t>("weights_hash")) != weights_hash || sd.scalar<int64_t>("mc_passes") != mc_passes ||
        sd.vector<int64_t>("index") != index)
      return false;
    Predictions q;
    q.index = index;
    q.probs = sd.vector<double>("probs");
    for (int64_t v : sd.vector<int64_t>("cls_pred")) q.cls_pred.push_back(int(v));
    q.oh_pred = sd.vector<double>("oh_pred");
    q.oh_sigma = sd.vector<double>("oh_sigma");
    q.ms_per_spectrum_batched = sd.scalar<double>("ms_per_spectrum_batched");
    q.ms_per_spectrum_b1 = sd.scalar<double>("ms_per_spectrum_b1");
    p = std::move(q);
    return true;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "note: evaluation cache '%s' not used (%s); evaluating again\n", path.string().c_str(), e.what());
    return false;
  }
}

template <class NetT, class B = galml::cpu>
Predictions predict_net(const Dataset& d, const std::vector<int64_t>& idx, const fs::path& weights, bool has_cls, bool has_reg, int mc_passes, bool time_it) {
  using M = galml::Model<NetT, float, B>;
  M model;
  const auto sd = galml::StateDict::load(weights);
  model.load_state_dict(sd.contains("trainer.epoch") ? sd.sub("model.") : sd);  // a checkpoint or a plain state dict
  Predictions p; p.index = idx;
  const int64_t n = int64_t(idx.size()), bs = 256;
  galml::Tensor<float> x;
  galml::Tensor<float, B> xd;
  std::vector<float> out_cls, out_z;  // host copies of the head outputs
  auto fill = [&](int64_t b, int64_t m) {
    x = galml::Tensor<float>({m, 1, kPixels});
    for (int64_t k = 0; k < m; ++k) std::copy_n(d.flux.data() + idx[size_t(b + k)] * kPixels, kPixels, x.data() + k * kPixels);
  };
  auto host_out = [&](const char* head, std::vector<float>& v) {
    const auto& t = model.output(head);
    v.resize(size_t(t.numel()));
    galml::allocator<B>::copy_to_host(v.data(), t.data(), v.size() * sizeof(float));
  };
  // On a GPU the MC-dropout passes below reuse the input batches uploaded by the first pass (kept on the
  // device up to 4 GiB and half the free device memory; the paper's 20,000 test spectra take 0.4 GB)
  // instead of gathering and uploading them again in every pass. Same inputs and dropout steps in the
  // same order: the same results.
  constexpr bool on_device = !std::is_same_v<B, galml::cpu>;
  const double keep_bytes = double(n) * kPixels * sizeof(float);
  const bool keep = on_device && has_reg && mc_passes > 0 && keep_bytes <= double(int64_t(4) << 30) &&
                    keep_bytes <= 0.5 * double(galml::allocator<B>::free_bytes());
  std::vector<galml::Tensor<float, B>> kept;
  // forward on the model's device; outputs copied to the host (a no-op copy on the CPU). keep_batch: the
  // uploaded batch is kept for the MC passes (when `keep`).
  auto forward = [&](bool want_cls, bool keep_batch) {
    if constexpr (!on_device) model.forward(x);
    else {
      galml::Tensor<float, B>* in = &xd;
      if (keep && keep_batch) in = &kept.emplace_back();
      in->ensure(x.shape());
      galml::allocator<B>::copy_from_host(in->data(), x.data(), size_t(x.numel()) * sizeof(float));
      model.forward(*in);
    }
    if (has_cls && want_cls) host_out("cls", out_cls);
    if (has_reg) host_out("z", out_z);
  };
  model.eval();
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t b = 0; b < n; b += bs) {
    const int64_t m = std::min(bs, n - b);
    fill(b, m);
    forward(true, true);
    for (int64_t k = 0; k < m; ++k) {
      if (has_cls) {
        const float* l = out_cls.data() + k * 4;
        const float mx = *std::max_element(l, l + 4);
        double e[4], s = 0; for (int c = 0; c < 4; ++c) { e[c] = std::exp(double(l[c] - mx)); s += e[c]; }
        int best = 0; for (int c = 0; c < 4; ++c) { p.probs.push_back(e[c] / s); if (l[c] > l[best]) best = c; }
        p.cls_pred.push_back(best);
      }
      if (has_reg) p.oh_pred.push_back(out_z[size_t(k)]);
    }
  }
  p.ms_per_spectrum_batched = 1e3 * std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / double(std::max<int64_t>(n, 1));
  if (time_it && n > 0) {  // batch-1 latency over up to 50 spectra
    const int64_t m = std::min<int64_t>(50, n);
    const auto t1 = std::chrono::steady_clock::now();
    for (int64_t k = 0; k < m; ++k) { fill(k, 1); forward(true, false); }
    p.ms_per_spectrum_b1 = 1e3 * std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count() / double(m);
  }
  if (has_reg && mc_passes > 0) {  // MC dropout: dropout sampling on (paper §4.2.1), T passes
    model.mc();
    p.oh_sigma.assign(size_t(n), 0.0);
    std::vector<double> passes(size_t(mc_passes) * size_t(n));
    for (int t = 0; t < mc_passes; ++t)
      for (int64_t b = 0; b < n; b += bs) {
        const int64_t m = std::min(bs, n - b);
        if (keep) {
          model.forward(kept[size_t(b / bs)]);
          host_out("z", out_z);
        } else {
          fill(b, m);
          forward(false, false);
        }
        for (int64_t k = 0; k < m; ++k) passes[size_t(t) * size_t(n) + size_t(b + k)] = out_z[size_t(k)];
      }
    auto mcs = galml::metrics::mc_aggregate(passes, size_t(mc_passes), size_t(n), 1);
    p.oh_sigma.assign(mcs.std.begin(), mcs.std.end());
  }
  return p;
}

}  // namespace mtl

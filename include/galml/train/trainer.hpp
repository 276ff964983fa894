#pragma once
// Training: a train_step primitive and a Trainer on top of it.
//
//   train_step(model, batch, tasks, lambdas, optimizer)  -> per-task raw losses of the batch
//   Trainer<Model, Optimizer, Weighting>::fit(train_source, val_source)
//
// A Task ties a loss to a head: loss(pred, target, N, D, grad, mask) -> mean loss, writing dL/dpred.
// Task weights λ come from a weighting policy (FixedWeights, DWA) once per epoch. The Trainer prints a
// progress line (samples/s, ETA, per-task losses, λ, lr), writes history.csv / history.json, keeps
// best.ckpt and last.ckpt, stops early, stops with a clear message on a NaN/Inf loss, and resumes from
// last.ckpt bit-identically on the CPU (weights, optimizer, scheduler, task-weighting history, dropout
// RNG step, epoch and history are all in the checkpoint; data order is a function of (seed, epoch)).
#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "galml/core/state_dict.hpp"
#include "galml/core/tensor.hpp"
#include "galml/graph/model.hpp"
#include "galml/train/progress.hpp"
#include "galml/report/atomic_write.hpp"

namespace galml::train {

// One mini-batch on the host: input [N, ...] and per-task targets/masks (row-major N x D_task).
template <class T>
struct Batch {
  Tensor<T> x;
  std::vector<std::vector<T>> targets;  // one per task
  std::vector<std::vector<T>> masks;    // one per task; empty = every row counts
  std::vector<Tensor<T>> extra;         // inputs 2..K of a multi-input model, in the Net's input order (train::DeviceTrainStep)
  int64_t size() const { return x.batch_size(); }
};

template <class T>
struct Task {
  std::string name;  // shown in logs and history ("cls", "z")
  size_t head = 0;   // model head index
  std::function<T(const T* pred, const T* target, int64_t N, int64_t D, T* grad, const T* mask)> loss;
};

// A source of batches: start_epoch(e) fixes the order of epoch e (a pure function of seed and e),
// then next(batch) fills batches until it returns false.
template <class S, class T>
concept BatchSource = requires(S s, Batch<T>& b, int e) {
  s.start_epoch(e);
  { s.next(b) } -> std::convertible_to<bool>;
  { s.num_samples() } -> std::convertible_to<int64_t>;
};

namespace detail {
template <class M>
void copy_out_to_host(const Tensor<typename M::scalar, typename M::backend>& t, std::vector<typename M::scalar>& host) {
  host.resize(size_t(t.numel()));
  allocator<typename M::backend>::copy_to_host(host.data(), t.data(), host.size() * sizeof(typename M::scalar));
}
template <class M>
const Tensor<typename M::scalar, typename M::backend>& to_model_device(const Tensor<typename M::scalar>& x,
                                                                       Tensor<typename M::scalar, typename M::backend>& staging) {
  if constexpr (std::is_same_v<typename M::backend, cpu>) { (void)staging; return x; }
  else {
    staging.ensure(x.shape());
    allocator<typename M::backend>::copy_from_host(staging.data(), x.data(), size_t(x.numel()) * sizeof(typename M::scalar));
    return staging;
  }
}
}  // namespace detail

// Forward + losses (+ backward) for one batch. Returns raw (unweighted) per-task losses.
// With optimizer == nullptr nothing is updated (validation when backward == false).
template <class M>
struct StepWorkspace {
  using T = typename M::scalar;
  std::vector<std::vector<T>> out_host, grad_host;
  std::vector<Tensor<T, typename M::backend>> grad_dev;
  Tensor<T, typename M::backend> x_dev;
  std::array<Tensor<T, typename M::backend>, M::num_inputs> inputs_dev;  // multi-input models (Batch::x, Batch::extra)
};

template <class M>
std::vector<double> forward_losses(M& model, const Batch<typename M::scalar>& b, const std::vector<Task<typename M::scalar>>& tasks,
                                   const std::vector<double>& lambdas, bool backward, StepWorkspace<M>& ws) {
  using T = typename M::scalar;
  using B = typename M::backend;
  const int64_t N = b.size();
  if constexpr (M::multi_input) {  // Batch::x, then Batch::extra in the Net's input order
    GALML_CHECK(b.extra.size() == M::num_inputs - 1, "train_step: the model takes ", M::num_inputs, " inputs; the batch has ", 1 + b.extra.size(),
                " (Batch::x, then Batch::extra)");
    std::array<Tensor<T, B>, M::num_inputs> xs;
    for (size_t k = 0; k < M::num_inputs; ++k) xs[k] = detail::to_model_device<M>(k == 0 ? b.x : b.extra[k - 1], ws.inputs_dev[k]);
    model.forward(xs);
  } else {
    model.forward(detail::to_model_device<M>(b.x, ws.x_dev));
  }
  ws.out_host.resize(tasks.size());
  ws.grad_host.resize(tasks.size());
  std::vector<double> raw(tasks.size());
  std::array<const T*, M::num_heads> dy{};
  std::array<std::vector<T>, M::num_heads> head_grad;
  for (size_t k = 0; k < tasks.size(); ++k) {
    const auto& task = tasks[k];
    const auto& out = model.output(task.head);
    detail::copy_out_to_host<M>(out, ws.out_host[k]);
    const int64_t D = out.numel() / N;
    const T* mask = b.masks.size() > k && !b.masks[k].empty() ? b.masks[k].data() : nullptr;
    ws.grad_host[k].assign(size_t(N * D), T(0));
    raw[k] = double(task.loss(ws.out_host[k].data(), b.targets[k].data(), N, D, backward ? ws.grad_host[k].data() : nullptr, mask));
    if (backward) {
      auto& hg = head_grad[task.head];
      if (hg.empty()) hg.assign(size_t(N * D), T(0));
      const T lam = T(lambdas.at(k));
      for (int64_t i = 0; i < N * D; ++i) hg[size_t(i)] += lam * ws.grad_host[k][size_t(i)];
    }
  }
  if (backward) {
    if constexpr (!std::is_same_v<B, cpu>) ws.grad_dev.resize(M::num_heads);
    for (size_t h = 0; h < M::num_heads; ++h) {
      if (head_grad[h].empty()) continue;
      if constexpr (std::is_same_v<B, cpu>) dy[h] = head_grad[h].data();
      else {
        ws.grad_dev[h].ensure({int64_t(head_grad[h].size())});
        allocator<B>::copy_from_host(ws.grad_dev[h].data(), head_grad[h].data(), head_grad[h].size() * sizeof(T));
        dy[h] = ws.grad_dev[h].data();
      }
    }
    model.backward(dy);
  }
  return raw;
}

template <class M, class Opt>
std::vector<double> train_step(M& model, const Batch<typename M::scalar>& b, const std::vector<Task<typename M::scalar>>& tasks,
                               const std::vector<double>& lambdas, Opt& opt, StepWorkspace<M>& ws,
                               double clip_norm = 0.0) {
  model.train();
  model.zero_grad();
  auto raw = forward_losses(model, b, tasks, lambdas, true, ws);
  if (clip_norm > 0) {
    if constexpr (requires { clip_grad_norm_model(model, clip_norm); }) clip_grad_norm_model(model, clip_norm);
    else {
      double s = 0; auto* g = model.grads();
      for (int64_t i = 0; i < M::num_params; ++i) s += double(g[i]) * double(g[i]);
      const double norm = std::sqrt(s);
      if (std::isfinite(norm) && norm > clip_norm) { const auto f = typename M::scalar(clip_norm / (norm + 1e-6)); for (int64_t i = 0; i < M::num_params; ++i) g[i] *= f; }
    }
  }
  opt.step(model.params(), model.grads(), M::num_params);
  return raw;
}

struct TrainerOptions {
  int epochs = 100;
  std::filesystem::path out_dir = "run";
  double clip_norm = 0.0;              // 0 = no clipping
  int early_stopping_patience = 0;     // 0 = off; else stop after this many epochs without val improvement
  bool monitor_weighted = true;        // monitored value: λ-weighted validation total (spec §1.5 item 7) or plain sum
  bool progress = true;
  bool resume = false;                 // continue from out_dir/last.ckpt when it exists
  int stop_after_epoch = 0;            // testing aid: return after this epoch as if killed (0 = off)
};

struct EpochRecord {
  int epoch = 0;
  std::vector<double> train_loss, val_loss, lambda;
  double train_total = 0, val_total = 0, monitored = 0, lr = 0, seconds = 0, samples_per_s = 0;
};

template <class M, class Opt, class Weighting, class Scheduler = std::nullptr_t>
class Trainer {
 public:
  using T = typename M::scalar;
  Trainer(M& model, std::vector<Task<T>> tasks, Opt& opt, Weighting& weighting, Scheduler* sched = nullptr, TrainerOptions o = {})
      : model_(model), tasks_(std::move(tasks)), opt_(opt), w_(weighting), sched_(sched), o_(std::move(o)) {
    GALML_CHECK(!tasks_.empty(), "Trainer: no tasks given");
    for (auto& t : tasks_) GALML_CHECK(t.head < M::num_heads, "Trainer: task '", t.name, "' uses head ", t.head, " but the model has ", M::num_heads);
  }

  const std::vector<EpochRecord>& history() const { return history_; }
  double best_monitored() const { return best_; }
  int best_epoch() const { return best_epoch_; }
  double train_seconds() const { return train_seconds_; }

  template <class TrainSrc, class ValSrc>
    requires BatchSource<TrainSrc, T> && BatchSource<ValSrc, T>
  void fit(TrainSrc& train, ValSrc& val) {
    std::filesystem::create_directories(o_.out_dir);
    int start = 1;
    const auto last = o_.out_dir / "last.ckpt";
    if (o_.resume && std::filesystem::exists(last)) {
      start = load_checkpoint(last) + 1;
      if (o_.progress) std::fprintf(stderr, "resuming from %s at epoch %d\n", last.string().c_str(), start);
    }
    for (int epoch = start; epoch <= o_.epochs; ++epoch) {
      const auto t0 = std::chrono::steady_clock::now();
      EpochRecord rec;
      rec.epoch = epoch;
      rec.lambda = w_.weights_for_epoch(epoch);
      GALML_CHECK(rec.lambda.size() == tasks_.size(), "Trainer: task weighting gives ", rec.lambda.size(), " weights for ", tasks_.size(), " tasks");
      rec.lr = opt_.lr();
      // ---- training epoch ----
      train.start_epoch(epoch);
      Progress bar("epoch " + std::to_string(epoch) + "/" + std::to_string(o_.epochs), train.num_samples(), o_.progress);
      std::vector<double> sum(tasks_.size(), 0.0);
      int64_t seen = 0, batches = 0;
      Batch<T> b;
      while (train.next(b)) {
        auto raw = train_step(model_, b, tasks_, rec.lambda, opt_, ws_, o_.clip_norm);
        for (size_t k = 0; k < raw.size(); ++k) {
          if (!std::isfinite(raw[k]))
            throw Error(galml::detail::cat("training diverged: task '", tasks_[k].name, "' loss is ", raw[k], " at epoch ", epoch,
                                           ", batch ", batches + 1, " (lr ", opt_.lr(), "). The last good checkpoint is ", last.string(),
                                           "; lower the learning rate or enable gradient clipping."));
          sum[k] += raw[k] * double(b.size());
        }
        seen += b.size(); ++batches;
        bar.update(seen, loss_text(sum, seen, rec.lambda));
      }
      GALML_CHECK(seen > 0, "Trainer: the training source produced no batch in epoch ", epoch);
      rec.train_loss.resize(tasks_.size());
      for (size_t k = 0; k < tasks_.size(); ++k) rec.train_loss[k] = sum[k] / double(seen);
      const double train_time = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      rec.samples_per_s = double(seen) / std::max(train_time, 1e-9);
      w_.record_epoch(rec.train_loss);
      // ---- validation ----
      rec.val_loss = evaluate(val);
      rec.train_total = weighted(rec.train_loss, rec.lambda);
      rec.val_total = weighted(rec.val_loss, rec.lambda);
      rec.monitored = o_.monitor_weighted ? rec.val_total : weighted(rec.val_loss, std::vector<double>(tasks_.size(), 1.0));
      if constexpr (!std::is_same_v<Scheduler, std::nullptr_t>) if (sched_) opt_.set_lr(sched_->step(rec.monitored, opt_.lr()));
      rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      train_seconds_ += rec.seconds;
      bar.finish(seen, loss_text(sum, seen, rec.lambda) + " | val " + fmt(rec.monitored));
      history_.push_back(rec);
      const bool improved = rec.monitored < best_;
      if (improved) { best_ = rec.monitored; best_epoch_ = epoch; bad_epochs_ = 0; }
      else ++bad_epochs_;
      save_checkpoint(last, epoch);
      if (improved) report::copy_file_atomic(last, o_.out_dir / "best.ckpt");
      write_history();
      if (o_.early_stopping_patience > 0 && bad_epochs_ >= o_.early_stopping_patience) {
        if (o_.progress) std::fprintf(stderr, "early stopping at epoch %d: no improvement for %d epochs (best %g at epoch %d)\n", epoch, bad_epochs_, best_, best_epoch_);
        break;
      }
      if (o_.stop_after_epoch > 0 && epoch == o_.stop_after_epoch) break;
    }
  }

  // Mean raw per-task losses over a source, in eval mode.
  template <class Src> std::vector<double> evaluate(Src& src) {
    const Mode saved = model_.mode();
    model_.eval();
    src.start_epoch(0);
    std::vector<double> sum(tasks_.size(), 0.0);
    int64_t seen = 0;
    Batch<T> b;
    const std::vector<double> ones(tasks_.size(), 1.0);
    while (src.next(b)) {
      auto raw = forward_losses(model_, b, tasks_, ones, false, ws_);
      for (size_t k = 0; k < raw.size(); ++k) sum[k] += raw[k] * double(b.size());
      seen += b.size();
    }
    model_.context().mode = saved;
    for (auto& s : sum) s = seen ? s / double(seen) : std::numeric_limits<double>::quiet_NaN();
    return sum;
  }

  // ---- checkpoints ----
  void save_checkpoint(const std::filesystem::path& path, int epoch) {
    StateDict sd;
    sd.merge(model_.state_dict(), "model.");
    sd.merge(opt_.state_dict(), "optim.");
    if constexpr (requires { w_.state_dict(); }) sd.merge(w_.state_dict(), "weighting.");
    if constexpr (!std::is_same_v<Scheduler, std::nullptr_t>) if (sched_) sd.merge(sched_->state_dict(), "sched.");
    sd.set_scalar<int64_t>("trainer.epoch", epoch);
    sd.set_scalar<int64_t>("trainer.rng_step", int64_t(model_.context().step));
    sd.set_scalar<int64_t>("trainer.seed", int64_t(model_.context().seed));
    sd.set_scalar<double>("trainer.best", best_);
    sd.set_scalar<int64_t>("trainer.best_epoch", best_epoch_);
    sd.set_scalar<int64_t>("trainer.bad_epochs", bad_epochs_);
    sd.set_scalar<double>("trainer.train_seconds", train_seconds_);
    // history as a flat table: one row per epoch
    const size_t K = tasks_.size(), cols = 9 + 3 * K;
    std::vector<double> h;
    for (auto& r : history_) {
      h.insert(h.end(), {double(r.epoch), r.train_total, r.val_total, r.monitored, r.lr, r.seconds, r.samples_per_s, 0.0, 0.0});
      for (size_t k = 0; k < K; ++k) h.push_back(r.train_loss[k]);
      for (size_t k = 0; k < K; ++k) h.push_back(r.val_loss[k]);
      for (size_t k = 0; k < K; ++k) h.push_back(r.lambda[k]);
    }
    sd.set("trainer.history", h.data(), {int64_t(history_.size()), int64_t(cols)});
    sd.save(path);
  }
  // Returns the epoch stored in the checkpoint.
  int load_checkpoint(const std::filesystem::path& path) {
    const StateDict sd = StateDict::load(path);
    model_.load_state_dict(sd.sub("model."));
    opt_.load_state_dict(sd.sub("optim."));
    if constexpr (requires { w_.load_state_dict(sd); }) w_.load_state_dict(sd.sub("weighting."));
    if constexpr (!std::is_same_v<Scheduler, std::nullptr_t>) if (sched_) sched_->load_state_dict(sd.sub("sched."));
    model_.context().step = uint64_t(sd.scalar<int64_t>("trainer.rng_step"));
    model_.context().seed = uint64_t(sd.scalar<int64_t>("trainer.seed"));
    best_ = sd.scalar<double>("trainer.best");
    best_epoch_ = int(sd.scalar<int64_t>("trainer.best_epoch"));
    bad_epochs_ = int(sd.scalar<int64_t>("trainer.bad_epochs"));
    train_seconds_ = sd.scalar<double>("trainer.train_seconds");
    const auto& ha = sd.at("trainer.history");
    const auto h = ha.to_vector<double>();
    const size_t K = tasks_.size(), cols = 9 + 3 * K;
    GALML_CHECK(ha.shape.size() == 2 && size_t(ha.shape[1]) == cols, "checkpoint '", path.string(), "' was written for a different number of tasks");
    history_.clear();
    for (size_t r = 0; r < size_t(ha.shape[0]); ++r) {
      const double* p = h.data() + r * cols;
      EpochRecord e;
      e.epoch = int(p[0]); e.train_total = p[1]; e.val_total = p[2]; e.monitored = p[3]; e.lr = p[4]; e.seconds = p[5]; e.samples_per_s = p[6];
      e.train_loss.assign(p + 9, p + 9 + K); e.val_loss.assign(p + 9 + K, p + 9 + 2 * K); e.lambda.assign(p + 9 + 2 * K, p + 9 + 3 * K);
      history_.push_back(e);
    }
    return int(sd.scalar<int64_t>("trainer.epoch"));
  }

  void write_history() const {
    const auto csv = o_.out_dir / "history.csv", json = o_.out_dir / "history.json";
    {
      std::ofstream f(csv.string() + ".tmp");
      f << "epoch,train_total,val_total,monitored,lr,seconds,samples_per_s";
      for (auto& t : tasks_) f << ",train_" << t.name;
      for (auto& t : tasks_) f << ",val_" << t.name;
      for (auto& t : tasks_) f << ",lambda_" << t.name;
      f << "\n" << std::setprecision(9);
      for (auto& r : history_) {
        f << r.epoch << "," << r.train_total << "," << r.val_total << "," << r.monitored << "," << r.lr << "," << r.seconds << "," << r.samples_per_s;
        for (double v : r.train_loss) f << "," << v;
        for (double v : r.val_loss) f << "," << v;
        for (double v : r.lambda) f << "," << v;
        f << "\n";
      }
    }
    std::filesystem::rename(csv.string() + ".tmp", csv);
    {
      std::ofstream f(json.string() + ".tmp");
      f << std::setprecision(9) << "{\n  \"best_epoch\": " << best_epoch_ << ",\n  \"tasks\": [";
      for (size_t k = 0; k < tasks_.size(); ++k) f << (k ? ", " : "") << "\"" << tasks_[k].name << "\"";
      f << "],\n  \"epochs\": [\n";
      for (size_t i = 0; i < history_.size(); ++i) {
        const auto& r = history_[i];
        auto arr = [&](const std::vector<double>& v) { std::ostringstream s; s << std::setprecision(9) << "["; for (size_t k = 0; k < v.size(); ++k) s << (k ? ", " : "") << jnum(v[k]); return s.str() + "]"; };
        f << "    {\"epoch\": " << r.epoch << ", \"train_total\": " << jnum(r.train_total) << ", \"val_total\": " << jnum(r.val_total)
          << ", \"monitored\": " << jnum(r.monitored) << ", \"lr\": " << jnum(r.lr) << ", \"seconds\": " << jnum(r.seconds)
          << ", \"samples_per_s\": " << jnum(r.samples_per_s) << ", \"train_loss\": " << arr(r.train_loss) << ", \"val_loss\": " << arr(r.val_loss)
          << ", \"lambda\": " << arr(r.lambda) << "}" << (i + 1 < history_.size() ? "," : "") << "\n";
      }
      f << "  ]\n}\n";
    }
    std::filesystem::rename(json.string() + ".tmp", json);
  }

 private:
  static std::string jnum(double v) { if (!std::isfinite(v)) return "null"; std::ostringstream s; s << std::setprecision(9) << v; return s.str(); }
  static std::string fmt(double v) { char b[32]; std::snprintf(b, sizeof b, "%.4g", v); return b; }
  static double weighted(const std::vector<double>& l, const std::vector<double>& w) { double s = 0; for (size_t k = 0; k < l.size(); ++k) s += w[k] * l[k]; return s; }
  std::string loss_text(const std::vector<double>& sum, int64_t seen, const std::vector<double>& lam) const {
    std::string s;
    for (size_t k = 0; k < tasks_.size(); ++k) s += (k ? " " : "") + tasks_[k].name + " " + fmt(sum[k] / double(std::max<int64_t>(seen, 1))) + " (λ " + fmt(lam[k]) + ")";
    return s + " lr " + fmt(opt_.lr());
  }

  M& model_;
  std::vector<Task<T>> tasks_;
  Opt& opt_;
  Weighting& w_;
  Scheduler* sched_;
  TrainerOptions o_;
  StepWorkspace<M> ws_;
  std::vector<EpochRecord> history_;
  double best_ = std::numeric_limits<double>::infinity();
  int best_epoch_ = 0, bad_epochs_ = 0;
  double train_seconds_ = 0;
};

}  // namespace galml::train

#pragma once
// train::DeviceTrainStep<Model>: a whole training step that stays on the model's device.
//
//   using M = galml::Model<Net, float, galml::cuda>;
//   M model;
//   galml::train::DeviceTrainStep<M> step(model, {DeviceTask::focal("cls", 0), DeviceTask::masked_mae("z", 1)},
//                                         /*batch*/ 128, {.graph = true});
//   step.set_lambdas({1.0, 1.0});
//   step.stage(b0);                               // pinned-memory upload on the copy stream
//   while (src.next(b1)) { step.stage(b1); step.step(); }   // upload of b1 overlaps the step on b0
//   step.step();
//   auto means = step.take_means();              // one read-back per epoch
//
// One step: batch copy into the captured input buffers, forward, device losses (value into a device
// scalar, λ-weighted gradient into each head's gradient buffer, λ in device memory), backward, fused
// Adam/AdamW over the whole contiguous parameter buffer (lr and the step count in device memory).
// With graph = true (CUDA) the first full-size step runs eagerly, the second is captured as one CUDA
// graph and every later full-size step replays it: no re-capture when lr or λ change. Steps with a
// smaller batch (an epoch's last partial batch) run eagerly on the same buffers; batches larger than
// the `batch` given at construction are refused.
//
// Dropout under replay: the captured kernels keep their step argument, so the step a dropout mask
// uses is (model step) + (a device offset) on CUDA and every DeviceTrainStep step, eager or replayed,
// advances the device offset instead of the model's counter; the destructor (or sync_rng()) folds the
// offset back into model.context().step. Eager and replayed steps therefore draw the same masks, and
// graph replay is bit-identical to eager stepping (the kernels are deterministic; the tests check it).
// One DeviceTrainStep per process at a time on CUDA (the offset is global).
//
// Multi-input models (Net<Inputs<...>, ...>): Batch::x is the first input, Batch::extra the others in the
// Net's input order.
//
// The same class runs on the CPU backend (backend/cpu/fused.hpp twins; graph ignored), with the
// semantics of train::train_step + optim::Adam, so code is backend-generic.
// With the CUDA backend its op overloads must precede the layer templates: include it first.
#if defined(GALML_WITH_CUDA)
#include "galml/backend/cuda/cuda.hpp"
#include "galml/backend/cuda/graph.hpp"
#endif
#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "galml/backend/cpu/fused.hpp"
#include "galml/core/precision.hpp"
#include "galml/core/state_dict.hpp"
#include "galml/graph/model.hpp"
#include "galml/optim/adam.hpp"
#include "galml/optim/param_range.hpp"
#include "galml/train/trainer.hpp"

namespace galml::train {

enum class DeviceLoss { focal, mae };

// A task of the device step: a loss on one head's output. Targets come from Batch::targets[k] (class
// indices, one per row, for a hard focal loss; N×D values otherwise) and masks from Batch::masks[k].
struct DeviceTask {
  std::string name;
  size_t head = 0;
  DeviceLoss loss = DeviceLoss::focal;
  bool mask_count = true;   // normalise by the kept rows (a plain loss given a mask); false: ÷N (Masked<Loss>, Eq. 7)
  bool uses_mask = false;   // read Batch::masks[k] (an empty mask there means every row counts)
  double alpha = 0.25, gamma = 2.0;  // focal: α for every class, γ
  bool soft_targets = false;         // focal: N×D probabilities instead of class indices

  // FocalLoss{} (α = 0.25, γ = 2), mean over the batch.
  static DeviceTask focal(std::string n, size_t head, double alpha = 0.25, double gamma = 2.0) {
    DeviceTask t; t.name = std::move(n); t.head = head; t.loss = DeviceLoss::focal; t.alpha = alpha; t.gamma = gamma; return t;
  }
  // MAE{}: mean over every entry.
  static DeviceTask mae(std::string n, size_t head) { DeviceTask t; t.name = std::move(n); t.head = head; t.loss = DeviceLoss::mae; return t; }
  // Masked<MAE>{} (÷N, MTLforGalSpecZ Eq. 7) with the row mask of Batch::masks[k].
  static DeviceTask masked_mae(std::string n, size_t head) {
    DeviceTask t = mae(std::move(n), head); t.mask_count = false; t.uses_mask = true; return t;
  }
};

struct DeviceStepOptions {
  bool graph = true;           // CUDA: capture the step after one eager warm-up step, replay it after
  Precision precision = Precision::fp32;  // CUDA (global, core/precision.hpp): fp32, tf32, bf16 or tf32x3; the CPU computes in fp32 only
  bool deterministic = true;   // CUDA: cuBLAS without atomics (bit-reproducible steps)
  optim::AdamOptions adam{};   // lr, betas, eps, weight_decay, amsgrad, keras_epsilon
  bool adamw = false;          // decoupled weight decay (AdamW) instead of Adam's coupled L2
  double clip_norm = 0.0;      // > 0: clip the gradient's global L2 norm before Adam (train_step's rule), on the device
};

namespace detail {
#if defined(GALML_WITH_CUDA)
template <class T, class B> struct host_stage { using type = std::conditional_t<std::is_same_v<B, cuda>, cuda_rt::PinnedBuffer<T>, std::vector<T>>; };
#else
template <class T, class B> struct host_stage { using type = std::vector<T>; };
#endif
template <class T> inline void host_resize(std::vector<T>& v, size_t n) { if (v.size() < n) v.resize(n); }
#if defined(GALML_WITH_CUDA)
template <class T> inline void host_resize(cuda_rt::PinnedBuffer<T>& v, size_t n) { v.resize(n); }
#endif
}  // namespace detail

template <class M>
class DeviceTrainStep {
 public:
  using T = typename M::scalar;
  using B = typename M::backend;
  static constexpr bool on_cuda = !std::is_same_v<B, cpu>;
  static constexpr size_t NI = M::num_inputs;  // model inputs: Batch::x, then Batch::extra[0..NI-2]
  static_assert(std::is_same_v<B, cpu> || std::is_same_v<B, cuda>, "DeviceTrainStep: unknown backend");

  DeviceTrainStep(M& model, std::vector<DeviceTask> tasks, int64_t batch, DeviceStepOptions o = {})
      : model_(model), tasks_(std::move(tasks)), batch_(batch), o_(o) {
    GALML_CHECK(!tasks_.empty(), "DeviceTrainStep: no tasks");
    GALML_CHECK(batch_ > 0, "DeviceTrainStep: batch must be > 0");
    const size_t K = tasks_.size();
    for (auto& t : tasks_) GALML_CHECK(t.head < M::num_heads, "DeviceTrainStep: task '", t.name, "' uses head ", t.head, ", the model has ", M::num_heads);
    GALML_CHECK(on_cuda || o_.precision == Precision::fp32, "DeviceTrainStep: precision ", precision_name(o_.precision),
                " needs the CUDA backend (the CPU backend computes in fp32)");
#if defined(GALML_WITH_CUDA)
    if constexpr (on_cuda) { cuda_rt::set_precision(o_.precision); cuda_rt::set_deterministic(o_.deterministic); }
#endif
    const auto shapes = M::front_t::sample_shapes();
    for (size_t i = 0; i < NI; ++i) {
      std::vector<int64_t> xs{batch_};
      xs.insert(xs.end(), shapes[i].begin(), shapes[i].end());
      x_[i] = Tensor<T, B>(xs);
      per_x_[i] = x_[i].numel() / batch_;
    }
    for (size_t k = 0; k < K; ++k) {
      tdim_.push_back(target_dim(k));
      t_.emplace_back(std::vector<int64_t>{batch_ * tdim_[k]});
      m_.emplace_back(std::vector<int64_t>{tasks_[k].uses_mask ? batch_ : 1});
    }
    for (size_t h = 0; h < M::num_heads; ++h) dy_[h] = Tensor<T, B>({batch_ * M::heads_t::out_sizes[h]});
    for (auto& s : slots_) {
      for (size_t i = 0; i < NI; ++i) {
        s.x[i] = Tensor<T, B>(x_[i].shape());
        detail::host_resize(s.hx[i], size_t(x_[i].numel()));
      }
      s.t.resize(K); s.m.resize(K); s.ht.resize(K); s.hm.resize(K);
      for (size_t k = 0; k < K; ++k) {
        s.t[k] = Tensor<T, B>({batch_ * tdim_[k]});
        s.m[k] = Tensor<T, B>({tasks_[k].uses_mask ? batch_ : 1});
        detail::host_resize(s.ht[k], size_t(batch_ * tdim_[k]));
        detail::host_resize(s.hm[k], size_t(batch_));
      }
    }
    lam_ = Tensor<T, B>({int64_t(K)});
    loss_ = Tensor<T, B>({int64_t(K)}); loss_.zero();
    sums_ = Tensor<double, B>({int64_t(K)}); sums_.zero();
    esums_ = Tensor<double, B>({int64_t(K)}); esums_.zero();
    hyper_ = Tensor<double, B>({4});
    tdev_ = Tensor<int64_t, B>({1}); tdev_.zero();
    GALML_CHECK(o_.clip_norm >= 0, "DeviceTrainStep: clip_norm must be >= 0, got ", o_.clip_norm);
    gnorm_ = Tensor<double, B>({1}); gnorm_.zero();
    coef_ = Tensor<T, B>({4});
    mom_ = Tensor<T, B>({M::num_params}); mom_.zero();
    vel_ = Tensor<T, B>({M::num_params}); vel_.zero();
    if (o_.adam.amsgrad) { vmax_ = Tensor<T, B>({M::num_params}); vmax_.zero(); }
    set_lambdas(std::vector<double>(K, 1.0));
    write_hyper();
  }
  DeviceTrainStep(const DeviceTrainStep&) = delete;
  DeviceTrainStep& operator=(const DeviceTrainStep&) = delete;
  ~DeviceTrainStep() {
    try { sync_rng(); } catch (...) {}
  }

  // ---- hyper-parameters (device memory: a captured graph picks up new values) ----
  void set_lr(double lr) { o_.adam.lr = lr; write_hyper(); }
  double lr() const { return o_.adam.lr; }
  void set_lambdas(const std::vector<double>& l) {
    GALML_CHECK(l.size() == tasks_.size(), "DeviceTrainStep::set_lambdas: ", l.size(), " weights for ", tasks_.size(), " tasks");
    std::vector<T> h(l.begin(), l.end());
    allocator<B>::copy_from_host(lam_.data(), h.data(), h.size() * sizeof(T));
  }
  int64_t steps() const { return steps_; }
  bool graph_ready() const {
#if defined(GALML_WITH_CUDA)
    if constexpr (on_cuda) return graph_.ready();
#endif
    return false;
  }
  const std::vector<DeviceTask>& tasks() const { return tasks_; }

  // ---- data ----
  // Copies a batch into host staging memory (pinned on CUDA) and queues its upload on the copy stream.
  // At most two batches may be staged ahead of step()/eval().
  void stage(const Batch<T>& b) {
    const int64_t N = b.size();
    GALML_CHECK(N > 0 && N <= batch_, "DeviceTrainStep: batch of ", N, " samples; this step was built for at most ", batch_,
                " (split larger batches)");
    GALML_CHECK(staged_ - consumed_ < 2, "DeviceTrainStep::stage: two batches are staged already; call step() first");
    GALML_CHECK(b.extra.size() == NI - 1, "DeviceTrainStep: the model takes ", NI, " input(s); the batch has ", 1 + b.extra.size(),
                " (Batch::x, then Batch::extra in the Net's input order)");
    for (size_t i = 0; i < NI; ++i) {
      const Tensor<T>& xi = i == 0 ? b.x : b.extra[i - 1];
      GALML_CHECK(xi.batch_size() == N, "DeviceTrainStep: input '", M::front_t::names[i], "' has ", xi.batch_size(), " samples, input '",
                  M::front_t::names[0], "' has ", N);
      GALML_CHECK(xi.numel() == N * per_x_[i], "DeviceTrainStep: input '", M::front_t::names[i], "' has ", xi.numel() / N,
                  " values per sample, the model takes ", per_x_[i]);
    }
    Slot& s = slots_[size_t(staged_ % 2)];
#if defined(GALML_WITH_CUDA)
    if constexpr (on_cuda) s.copied.synchronize();  // the previous upload from this slot's host memory is done
#endif
    for (size_t i = 0; i < NI; ++i) std::memcpy(s.hx[i].data(), (i == 0 ? b.x : b.extra[i - 1]).data(), size_t(N * per_x_[i]) * sizeof(T));
    for (size_t k = 0; k < tasks_.size(); ++k) {
      GALML_CHECK(b.targets.size() > k && int64_t(b.targets[k].size()) == N * tdim_[k], "DeviceTrainStep: task '", tasks_[k].name, "' expects ",
                  N * tdim_[k], " target values, the batch has ", b.targets.size() > k ? b.targets[k].size() : 0);
      std::memcpy(s.ht[k].data(), b.targets[k].data(), size_t(N * tdim_[k]) * sizeof(T));
      if (tasks_[k].uses_mask) {
        const bool has = b.masks.size() > k && !b.masks[k].empty();
        GALML_CHECK(!has || int64_t(b.masks[k].size()) == N, "DeviceTrainStep: task '", tasks_[k].name, "' mask has ", b.masks[k].size(), " rows for ", N);
        if (has) std::memcpy(s.hm[k].data(), b.masks[k].data(), size_t(N) * sizeof(T));
        else std::fill(s.hm[k].data(), s.hm[k].data() + N, T(1));
      }
    }
    upload(s, N);
    s.n = N;
    ++staged_;
  }

  // One training step on the oldest staged batch (returns at once on CUDA: nothing is read back).
  void step() {
    Slot& s = take_slot();
    const int64_t N = s.n;
#if defined(GALML_WITH_CUDA)
    if constexpr (on_cuda) {
      if (o_.graph && N == batch_) {
        if (!graph_.ready() && eager_full_ >= 1) graph_.capture([&] { train_body(N); });
        if (graph_.ready()) { graph_.launch(); finish_step(N); return; }
        ++eager_full_;
      }
    }
#endif
    train_body(N);
    finish_step(N);
  }
  void step(const Batch<T>& b) { stage(b); step(); }

  // Forward + losses of the oldest staged batch in eval mode (no backward, no update); accumulates
  // into the evaluation sums (take_eval_means).
  void eval() {
    Slot& s = take_slot();
    const int64_t N = s.n;
    const Mode saved = model_.mode();
    model_.eval();
    forward_and_losses(N, false);
    model_.context().mode = saved;
    eval_seen_ += N;
  }
  void eval(const Batch<T>& b) { stage(b); eval(); }

  // ---- read-back (each synchronises) ----
  // Global L2 norm of the last training step's gradient before clipping (0 when clip_norm is off).
  double last_grad_norm() {
    double v = 0;
    allocator<B>::copy_to_host(&v, gnorm_.data(), sizeof v);
    return v;
  }
  // Raw (unweighted) per-task losses of the last training step.
  std::vector<double> last_losses() {
    std::vector<T> h(tasks_.size());
    allocator<B>::copy_to_host(h.data(), loss_.data(), h.size() * sizeof(T));
    return std::vector<double>(h.begin(), h.end());
  }
  // Sample-weighted mean raw per-task training loss since the last call; resets the sums.
  std::vector<double> take_means() { return take(sums_, seen_); }
  std::vector<double> take_eval_means() { return take(esums_, eval_seen_); }

  // Folds the CUDA dropout offset into model.context().step (the destructor does this too).
  void sync_rng() {
#if defined(GALML_WITH_CUDA)
    if constexpr (on_cuda) {
      const uint64_t off = cuda_kernels::dropout_offset_get();
      if (off) { model_.context().step += off; cuda_kernels::dropout_offset_set(0); }
      graph_.reset();  // the captured step argument is stale now
      eager_full_ = 0;
    }
#endif
  }

  // ---- frozen parameters (optim::OptimizerBase's semantics) ----
  // Frozen elements get no update and no weight decay; once any mask is set, every element counts its
  // own steps (a block unfrozen later starts its bias correction afresh, as in PyTorch and optim::Adam).
  void set_frozen_mask(std::vector<uint8_t> mask) {
    GALML_CHECK(int64_t(mask.size()) == M::num_params, "DeviceTrainStep: frozen mask has ", mask.size(), " entries, the model has ", M::num_params,
                " parameters");
    if (frozen_.empty()) {  // first mask: every element has had the global number of steps so far
      int64_t t = 0;
      allocator<B>::copy_to_host(&t, tdev_.data(), sizeof t);
      std::vector<int64_t> e(size_t(M::num_params), t);
      esteps_ = Tensor<int64_t, B>({M::num_params});
      allocator<B>::copy_from_host(esteps_.data(), e.data(), e.size() * sizeof(int64_t));
      fdev_ = Tensor<uint8_t, B>({M::num_params});
    }
    frozen_ = std::move(mask);
    allocator<B>::copy_from_host(fdev_.data(), frozen_.data(), frozen_.size());
    drop_graph();  // the update kernel changes on the first mask
  }
  void freeze(optim::ParamRange r) { set_range(r, 1); }
  void unfreeze(optim::ParamRange r) { set_range(r, 0); }
  const std::vector<uint8_t>& frozen_mask() const { return frozen_; }

  // The dropout step the next training step will use (model.context().step plus, on CUDA, the device
  // offset not yet folded back): what a checkpoint stores so a resumed run draws the same masks.
  // Unlike sync_rng() it changes nothing (a captured graph stays valid).
  uint64_t rng_step() const {
#if defined(GALML_WITH_CUDA)
    if constexpr (on_cuda) return model_.context().step + cuda_kernels::dropout_offset_get();
#endif
    return model_.context().step;
  }

  // ---- optimizer state, in optim::Adam / AdamW's state-dict format ----
  // Restores the output of optimizer_state_dict() (or of optim::Adam / AdamW::state_dict(), e.g. from a
  // CPU run): learning rate, betas, eps, weight decay, the step count and the moments. amsgrad and
  // keras_epsilon must match this step's options (they decide which buffers exist). A frozen mask and
  // per-element step counts are restored too. Drops a captured graph (its arguments are stale).
  void load_optimizer_state_dict(const StateDict& s) {
    const char* who = "DeviceTrainStep::load_optimizer_state_dict";
    const auto n = s.scalar<int64_t>("numel");
    GALML_CHECK(n == M::num_params, who, ": the optimizer state is for ", n, " parameters, the model has ", M::num_params);
    const bool ams = s.scalar<uint8_t>("amsgrad") != 0, keras = s.scalar<uint8_t>("keras_epsilon") != 0;
    GALML_CHECK(ams == o_.adam.amsgrad, who, ": the state has amsgrad = ", ams, ", this step was built with amsgrad = ", o_.adam.amsgrad);
    GALML_CHECK(keras == o_.adam.keras_epsilon, who, ": the state has keras_epsilon = ", keras, ", this step was built with keras_epsilon = ",
                o_.adam.keras_epsilon);
    const int64_t t = s.scalar<int64_t>("step");
    GALML_CHECK(t >= 0, who, ": negative step count ", t);
    GALML_CHECK(t == 0 || s.contains("exp_avg"), who, ": the state has ", t, " steps but no moments (exp_avg)");
    o_.adam.lr = s.scalar<double>("lr");
    o_.adam.beta1 = s.scalar<double>("beta1");
    o_.adam.beta2 = s.scalar<double>("beta2");
    o_.adam.eps = s.scalar<double>("eps");
    o_.adam.weight_decay = s.scalar<double>("weight_decay");
    write_hyper();
    allocator<B>::copy_from_host(tdev_.data(), &t, sizeof t);
    auto put = [&](const char* name, Tensor<T, B>& dst) {
      std::vector<T> h(size_t(M::num_params), T(0));
      if (s.contains(name)) s.at(name).copy_to(h.data(), M::num_params, name);
      allocator<B>::copy_from_host(dst.data(), h.data(), h.size() * sizeof(T));
    };
    put("exp_avg", mom_);
    put("exp_avg_sq", vel_);
    if (o_.adam.amsgrad) put("max_exp_avg_sq", vmax_);
    if (s.contains("frozen")) {
      auto f = s.vector<uint8_t>("frozen");
      GALML_CHECK(int64_t(f.size()) == M::num_params, who, ": frozen mask has ", f.size(), " entries, the model has ", M::num_params);
      GALML_CHECK(s.contains("elem_steps"), who, ": the state has a frozen mask but no per-element step counts (elem_steps)");
      const auto e = s.vector<int64_t>("elem_steps");
      GALML_CHECK(int64_t(e.size()) == M::num_params, who, ": elem_steps has ", e.size(), " entries, the model has ", M::num_params);
      set_frozen_mask(std::move(f));
      allocator<B>::copy_from_host(esteps_.data(), e.data(), e.size() * sizeof(int64_t));
    } else if (!frozen_.empty()) {
      frozen_.clear();  // back to the global step count
    }
    drop_graph();
  }

  StateDict optimizer_state_dict() {
    StateDict s;
    int64_t t = 0;
    allocator<B>::copy_to_host(&t, tdev_.data(), sizeof t);
    s.set_scalar<double>("lr", o_.adam.lr);
    s.set_scalar<int64_t>("step", t);
    s.set_scalar<int64_t>("numel", M::num_params);
    s.set_scalar<double>("beta1", o_.adam.beta1);
    s.set_scalar<double>("beta2", o_.adam.beta2);
    s.set_scalar<double>("eps", o_.adam.eps);
    s.set_scalar<double>("weight_decay", o_.adam.weight_decay);
    s.set_scalar<uint8_t>("amsgrad", o_.adam.amsgrad);
    s.set_scalar<uint8_t>("keras_epsilon", o_.adam.keras_epsilon);
    if (t > 0) {
      s.set_vector("exp_avg", host_vec(mom_));
      s.set_vector("exp_avg_sq", host_vec(vel_));
      if (o_.adam.amsgrad) s.set_vector("max_exp_avg_sq", host_vec(vmax_));
    }
    if (!frozen_.empty()) {
      s.set_vector("frozen", frozen_);
      std::vector<int64_t> e(size_t(M::num_params));
      allocator<B>::copy_to_host(e.data(), esteps_.data(), e.size() * sizeof(int64_t));
      s.set_vector("elem_steps", e);
    }
    return s;
  }

 private:
  struct Slot {
    std::array<Tensor<T, B>, NI> x;
    std::vector<Tensor<T, B>> t, m;
    std::array<typename detail::host_stage<T, B>::type, NI> hx;
    std::vector<typename detail::host_stage<T, B>::type> ht, hm;
    int64_t n = 0;
#if defined(GALML_WITH_CUDA)
    std::conditional_t<on_cuda, cuda_rt::Event, char> copied{}, consumed{};
#endif
  };

  int64_t target_dim(size_t k) const {
    const int64_t D = M::heads_t::out_sizes[tasks_[k].head];
    return tasks_[k].loss == DeviceLoss::focal && !tasks_[k].soft_targets ? 1 : D;
  }

  void upload(Slot& s, int64_t N) {
#if defined(GALML_WITH_CUDA)
    if constexpr (on_cuda) {
      const cudaStream_t cs = cuda_rt::copy_stream();
      s.consumed.wait_on(cs);  // the compute stream has finished copying out of this slot's device buffers
      auto h2d = [&](void* d, const void* h, size_t bytes) { GALML_CUDA_CHECK(cudaMemcpyAsync(d, h, bytes, cudaMemcpyHostToDevice, cs)); };
      for (size_t i = 0; i < NI; ++i) h2d(s.x[i].data(), s.hx[i].data(), size_t(N * per_x_[i]) * sizeof(T));
      for (size_t k = 0; k < tasks_.size(); ++k) {
        h2d(s.t[k].data(), s.ht[k].data(), size_t(N * tdim_[k]) * sizeof(T));
        if (tasks_[k].uses_mask) h2d(s.m[k].data(), s.hm[k].data(), size_t(N) * sizeof(T));
      }
      s.copied.record(cs);
      return;
    }
#endif
    for (size_t i = 0; i < NI; ++i) allocator<B>::copy_from_host(s.x[i].data(), s.hx[i].data(), size_t(N * per_x_[i]) * sizeof(T));
    for (size_t k = 0; k < tasks_.size(); ++k) {
      allocator<B>::copy_from_host(s.t[k].data(), s.ht[k].data(), size_t(N * tdim_[k]) * sizeof(T));
      if (tasks_[k].uses_mask) allocator<B>::copy_from_host(s.m[k].data(), s.hm[k].data(), size_t(N) * sizeof(T));
    }
  }

  // Moves the oldest staged batch into the captured buffers (device-to-device, on the compute stream).
  Slot& take_slot() {
    GALML_CHECK(consumed_ < staged_, "DeviceTrainStep: no batch staged (call stage(batch) first)");
    Slot& s = slots_[size_t(consumed_ % 2)];
    const int64_t N = s.n;
#if defined(GALML_WITH_CUDA)
    if constexpr (on_cuda) s.copied.wait_on(cuda_rt::stream());
#endif
    for (size_t i = 0; i < NI; ++i) allocator<B>::copy(x_[i].data(), s.x[i].data(), size_t(N * per_x_[i]) * sizeof(T));
    for (size_t k = 0; k < tasks_.size(); ++k) {
      allocator<B>::copy(t_[k].data(), s.t[k].data(), size_t(N * tdim_[k]) * sizeof(T));
      if (tasks_[k].uses_mask) allocator<B>::copy(m_[k].data(), s.m[k].data(), size_t(N) * sizeof(T));
    }
#if defined(GALML_WITH_CUDA)
    if constexpr (on_cuda) s.consumed.record(cuda_rt::stream());
#endif
    ++consumed_;
    const auto shapes = M::front_t::sample_shapes();
    for (size_t i = 0; i < NI; ++i) {
      std::vector<int64_t> xs{N};
      xs.insert(xs.end(), shapes[i].begin(), shapes[i].end());
      x_[i].ensure(xs);  // a smaller batch only narrows the shape: the captured storage stays
    }
    return s;
  }

  void forward_and_losses(int64_t N, bool train) {
    auto& ctx = model_.context();
    const uint64_t h = ctx.step;
    if constexpr (M::multi_input) model_.forward(x_);
    else model_.forward(x_[0]);
    if constexpr (on_cuda) {
#if defined(GALML_WITH_CUDA)
      if (ctx.step != h) { const uint64_t d = ctx.step - h; ctx.step = h; cuda_kernels::dropout_offset_add(d); }
#endif
    }
    (void)h;
    std::array<bool, M::num_heads> written{};
    for (size_t k = 0; k < tasks_.size(); ++k) {
      const auto& task = tasks_[k];
      const size_t hd = task.head;
      const T* pred = model_.output(hd).data();
      const int64_t D = M::heads_t::out_sizes[hd];
      const T* mask = task.uses_mask ? (const T*)m_[k].data() : nullptr;
      T* g = train ? dy_[hd].data() : nullptr;
      const bool acc = train && written[hd];
      double* sum = (train ? sums_ : esums_).data() + k;
      if (task.loss == DeviceLoss::focal)
        backend_ops::focal_loss(B{}, pred, (const T*)t_[k].data(), mask, N, D, (const T*)nullptr, task.alpha, task.gamma, task.soft_targets,
                                task.mask_count, (const T*)lam_.data() + k, g, acc, loss_.data() + k, sum);
      else
        backend_ops::mae_loss(B{}, pred, (const T*)t_[k].data(), mask, N, D, task.mask_count, (const T*)lam_.data() + k, g, acc,
                              loss_.data() + k, sum);
      if (train) written[hd] = true;
    }
    if (train) {
      for (size_t hd = 0; hd < M::num_heads; ++hd) dyp_[hd] = written[hd] ? dy_[hd].data() : nullptr;
    }
  }

  void train_body(int64_t N) {
    model_.train();
    model_.zero_grad();
    forward_and_losses(N, true);
    model_.backward(dyp_);
    if (o_.clip_norm > 0) backend_ops::clip_grad_norm(B{}, model_.grads(), M::num_params, o_.clip_norm, gnorm_.data());
    const auto& a = o_.adam;
    const int flags = (o_.adamw ? backend_ops::adam_decoupled : 0) | (a.amsgrad ? backend_ops::adam_amsgrad : 0) |
                      (a.keras_epsilon ? backend_ops::adam_keras_eps : 0);
    backend_ops::adam_prepare(B{}, (const double*)hyper_.data(), tdev_.data(), coef_.data());  // also counts the global step
    if (!frozen_.empty())
      backend_ops::adam_update_frozen(B{}, model_.params(), (const T*)model_.grads(), mom_.data(), vel_.data(), a.amsgrad ? vmax_.data() : (T*)nullptr,
                                      M::num_params, (const double*)hyper_.data(), (const uint8_t*)fdev_.data(), esteps_.data(), a.eps, flags);
    else
      backend_ops::adam_update(B{}, model_.params(), (const T*)model_.grads(), mom_.data(), vel_.data(), a.amsgrad ? vmax_.data() : (T*)nullptr,
                               M::num_params, (const T*)coef_.data(), a.beta1, a.beta2, a.eps, a.weight_decay, flags);
  }
  void finish_step(int64_t N) { ++steps_; seen_ += N; }

  void set_range(optim::ParamRange r, uint8_t v) {
    GALML_CHECK(r.offset >= 0 && r.size >= 0 && r.offset + r.size <= M::num_params, "DeviceTrainStep: range [", r.offset, ", ", r.offset + r.size,
                ") is outside the parameter buffer of ", M::num_params);
    std::vector<uint8_t> m = frozen_.empty() ? std::vector<uint8_t>(size_t(M::num_params), 0) : frozen_;
    std::fill(m.begin() + r.offset, m.begin() + r.offset + r.size, v);
    set_frozen_mask(std::move(m));
  }
  void drop_graph() {
#if defined(GALML_WITH_CUDA)
    if constexpr (on_cuda) { graph_.reset(); eager_full_ = 0; }
#endif
  }
  void write_hyper() {
    const double h[4] = {o_.adam.lr, o_.adam.beta1, o_.adam.beta2, o_.adam.weight_decay};
    allocator<B>::copy_from_host(hyper_.data(), h, sizeof h);
  }
  std::vector<double> take(Tensor<double, B>& sums, int64_t& seen) {
    std::vector<double> h(tasks_.size());
    allocator<B>::copy_to_host(h.data(), sums.data(), h.size() * sizeof(double));
    for (auto& v : h) v = seen > 0 ? v / double(seen) : 0.0;
    sums.zero();
    seen = 0;
    return h;
  }
  std::vector<T> host_vec(const Tensor<T, B>& t) {
    std::vector<T> h(size_t(t.numel()));
    allocator<B>::copy_to_host(h.data(), t.data(), h.size() * sizeof(T));
    return h;
  }

  M& model_;
  std::vector<DeviceTask> tasks_;
  int64_t batch_;
  DeviceStepOptions o_;
  std::array<int64_t, NI> per_x_{};
  std::vector<int64_t> tdim_;
  std::array<Tensor<T, B>, NI> x_;
  std::vector<Tensor<T, B>> t_, m_;
  std::array<Tensor<T, B>, M::num_heads> dy_;
  std::array<const T*, M::num_heads> dyp_{};
  Slot slots_[2];
  Tensor<T, B> lam_, loss_, coef_, mom_, vel_, vmax_;
  Tensor<double, B> sums_, esums_, hyper_, gnorm_;
  Tensor<int64_t, B> tdev_, esteps_;  // global step; per-element steps (with a frozen mask)
  Tensor<uint8_t, B> fdev_;
  std::vector<uint8_t> frozen_;  // empty = nothing frozen
  int64_t staged_ = 0, consumed_ = 0, steps_ = 0, seen_ = 0, eval_seen_ = 0, eager_full_ = 0;
#if defined(GALML_WITH_CUDA)
  std::conditional_t<on_cuda, cuda_rt::Graph, char> graph_{};
#endif
};

}  // namespace galml::train

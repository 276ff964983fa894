// The device training step (train/device_step.hpp): device focal / MAE losses and the fused Adam vs
// the CPU versions, DeviceTrainStep on the CPU vs train_step + optim::Adam, CUDA vs CPU steps, CUDA-graph
// replay bit-identical to eager steps (with lr/λ changes and a partial batch), and a short training
// run on the GPU whose loss decreases. CUDA cases warn and pass without a device.
#include "cuda/cuda_test_util.hpp"
#include "galml/train/device_step.hpp"
#include "support/three_input_net.hpp"

using namespace galml;
using namespace cuda_test;

namespace {
using Small = Net<Input<"x", 1, 32>, Conv1D<4, 3>, ReLU, MaxPool1D<2>, Flatten,
                  Heads<Head<"cls", Dropout<0.25>, Dense<8>, ReLU, Dense<3>>, Head<"z", Dense<8>, ReLU, Dense<1>>>>;
constexpr int64_t kIn = 32;

train::Batch<float> make_batch(int64_t N, uint64_t stream) {
  Rng r(7, stream);
  train::Batch<float> b;
  b.x = Tensor<float>({N, 1, kIn});
  std::vector<float> cls(static_cast<size_t>(N)), z(static_cast<size_t>(N)), m(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) {
    const int c = int(r.uniform(0, 3)) % 3;
    cls[size_t(i)] = float(c);
    for (int64_t j = 0; j < kIn; ++j) b.x[i * kIn + j] = float(r.normal() * 0.5 + (j % 3 == c ? 1.0 : 0.0));
    z[size_t(i)] = float(0.3 * c + 0.1 * r.normal());
    m[size_t(i)] = r.uniform(0, 1) < 0.7 ? 1.f : 0.f;
  }
  b.targets = {cls, z};
  b.masks = {{}, m};
  return b;
}
// The tasks of small_tasks() for train::train_step (the reference the device step is compared with).
std::vector<train::Task<float>> reference_tasks() {
  return {{"cls", 0, [](const float* p, const float* t, int64_t N, int64_t D, float* g, const float* m) { return loss::FocalLoss{}.forward_backward(p, t, N, D, g, m); }},
          {"z", 1, [](const float* p, const float* t, int64_t N, int64_t D, float* g, const float* m) { return loss::Masked<loss::MAE>{}.forward_backward(p, t, N, D, g, m); }}};
}
std::vector<train::DeviceTask> small_tasks() { return {train::DeviceTask::focal("cls", 0), train::DeviceTask::masked_mae("z", 1)}; }

// The pair the CPU-backend DeviceTrainStep tests compare: `a`, trained by train::train_step +
// optim::Adam (lr 1e-2) with `tasks`, and `ds`, a DeviceTrainStep (same Adam; gradient clipping at
// ClipMilli / 1000 when > 0) on `b`, which starts from a's weights.
template <uint64_t Seed, int ClipMilli = 0>
struct TwinSteps {
  bool seeded = (manual_seed(Seed), true);  // before the models draw their weights
  Model<Small> a, b;
  std::vector<train::Task<float>> tasks = reference_tasks();
  optim::Adam<float> opt{Model<Small>::num_params, {.lr = 1e-2}};
  train::StepWorkspace<Model<Small>> ws;
  train::DeviceTrainStep<Model<Small>> ds{(b.load_state_dict(a.state_dict()), b), small_tasks(), 16,
                                          {.adam = {.lr = 1e-2}, .clip_norm = ClipMilli / 1000.0}};
};

template <class M> std::vector<float> params_of(M& m) { return host_params(m); }
template <class M> std::vector<float> host_params(M& m) {
  std::vector<float> v(size_t(M::num_params));
  allocator<typename M::backend>::copy_to_host(v.data(), m.params(), v.size() * sizeof(float));
  return v;
}
}  // namespace

TEMPLATE_TEST_CASE("device focal and MAE losses match the CPU losses", "[cuda][train]", float, double) {
  GALML_SKIP_WITHOUT_CUDA();
  using T = TestType;
  const int64_t N = 300, D = 4;
  auto z = random_vec<T>(N * D, 1, -3, 3), y = random_vec<T>(N, 2, 0, 4), m = random_vec<T>(N, 3, 0, 1), reg = random_vec<T>(N * D, 4);
  for (auto& v : y) v = std::floor(v);
  for (auto& v : m) v = v < T(0.6) ? T(1) : T(0);
  m[5] = T(0);
  reg[5 * D] = std::numeric_limits<T>::quiet_NaN();  // a dropped row's target is never read
  const T lam = T(0.7);
  auto dz = dev(z), dy = dev(y), dm = dev(m), dreg = dev(reg), dl = dev(std::vector<T>{lam});
  for (int variant = 0; variant < 4; ++variant) {
    const bool mask_count = variant & 1, use_mask = variant & 2;
    const T* hm = use_mask ? m.data() : nullptr;
    const T* gm = use_mask ? (const T*)dm.data() : nullptr;
    // focal: λ-weighted gradient accumulated onto an existing gradient
    auto g0 = random_vec<T>(N * D, 5);
    std::vector<T> gc = g0;
    T vc = 0; double sc = 1.0;
    backend_ops::focal_loss(cpu{}, z.data(), y.data(), hm, N, D, (const T*)nullptr, 0.25, 2.0, false, mask_count, &lam, gc.data(), true, &vc, &sc);
    auto gd = dev(g0);
    Tensor<T, cuda> vd({1}); Tensor<double, cuda> sd({1});
    const double one = 1.0;
    allocator<cuda>::copy_from_host(sd.data(), &one, sizeof(double));
    backend_ops::focal_loss(cuda{}, (const T*)dz.data(), (const T*)dy.data(), gm, N, D, (const T*)nullptr, 0.25, 2.0, false, mask_count,
                            (const T*)dl.data(), gd.data(), true, vd.data(), sd.data());
    const T vg = host(vd)[0];
    const double sg = host(sd)[0];
    CHECK(std::abs(double(vg) - double(vc)) <= 1e-6 * std::abs(double(vc)));
    CHECK(std::abs(sg - sc) <= 1e-6 * std::abs(sc));
    CHECK(max_rel(host(gd), gc) < math_tol<T>() * 4);
    // the plain FocalLoss / Masked<FocalLoss> value
    const T ref = mask_count ? loss::FocalLoss{}.forward_backward(z.data(), y.data(), N, D, nullptr, hm)
                             : loss::Masked<loss::FocalLoss>{}.forward_backward(z.data(), y.data(), N, D, nullptr, hm);
    CHECK(vc == ref);
    // MAE, gradient overwritten
    std::vector<T> mc(size_t(N * D));
    backend_ops::mae_loss(cpu{}, reg.data(), z.data(), use_mask ? m.data() : nullptr, N, D, mask_count, (const T*)nullptr, mc.data(), false, &vc, nullptr);
    Tensor<T, cuda> md({N * D});
    if (!use_mask) { auto r2 = reg; r2[5 * D] = 0; dreg = dev(r2); std::vector<T> r3 = r2; backend_ops::mae_loss(cpu{}, r3.data(), z.data(), (const T*)nullptr, N, D, mask_count, (const T*)nullptr, mc.data(), false, &vc, nullptr); }
    backend_ops::mae_loss(cuda{}, (const T*)dreg.data(), (const T*)dz.data(), gm, N, D, mask_count, (const T*)nullptr, md.data(), false, vd.data(), (double*)nullptr);
    CHECK(std::abs(double(host(vd)[0]) - double(vc)) <= 1e-6 * std::abs(double(vc)));
    CHECK(host(md) == mc);  // ±1/denominator or 0: exact
  }
}

TEMPLATE_TEST_CASE("fused Adam/AdamW (CPU twin and CUDA) match optim::Adam", "[cuda][train]", float, double) {
  using T = TestType;
  const int64_t n = 10007;
  for (int variant = 0; variant < 4; ++variant) {
    optim::AdamOptions o; o.lr = 3e-3; o.weight_decay = variant >= 2 ? 0.05 : 0.0; o.amsgrad = variant == 3; o.keras_epsilon = variant == 1;
    const bool decoupled = variant == 2;
    const int flags = (decoupled ? backend_ops::adam_decoupled : 0) | (o.amsgrad ? backend_ops::adam_amsgrad : 0) | (o.keras_epsilon ? backend_ops::adam_keras_eps : 0);
    auto p0 = random_vec<T>(n, 10 + uint64_t(variant));
    std::vector<T> pr = p0, pc = p0, mc(static_cast<size_t>(n)), vc(static_cast<size_t>(n)), xc(static_cast<size_t>(n));
    const double hyper[4] = {o.lr, o.beta1, o.beta2, o.weight_decay};
    int64_t tc = 0; T coef[4];
    optim::Adam<T> adam(n, o); optim::AdamW<T> adamw(n, o);
    const bool gpu = cuda_available();
    Tensor<T, cuda> pd, gd, md, vd, xd, cd; Tensor<double, cuda> hd; Tensor<int64_t, cuda> td;
    if (gpu) {
      pd = dev(p0); md = Tensor<T, cuda>({n}); md.zero(); vd = Tensor<T, cuda>({n}); vd.zero(); xd = Tensor<T, cuda>({n}); xd.zero();
      cd = Tensor<T, cuda>({4}); hd = Tensor<double, cuda>({4}); allocator<cuda>::copy_from_host(hd.data(), hyper, sizeof hyper);
      td = Tensor<int64_t, cuda>({1}); td.zero();
    }
    for (int s = 0; s < 5; ++s) {
      auto g = random_vec<T>(n, 100 + uint64_t(s));
      if (decoupled) adamw.step(pr.data(), g.data(), n); else adam.step(pr.data(), g.data(), n);
      backend_ops::adam_prepare(cpu{}, hyper, &tc, coef);
      backend_ops::adam_update(cpu{}, pc.data(), g.data(), mc.data(), vc.data(), xc.data(), n, coef, o.beta1, o.beta2, o.eps, o.weight_decay, flags);
      if (gpu) {
        gd = dev(g);
        backend_ops::adam_prepare(cuda{}, (const double*)hd.data(), td.data(), cd.data());
        backend_ops::adam_update(cuda{}, pd.data(), (const T*)gd.data(), md.data(), vd.data(), xd.data(), n, (const T*)cd.data(), o.beta1, o.beta2, o.eps, o.weight_decay, flags);
      }
    }
    CHECK(max_rel(pc, pr) <= (sizeof(T) == 4 ? 1e-7 : 1e-15));
    if (gpu) CHECK(max_rel(host(pd), pr) <= (sizeof(T) == 4 ? 1e-6 : 1e-14));
  }
  if (!cuda_available()) WARN("CUDA part skipped: no CUDA device");
}

TEST_CASE_METHOD(TwinSteps<5>, "DeviceTrainStep on the CPU matches train_step + optim::Adam", "[train]") {
  const std::vector<double> lam{1.0, 0.5};
  ds.set_lambdas(lam);
  for (int s = 0; s < 4; ++s) {
    auto batch = make_batch(s == 3 ? 11 : 16, uint64_t(s));
    auto raw = train::train_step(a, batch, tasks, lam, opt, ws);
    ds.step(batch);
    auto got = ds.last_losses();
    CHECK(std::abs(got[0] - raw[0]) <= 1e-6 * std::abs(raw[0]));
    CHECK(std::abs(got[1] - raw[1]) <= 1e-6 * std::abs(raw[1]) + 1e-12);
  }
  CHECK(max_rel(host_params(b), host_params(a)) <= 1e-6);
  CHECK(a.context().step == b.context().step);
}

TEST_CASE("DeviceTrainStep: CUDA steps match CPU steps; graph replay is bit-identical to eager", "[cuda][train]") {
  GALML_SKIP_WITHOUT_CUDA();
  using MC = Model<Small, float, cuda>;
  manual_seed(11);
  Model<Small> ref;
  const auto sd0 = ref.state_dict();
  auto run = [&](auto& model, bool graph, std::vector<std::vector<double>>& losses) {
    using MM = std::remove_reference_t<decltype(model)>;
    model.load_state_dict(sd0);
    train::DeviceTrainStep<MM> ds(model, small_tasks(), 32, {.graph = graph, .adam = {.lr = 5e-3}});
    ds.stage(make_batch(32, 0));
    for (int s = 0; s < 8; ++s) {
      if (s == 4) { ds.set_lr(2e-3); ds.set_lambdas({0.5, 2.0}); }
      if (s < 7) ds.stage(make_batch(s == 6 ? 20 : 32, uint64_t(s + 1)));  // a partial batch at step 7
      ds.step();
      losses.push_back(ds.last_losses());
      if (graph && s >= 2 && s < 7) CHECK(ds.graph_ready());
    }
    ds.sync_rng();
    return host_params(model);
  };
  std::vector<std::vector<double>> lc, le, lg;
  Model<Small> cpu_model;
  const auto pc = run(cpu_model, false, lc);
  MC eager, graphm;
  const auto pe = run(eager, false, le);
  const auto pg = run(graphm, true, lg);
  CHECK(pg == pe);  // bit-identical
  CHECK(lg == le);
  CHECK(eager.context().step == graphm.context().step);
  CHECK(eager.context().step == cpu_model.context().step);
  CHECK(max_rel(pe, pc) < 1e-4);  // 8 Adam steps amplify float rounding a little
  for (size_t s = 0; s < lc.size(); ++s)
    for (size_t k = 0; k < 2; ++k) CHECK(std::abs(le[s][k] - lc[s][k]) <= 1e-4 * (std::abs(lc[s][k]) + 1e-3));
}

TEST_CASE("DeviceTrainStep: a short CUDA-graph training run reduces the loss", "[cuda][train]") {
  GALML_SKIP_WITHOUT_CUDA();
  using MC = Model<Small, float, cuda>;
  manual_seed(3);
  MC model;
  train::DeviceTrainStep<MC> ds(model, small_tasks(), 64, {.graph = true, .adam = {.lr = 1e-2}});
  std::vector<double> first, last;
  for (int e = 0; e < 6; ++e) {
    for (int s = 0; s < 20; ++s) ds.step(make_batch(64, uint64_t(1000 + s)));
    const auto m = ds.take_means();
    if (e == 0) first = m;
    last = m;
  }
  CHECK(ds.graph_ready());
  CAPTURE(first[0], last[0], first[1], last[1]);
  CHECK(last[0] < 0.7 * first[0]);
  CHECK(last[1] < first[1]);
  for (int s = 0; s < 4; ++s) ds.eval(make_batch(50, uint64_t(5000 + s)));
  const auto ev = ds.take_eval_means();
  CHECK(std::isfinite(ev[0]));
  CHECK(ev[0] < first[0]);
}

TEST_CASE("DeviceTrainStep in TF32, BF16 and 3xTF32: graph replay bit-identical to eager, close to FP32, the loss falls", "[cuda][train]") {
  GALML_SKIP_WITHOUT_CUDA();
  using MC = Model<Small, float, cuda>;
  manual_seed(12);
  Model<Small> ref;
  const auto sd0 = ref.state_dict();
  using P = cuda_rt::Precision;
  auto run = [&](MC& model, bool graph, P p, std::vector<std::vector<double>>& losses) {
    model.load_state_dict(sd0);
    train::DeviceTrainStep<MC> ds(model, small_tasks(), 32,
                                  {.graph = graph, .precision = p, .adam = {.lr = 5e-3}});
    for (int s = 0; s < 6; ++s) {
      ds.stage(make_batch(32, uint64_t(s + 40)));
      ds.step();
      losses.push_back(ds.last_losses());
    }
    ds.sync_rng();
    return host_params(model);
  };
  std::vector<std::vector<double>> l32;
  MC m32;
  const auto p32 = run(m32, false, P::fp32, l32);
  // 6 Adam steps, relative to the largest parameter; 3xTF32 as the CPU-vs-CUDA FP32 tests (1e-4).
  for (const auto& [p, tol] : {std::pair{P::tf32, 5e-3}, std::pair{P::bf16, 3e-2}, std::pair{P::tf32x3, 1e-4}}) {
    INFO(cuda_rt::precision_name(p));
    std::vector<std::vector<double>> le, lg;
    MC eager, graphm;
    const auto pe = run(eager, false, p, le);
    const auto pg = run(graphm, true, p, lg);
    CHECK(cuda_rt::precision() == p);
    CHECK(pg == pe);  // bit-identical in every precision
    CHECK(lg == le);
    CHECK(pe != p32);  // another arithmetic really ran (3xTF32: tensor cores, not the FP32 kernels)
    CHECK(max_rel(pe, p32) < tol);
    for (size_t s = 0; s < l32.size(); ++s)
      for (size_t k = 0; k < 2; ++k) CHECK(std::abs(le[s][k] - l32[s][k]) <= tol * (std::abs(l32[s][k]) + 1e-3));
  }
  // A short BF16 training run learns like the FP32 one (same checks as the FP32 test above).
  manual_seed(3);
  MC model;
  train::DeviceTrainStep<MC> ds(model, small_tasks(), 64, {.graph = true, .precision = Precision::bf16, .adam = {.lr = 1e-2}});
  std::vector<double> first, last;
  for (int e = 0; e < 6; ++e) {
    for (int s = 0; s < 20; ++s) ds.step(make_batch(64, uint64_t(1000 + s)));
    const auto m = ds.take_means();
    if (e == 0) first = m;
    last = m;
  }
  CAPTURE(first[0], last[0], first[1], last[1]);
  CHECK(last[0] < 0.7 * first[0]);
  CHECK(last[1] < first[1]);
  cuda_rt::set_precision(cuda_rt::Precision::fp32);
}

namespace {
using MultiNet = galml_test::ThreeInputNet;
train::Batch<float> multi_batch(int64_t N, uint64_t stream) {
  auto b = make_batch(N, stream);  // targets, masks (3 classes fit the focal head)
  Rng r(4, stream);
  galml_test::fill_three_inputs(b, N, r);
  return b;
}
}  // namespace

TEST_CASE("DeviceTrainStep with a multi-input model: CUDA matches the CPU, graph replay bit-identical", "[cuda][train][multi_input]") {
  GALML_SKIP_WITHOUT_CUDA();
  manual_seed(17);
  Model<MultiNet> ref;
  const auto sd0 = ref.state_dict();
  auto run = [&](auto& model, bool graph, std::vector<std::vector<double>>& losses) {
    using MM = std::remove_reference_t<decltype(model)>;
    model.load_state_dict(sd0);
    train::DeviceTrainStep<MM> ds(model, small_tasks(), 16, {.graph = graph, .adam = {.lr = 5e-3}});
    for (int s = 0; s < 6; ++s) {
      ds.step(multi_batch(s == 5 ? 7 : 16, uint64_t(s)));
      losses.push_back(ds.last_losses());
    }
    ds.sync_rng();
    return host_params(model);
  };
  std::vector<std::vector<double>> lc, le, lg;
  Model<MultiNet> cpu_model;
  Model<MultiNet, float, cuda> eager, graphm;
  const auto pc = run(cpu_model, false, lc);
  const auto pe = run(eager, false, le);
  const auto pg = run(graphm, true, lg);
  CHECK(pg == pe);
  CHECK(lg == le);
  CHECK(max_rel(pe, pc) < 1e-4);
}

namespace {
// Six steps in one go, or three steps, a checkpoint (model state dict, optimizer_state_dict(),
// rng_step()), a fresh model with other weights and a step built with another lr, the checkpoint loaded,
// and three more steps. Returns the final parameters and the last step's losses.
template <class MM>
std::pair<std::vector<float>, std::vector<double>> six_steps(bool resume, bool graph) {
  manual_seed(21);
  MM model;
  const train::DeviceStepOptions opt{.graph = graph, .adam = {.lr = 5e-3, .weight_decay = 1e-4}};
  if (!resume) {
    train::DeviceTrainStep<MM> ds(model, small_tasks(), 16, opt);
    for (int s = 0; s < 6; ++s) ds.step(make_batch(16, uint64_t(300 + s)));
    auto l = ds.last_losses();
    ds.sync_rng();
    return {host_params(model), l};
  }
  StateDict ck;
  uint64_t rng = 0, seed = 0;
  {
    train::DeviceTrainStep<MM> ds(model, small_tasks(), 16, opt);
    for (int s = 0; s < 3; ++s) ds.step(make_batch(16, uint64_t(300 + s)));
    ck.merge(model.state_dict(), "model.");
    ck.merge(ds.optimizer_state_dict(), "optim.");
    rng = ds.rng_step();
    seed = model.context().seed;  // dropout masks are a function of (seed, step, layer)
  }
  manual_seed(99);
  MM fresh;  // other initial weights: everything must come from the checkpoint
  fresh.load_state_dict(ck.sub("model."));
  fresh.context().step = rng;
  fresh.context().seed = seed;
  train::DeviceTrainStep<MM> ds(fresh, small_tasks(), 16, {.graph = graph, .adam = {.lr = 0.5}});
  ds.load_optimizer_state_dict(ck.sub("optim."));
  CHECK(ds.lr() == 5e-3);
  for (int s = 3; s < 6; ++s) ds.step(make_batch(16, uint64_t(300 + s)));
  auto l = ds.last_losses();
  ds.sync_rng();
  return {host_params(fresh), l};
}
}  // namespace

TEST_CASE("DeviceTrainStep resumes from a checkpoint exactly (CPU backend)", "[train][resume]") {
  const auto a = six_steps<Model<Small>>(false, false), b = six_steps<Model<Small>>(true, false);
  CHECK(b.first == a.first);  // bit-identical parameters after the resumed steps
  CHECK(b.second == a.second);
  // A state with other options or another size is refused with what differs.
  manual_seed(1);
  Model<Small> m;
  train::DeviceTrainStep<Model<Small>> ams(m, small_tasks(), 8, {.adam = {.amsgrad = true}});
  train::DeviceTrainStep<Model<Small>> plain(m, small_tasks(), 8);
  CHECK_THROWS_WITH(ams.load_optimizer_state_dict(plain.optimizer_state_dict()), Catch::Matchers::Contains("amsgrad"));
  optim::Adam<float> other(7, {});
  CHECK_THROWS_WITH(plain.load_optimizer_state_dict(other.state_dict()), Catch::Matchers::Contains("7 parameters"));
}

TEST_CASE("DeviceTrainStep resumes from a checkpoint exactly (CUDA, eager and graph)", "[cuda][train][resume]") {
  GALML_SKIP_WITHOUT_CUDA();
  using MC = Model<Small, float, cuda>;
  for (bool graph : {false, true}) {
    INFO("graph " << graph);
    const auto a = six_steps<MC>(false, graph), b = six_steps<MC>(true, graph);
    CHECK(b.first == a.first);
    CHECK(b.second == a.second);
  }
}

using ClippedTwinSteps = TwinSteps<8, 50>;  // clip at 0.05 (a macro argument cannot hold the comma)
TEST_CASE_METHOD(ClippedTwinSteps, "DeviceTrainStep clips the gradient norm like train_step (CPU backend)", "[train][clip]") {
  const double clip = 0.05;
  const std::vector<double> lam{1.0, 1.0};
  int clipped = 0;
  for (int s = 0; s < 4; ++s) {
    auto batch = make_batch(16, uint64_t(50 + s));
    train::train_step(a, batch, tasks, lam, opt, ws, clip);
    ds.step(batch);
    const double norm = ds.last_grad_norm();
    CHECK(std::isfinite(norm));
    clipped += norm > clip;
  }
  CHECK(clipped == 4);  // the test must exercise the clipping
  CHECK(host_params(b) == host_params(a));  // same sums, same order, same scale: the same bits
  CHECK_THROWS_WITH((train::DeviceTrainStep<Model<Small>>(b, small_tasks(), 16, {.clip_norm = -1.0})), Catch::Matchers::Contains("clip_norm"));
  CHECK_THROWS_WITH((train::DeviceTrainStep<Model<Small>>(b, small_tasks(), 16, {.precision = Precision::bf16})),
                    Catch::Matchers::Contains("precision bf16 needs the CUDA backend"));
}

TEST_CASE("DeviceTrainStep with gradient clipping: CUDA matches the CPU, graph replay bit-identical", "[cuda][train][clip]") {
  GALML_SKIP_WITHOUT_CUDA();
  manual_seed(9);
  Model<Small> ref;
  const auto sd0 = ref.state_dict();
  auto run = [&](auto& model, bool graph, std::vector<double>& norms) {
    using MM = std::remove_reference_t<decltype(model)>;
    model.load_state_dict(sd0);
    train::DeviceTrainStep<MM> ds(model, small_tasks(), 32, {.graph = graph, .adam = {.lr = 5e-3}, .clip_norm = 0.05});
    for (int s = 0; s < 6; ++s) { ds.step(make_batch(32, uint64_t(70 + s))); norms.push_back(ds.last_grad_norm()); }
    ds.sync_rng();
    return host_params(model);
  };
  std::vector<double> nc, ne, ng;
  Model<Small> cpu_model;
  Model<Small, float, cuda> eager, graphm;
  const auto pc = run(cpu_model, false, nc), pe = run(eager, false, ne), pg = run(graphm, true, ng);
  CHECK(pg == pe);
  CHECK(ng == ne);
  CHECK(max_rel(pe, pc) < 1e-4);
  for (size_t s = 0; s < nc.size(); ++s) {
    CHECK(nc[s] > 0.05);
    CHECK(std::abs(ne[s] - nc[s]) <= 1e-4 * nc[s]);
  }
}

TEMPLATE_TEST_CASE("fused Adam with a frozen mask (CPU twin and CUDA) matches optim::Adam", "[cuda][train][frozen]", float, double) {
  using T = TestType;
  const int64_t n = 5003;
  for (int variant = 0; variant < 3; ++variant) {
    optim::AdamOptions o; o.lr = 3e-3; o.weight_decay = variant >= 1 ? 0.05 : 0.0; o.amsgrad = variant == 2;
    const bool decoupled = variant == 1;
    const int flags = (decoupled ? backend_ops::adam_decoupled : 0) | (o.amsgrad ? backend_ops::adam_amsgrad : 0);
    auto p0 = random_vec<T>(n, 40 + uint64_t(variant));
    std::vector<T> pr = p0, pc = p0, mc(static_cast<size_t>(n)), vc(static_cast<size_t>(n)), xc(static_cast<size_t>(n)), coef(4);
    std::vector<int64_t> steps(static_cast<size_t>(n), 0);
    const double hyper[4] = {o.lr, o.beta1, o.beta2, o.weight_decay};
    int64_t tc = 0;
    optim::Adam<T> adam(n, o); optim::AdamW<T> adamw(n, o);
    auto& ref = decoupled ? static_cast<optim::OptimizerBase<T>&>(adamw) : static_cast<optim::OptimizerBase<T>&>(adam);
    const bool gpu = cuda_available();
    Tensor<T, cuda> pd, gd, md, vd, xd, cd; Tensor<double, cuda> hd; Tensor<int64_t, cuda> td, sd; Tensor<uint8_t, cuda> fd;
    if (gpu) {
      pd = dev(p0); md = Tensor<T, cuda>({n}); md.zero(); vd = Tensor<T, cuda>({n}); vd.zero(); xd = Tensor<T, cuda>({n}); xd.zero();
      cd = Tensor<T, cuda>({4}); hd = Tensor<double, cuda>({4}); allocator<cuda>::copy_from_host(hd.data(), hyper, sizeof hyper);
      td = Tensor<int64_t, cuda>({1}); td.zero(); sd = Tensor<int64_t, cuda>({n}); sd.zero(); fd = Tensor<uint8_t, cuda>({n});
    }
    std::vector<uint8_t> mask(static_cast<size_t>(n), 0);
    for (int s = 0; s < 6; ++s) {
      if (s == 1) { std::fill(mask.begin() + 100, mask.begin() + 2100, uint8_t(1)); ref.freeze({100, 2000}); }  // freeze after one step
      if (s == 4) { std::fill(mask.begin() + 100, mask.begin() + 1100, uint8_t(0)); ref.unfreeze({100, 1000}); }  // half of it back
      if (gpu) allocator<cuda>::copy_from_host(fd.data(), mask.data(), mask.size());
      auto g = random_vec<T>(n, 200 + uint64_t(s));
      if (decoupled) adamw.step(pr.data(), g.data(), n); else adam.step(pr.data(), g.data(), n);
      backend_ops::adam_prepare(cpu{}, hyper, &tc, coef.data());
      backend_ops::adam_update_frozen(cpu{}, pc.data(), g.data(), mc.data(), vc.data(), xc.data(), n, hyper, mask.data(), steps.data(), o.eps, flags);
      if (gpu) {
        gd = dev(g);
        backend_ops::adam_prepare(cuda{}, (const double*)hd.data(), td.data(), cd.data());
        backend_ops::adam_update_frozen(cuda{}, pd.data(), (const T*)gd.data(), md.data(), vd.data(), xd.data(), n, (const double*)hd.data(),
                                        (const uint8_t*)fd.data(), sd.data(), o.eps, flags);
      }
    }
    CHECK(max_rel(pc, pr) <= (sizeof(T) == 4 ? 1e-7 : 1e-15));
    for (int64_t i = 1100; i < 2100; ++i) CHECK(pc[size_t(i)] == pr[size_t(i)]);  // still frozen: one update (step 0) only, same bits
    CHECK(steps[0] == 6);
    CHECK(steps[100] == 3);   // steps 0, 4, 5
    CHECK(steps[1500] == 1);  // step 0 only
    if (gpu) {
      CHECK(max_rel(host(pd), pr) <= (sizeof(T) == 4 ? 1e-6 : 1e-14));
      CHECK(host(sd) == steps);
    }
  }
  if (!cuda_available()) WARN("CUDA part skipped: no CUDA device");
}

TEST_CASE_METHOD(TwinSteps<12>, "DeviceTrainStep with frozen parameters matches train_step + optim::Adam, and resumes with its mask (CPU backend)", "[train][frozen]") {
  const optim::ParamRange conv{0, 16};  // Conv1D<4, 3> on 1 channel: 12 weights + 4 biases come first
  const std::vector<double> lam{1.0, 1.0};
  std::vector<float> at_freeze;
  for (int s = 0; s < 6; ++s) {
    if (s == 2) { opt.freeze(conv); ds.freeze(conv); at_freeze = host_params(b); }
    if (s == 4) { opt.unfreeze({0, 8}); ds.unfreeze({0, 8}); }
    if (s == 4) for (int64_t i = 0; i < 16; ++i) CHECK(host_params(b)[size_t(i)] == at_freeze[size_t(i)]);  // untouched while frozen
    auto batch = make_batch(16, uint64_t(80 + s));
    train::train_step(a, batch, tasks, lam, opt, ws);
    ds.step(batch);
  }
  CHECK(max_rel(host_params(b), host_params(a)) <= 1e-6);
  for (int64_t i = 8; i < 16; ++i) CHECK(host_params(b)[size_t(i)] == at_freeze[size_t(i)]);
  // The state carries the mask and the per-element steps; loading it restores them.
  const auto st = ds.optimizer_state_dict();
  REQUIRE(st.contains("frozen"));
  CHECK(st.vector<int64_t>("elem_steps") == opt.state_dict().vector<int64_t>("elem_steps"));
  Model<Small> c;
  train::DeviceTrainStep<Model<Small>> ds2(c, small_tasks(), 16);
  ds2.load_optimizer_state_dict(opt.state_dict());  // optim::Adam's own state loads too
  CHECK(ds2.frozen_mask() == opt.frozen_mask());
  CHECK(ds2.optimizer_state_dict().vector<int64_t>("elem_steps") == opt.state_dict().vector<int64_t>("elem_steps"));
}

TEST_CASE("DeviceTrainStep with frozen parameters: CUDA matches the CPU, graph replay (re-captured on each mask change) bit-identical", "[cuda][train][frozen]") {
  GALML_SKIP_WITHOUT_CUDA();
  manual_seed(12);
  Model<Small> ref;
  const auto sd0 = ref.state_dict();
  const optim::ParamRange conv{0, 16};  // the Conv1D's 12 weights + 4 biases
  auto run = [&](auto& model, bool graph, std::vector<float>& at_freeze, bool& graph_after_freeze) {
    using MM = std::remove_reference_t<decltype(model)>;
    model.load_state_dict(sd0);
    train::DeviceTrainStep<MM> ds(model, small_tasks(), 16, {.graph = graph, .adam = {.lr = 1e-2}});
    for (int s = 0; s < 7; ++s) {
      if (s == 2) { ds.freeze(conv); at_freeze = host_params(model); }  // after a captured graph exists
      if (s == 5) ds.unfreeze({0, 8});
      ds.step(make_batch(16, uint64_t(90 + s)));
      if (s == 4) graph_after_freeze = ds.graph_ready();
    }
    ds.sync_rng();
    return host_params(model);
  };
  std::vector<float> fc, fe, fg;
  bool gc = false, ge = false, gg = false;
  Model<Small> cpu_model;
  Model<Small, float, cuda> eager, graphm;
  const auto pc = run(cpu_model, false, fc, gc), pe = run(eager, false, fe, ge), pg = run(graphm, true, fg, gg);
  CHECK(gg);  // the graph was captured again with the frozen mask
  CHECK(pg == pe);
  CHECK(max_rel(pe, pc) < 1e-4);
  // On every backend weights 8..15 stayed as they were when frozen, and 0..7 moved again after the unfreeze.
  for (const auto& [p, f] : {std::pair{&pc, &fc}, std::pair{&pe, &fe}, std::pair{&pg, &fg}}) {
    for (size_t i = 8; i < 16; ++i) CHECK((*p)[i] == (*f)[i]);
    bool moved = false;
    for (size_t i = 0; i < 8; ++i) moved |= (*p)[i] != (*f)[i];
    CHECK(moved);
  }
}

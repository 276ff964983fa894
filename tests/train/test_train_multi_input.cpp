// Multi-input models in training: train_step / forward_losses take Batch::x plus Batch::extra (the other
// inputs in the Net's input order), and train::DeviceTrainStep does the same on either backend (here the
// CPU; tests/cuda/test_cuda_train.cpp covers CUDA). The device step must match train_step + optim::Adam.
#include <catch2/catch.hpp>

#include <cmath>

#include "galml/galml.hpp"
#include "galml/train/device_step.hpp"
#include "support/three_input_net.hpp"

using namespace galml;
using galml_test::ThreeInputNet;

namespace {
using M = Model<ThreeInputNet>;

train::Batch<float> make_batch(int64_t N, uint64_t stream) {
  Rng r(3, stream);
  train::Batch<float> b;
  galml_test::fill_three_inputs(b, N, r);
  std::vector<float> cls(static_cast<size_t>(N)), z(static_cast<size_t>(N)), m(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) { cls[size_t(i)] = float((i * 5 + int64_t(stream)) % 3); z[size_t(i)] = float(r.normal()); m[size_t(i)] = i % 3 ? 1.f : 0.f; }
  b.targets = {cls, z};
  b.masks = {{}, m};
  return b;
}
std::vector<float> params(M& m) { return std::vector<float>(m.params(), m.params() + M::num_params); }
}  // namespace

TEST_CASE("train_step and DeviceTrainStep take multi-input batches and agree", "[train][multi_input]") {
  manual_seed(8);
  M a, b;
  b.load_state_dict(a.state_dict());
  std::vector<train::Task<float>> tasks{
      {"cls", 0, [](const float* p, const float* t, int64_t N, int64_t D, float* g, const float* m) { return loss::FocalLoss{}.forward_backward(p, t, N, D, g, m); }},
      {"z", 1, [](const float* p, const float* t, int64_t N, int64_t D, float* g, const float* m) { return loss::Masked<loss::MAE>{}.forward_backward(p, t, N, D, g, m); }}};
  optim::Adam<float> opt(M::num_params, {.lr = 1e-2});
  train::StepWorkspace<M> ws;
  train::DeviceTrainStep<M> ds(b, {train::DeviceTask::focal("cls", 0), train::DeviceTask::masked_mae("z", 1)}, 16, {.adam = {.lr = 1e-2}});
  const std::vector<double> lam{1.0, 0.5};
  ds.set_lambdas(lam);
  const auto p0 = params(a);
  for (int s = 0; s < 4; ++s) {
    auto batch = make_batch(s == 3 ? 9 : 16, uint64_t(s));  // a partial batch last
    const auto raw = train::train_step(a, batch, tasks, lam, opt, ws);
    ds.step(batch);
    const auto got = ds.last_losses();
    CHECK(std::isfinite(raw[0]));
    CHECK(std::abs(got[0] - raw[0]) <= 1e-6 * std::abs(raw[0]));
    CHECK(std::abs(got[1] - raw[1]) <= 1e-6 * std::abs(raw[1]) + 1e-12);
  }
  const auto pa = params(a), pb = params(b);
  double d = 0, mx = 0, moved = 0;
  for (size_t i = 0; i < pa.size(); ++i) {
    d = std::max(d, double(std::abs(pa[i] - pb[i])));
    mx = std::max(mx, double(std::abs(pa[i])));
    moved = std::max(moved, double(std::abs(pa[i] - p0[i])));
  }
  CHECK(d <= 1e-6 * mx);
  CHECK(moved > 1e-3);  // training really updated the parameters, every branch included
  CHECK(a.context().step == b.context().step);
}

TEST_CASE("multi-input batches with missing or misshapen inputs are refused with the input's name", "[train][multi_input][errors]") {
  manual_seed(1);
  M m;
  train::DeviceTrainStep<M> ds(m, {train::DeviceTask::focal("cls", 0), train::DeviceTask::masked_mae("z", 1)}, 8);
  auto b = make_batch(4, 0);
  b.extra.pop_back();
  CHECK_THROWS_WITH(ds.stage(b), Catch::Contains("takes 3 input(s)") && Catch::Contains("the batch has 2"));
  b = make_batch(4, 0);
  b.extra[0] = Tensor<float>({4, 2, 4, 5});
  CHECK_THROWS_WITH(ds.stage(b), Catch::Contains("input 'image'") && Catch::Contains("values per sample"));
  b = make_batch(4, 0);
  b.extra[1] = Tensor<float>({3, 4});
  CHECK_THROWS_WITH(ds.stage(b), Catch::Contains("input 'table' has 3 samples"));
  std::vector<train::Task<float>> tasks{
      {"cls", 0, [](const float* p, const float* t, int64_t N, int64_t D, float* g, const float* mk) { return loss::FocalLoss{}.forward_backward(p, t, N, D, g, mk); }}};
  optim::Adam<float> opt(M::num_params, {});
  train::StepWorkspace<M> ws;
  auto c = make_batch(4, 1);
  c.extra.clear();
  CHECK_THROWS_WITH(train::train_step(m, c, tasks, {1.0}, opt, ws), Catch::Contains("takes 3 inputs"));
}

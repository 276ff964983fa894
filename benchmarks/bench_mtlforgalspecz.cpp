// MTLforGalSpecZ end to end (padding 0, SE, dropout 0.5):
//   train/128      one training step: forward, focal loss (cls) + masked MAE (z, SF rows only, ÷N),
//                  backward, Adam (lr 1e-3) — galml::train::train_step, as the Trainer runs it
//   infer/N        eval-mode forward at batch N = 1, 64, 256, 1024
// items/s = samples/s. Threads: --threads=N, else GALML_NUM_THREADS, else all cores.
//   ./bench_mtlforgalspecz --threads=2 --benchmark_format=json
#include <benchmark/benchmark.h>

#include "bench_common.hpp"
#include "galml/galml.hpp"
#include "galml/loss/focal.hpp"
#include "galml/loss/mae.hpp"
#include "galml/loss/masked.hpp"
#include "galml/models/mtlforgalspecz.hpp"
#include "galml/optim/adam.hpp"
#include "galml/train/trainer.hpp"

namespace {
using namespace galml;
using Net = models::MTLforGalSpecZ<>;
using M = Model<Net>;

train::Batch<float> make_batch(int64_t N) {
  train::Batch<float> b;
  b.x = galml_bench::random_tensor({N, 1, 5161}, 7);
  std::vector<float> cls(static_cast<size_t>(N)), z(static_cast<size_t>(N));
  Rng rng(11);
  for (int64_t i = 0; i < N; ++i) { cls[size_t(i)] = float(i % 4); z[size_t(i)] = float(8.5 + 0.3 * rng.normal()); }
  b.targets = {cls, z};
  b.masks = {{}, loss::class_mask<float>(cls.data(), N, 0)};  // M_i = 1 for the SF class (index 0 here)
  return b;
}

void BM_train_step(benchmark::State& st) {
  const int64_t N = st.range(0);
  M model;
  optim::Adam<float> adam(M::num_params, {.lr = 1e-3});
  const auto batch = make_batch(N);
  const loss::FocalLoss focal{};
  const loss::Masked<loss::MAE> mmae{};
  std::vector<train::Task<float>> tasks{
      {"cls", 0, [&](const float* p, const float* t, int64_t n, int64_t d, float* g, const float* m) { return focal.forward_backward(p, t, n, d, g, m); }},
      {"z", 1, [&](const float* p, const float* t, int64_t n, int64_t d, float* g, const float* m) { return mmae.forward_backward(p, t, n, d, g, m); }}};
  const std::vector<double> lambdas{1.0, 1.0};
  train::StepWorkspace<M> ws;
  train::train_step(model, batch, tasks, lambdas, adam, ws);  // warm-up: allocates activations
  for (auto _ : st) {
    auto raw = train::train_step(model, batch, tasks, lambdas, adam, ws);
    benchmark::DoNotOptimize(raw.data());
  }
  st.SetItemsProcessed(st.iterations() * N);
}

void BM_inference(benchmark::State& st) {
  const int64_t N = st.range(0);
  M model;
  model.eval();
  const auto x = galml_bench::random_tensor({N, 1, 5161}, 3);
  model.forward(x);  // warm-up
  for (auto _ : st) {
    model.forward(x);
    benchmark::DoNotOptimize(model.output(1).data());
    benchmark::ClobberMemory();
  }
  st.SetItemsProcessed(st.iterations() * N);
}

BENCHMARK(BM_train_step)->Name("train")->Arg(128)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_inference)->Name("infer")->Arg(1)->Arg(64)->Arg(256)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) { return galml_bench::run(argc, argv); }

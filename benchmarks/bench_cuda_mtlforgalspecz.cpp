// MTLforGalSpecZ on the GPU: the whole training step (forward, focal + masked-MAE losses on the device,
// backward, fused Adam) at batch 128, eager and replayed as one CUDA graph, FP32 and TF32; inference
// (eval-mode forward) at batch 1024, eager and as a graph; FP32, TF32 and BF16 (FP32 storage and master
// weights, tensor-core operands) and 3xTF32. Prints samples/s (median of 5 timed runs, each over many
// steps, host clock around a synchronised stream), and the achieved FLOP/s and least memory traffic per
// second against the H100's limits (RATE lines). Compare with
// benchmarks/compare_pytorch_cuda.py on the same machine (docs/gpu.md).
//
//   bench_cuda_mtlforgalspecz [--steps 60] [--quick]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "galml/backend/cuda/cuda.hpp"
#include "galml/backend/cuda/graph.hpp"
#include "galml/galml.hpp"
#include "galml/models/mtlforgalspecz.hpp"
#include "galml/train/device_step.hpp"

using namespace galml;
using MtlNet = models::MTLforGalSpecZ<0, true, 0.5>;
using M = Model<MtlNet, float, cuda>;
constexpr int64_t kPix = 5161;

static train::Batch<float> make_batch(int64_t N, uint64_t s) {
  Rng r(17, s);
  train::Batch<float> b;
  b.x = Tensor<float>({N, 1, kPix});
  for (int64_t i = 0; i < b.x.numel(); ++i) b.x[i] = float(r.normal());
  std::vector<float> cls(static_cast<size_t>(N)), z(static_cast<size_t>(N)), m(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) { cls[size_t(i)] = float(int64_t(i * 7 + s) % 4); z[size_t(i)] = float(8.5 + 0.2 * r.normal()); m[size_t(i)] = cls[size_t(i)] == 0 ? 1.f : 0.f; }
  b.targets = {cls, z};
  b.masks = {{}, m};
  return b;
}

static double median(std::vector<double> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; }

// Work per sample of the ten convolutions (padding 0), which are > 99% of the network's arithmetic (the
// SE block and the heads add ~0.2 MFLOP): FLOPs of the forward, and of a training step (forward, dx of
// every layer but the first, dW); and the least DRAM traffic with FP32 activations, each tensor moved
// once per pass: forward reads the input and writes the output of each convolution and pool; backward
// reads x, y (ReLU mask), dy and writes dx for the convolutions (dx pass and dW pass each read dy and y),
// reads y, dy_pooled and writes dy for the pools. An estimate for the report, not a measurement.
struct Work { double fwd_flop = 0, train_flop = 0, fwd_bytes = 0, train_bytes = 0; };
static Work mtl_work() {
  Work w;
  int64_t c = 1, L = kPix;
  const int64_t widths[] = {16, 32, 64, 128, 256};
  bool first = true;
  for (int64_t co : widths) {
    for (int rep = 0; rep < 2; ++rep) {
      const int64_t lo = L - 2;
      const double f = 2.0 * double(co) * double(c) * 3 * double(lo), in = double(c * L) * 4, out = double(co * lo) * 4;
      w.fwd_flop += f;
      w.train_flop += f * (first ? 2 : 3);
      w.fwd_bytes += in + out;
      w.train_bytes += in + out + (first ? 0 : out * 2 + in) + (in + out * 2);  // forward; dx pass; dW pass
      first = false;
      c = co; L = lo;
    }
    const double pin = double(c * L) * 4, pout = double(c * (L / 3)) * 4;
    w.fwd_bytes += pin + pout;
    w.train_bytes += pin + pout + (pin + pout + pin);
    L /= 3;
  }
  return w;
}
template <class F> static double time_s(F&& f) {
  cuda_rt::synchronize();
  const auto t0 = std::chrono::steady_clock::now();
  f();
  cuda_rt::synchronize();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

using Prec = cuda_rt::Precision;
static double bench_train(bool graph, Prec prec, int steps, const std::vector<train::Batch<float>>& batches, double* loss0) {
  manual_seed(1);
  M model;
  train::DeviceTrainStep<M> ds(model, {train::DeviceTask::focal("cls", 0), train::DeviceTask::masked_mae("z", 1)}, 128,
                               {.graph = graph, .precision = prec});
  size_t k = 0;
  auto run = [&](int n) {
    for (int i = 0; i < n; ++i) { ds.stage(batches[k++ % batches.size()]); ds.step(); }
  };
  run(5);
  if (loss0) *loss0 = ds.last_losses()[0];
  std::vector<double> r;
  for (int rep = 0; rep < 5; ++rep) r.push_back(double(steps) * 128.0 / time_s([&] { run(steps); }));
  const auto l = ds.last_losses();
  if (!std::isfinite(l[0]) || !std::isfinite(l[1])) std::printf("WARNING: non-finite loss\n");
  return median(r);
}

static double bench_infer(bool graph, Prec prec, int iters) {
  cuda_rt::set_precision(prec);
  manual_seed(2);
  M model;
  model.eval();
  auto xb = make_batch(1024, 99);
  auto x = to_device(xb.x);
  model.forward(x);
  cuda_rt::Graph g;
  if (graph) g.capture([&] { model.forward(x); });
  auto run = [&] { for (int i = 0; i < iters; ++i) { if (graph) g.launch(); else model.forward(x); } };
  run();
  std::vector<double> r;
  for (int rep = 0; rep < 5; ++rep) r.push_back(double(iters) * 1024.0 / time_s(run));
  cuda_rt::set_precision(cuda_rt::Precision::fp32);
  return median(r);
}

int main(int argc, char** argv) {
  int steps = 60, iters = 20;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--steps") && i + 1 < argc) steps = std::atoi(argv[++i]);
    if (!std::strcmp(argv[i], "--quick")) { steps = 10; iters = 4; }
  }
  if (!cuda_available()) { std::printf("no CUDA device: nothing to measure\n"); return 0; }
  const auto info = cuda_rt::device_info();
  std::printf("device: %s (cc %d.%d, %d SMs), CUDA runtime %d, driver %d\n", info.name.c_str(), info.cc_major, info.cc_minor, info.sm_count,
              info.runtime_version, info.driver_version);
  std::vector<train::Batch<float>> batches;
  for (int i = 0; i < 8; ++i) batches.push_back(make_batch(128, uint64_t(i)));
  struct Row { std::string what; double v; };
  std::vector<Row> rows;
  double l0 = 0;
  rows.push_back({"train step b128 FP32 eager", bench_train(false, Prec::fp32, steps, batches, &l0)});
  rows.push_back({"train step b128 FP32 CUDA graph", bench_train(true, Prec::fp32, steps, batches, nullptr)});
  rows.push_back({"train step b128 TF32 eager", bench_train(false, Prec::tf32, steps, batches, nullptr)});
  rows.push_back({"train step b128 TF32 CUDA graph", bench_train(true, Prec::tf32, steps, batches, nullptr)});
  rows.push_back({"train step b128 BF16 eager", bench_train(false, Prec::bf16, steps, batches, nullptr)});
  rows.push_back({"train step b128 BF16 CUDA graph", bench_train(true, Prec::bf16, steps, batches, nullptr)});
  rows.push_back({"train step b128 3xTF32 CUDA graph", bench_train(true, Prec::tf32x3, steps, batches, nullptr)});
  cuda_rt::set_precision(cuda_rt::Precision::fp32);
  rows.push_back({"inference b1024 FP32 eager", bench_infer(false, Prec::fp32, iters)});
  rows.push_back({"inference b1024 FP32 CUDA graph", bench_infer(true, Prec::fp32, iters)});
  rows.push_back({"inference b1024 TF32 CUDA graph", bench_infer(true, Prec::tf32, iters)});
  rows.push_back({"inference b1024 BF16 CUDA graph", bench_infer(true, Prec::bf16, iters)});
  rows.push_back({"inference b1024 3xTF32 CUDA graph", bench_infer(true, Prec::tf32x3, iters)});
  std::printf("first-steps focal loss %.4f\n", l0);
  std::printf("%-36s %14s\n", "galml (CUDA)", "samples/s");
  for (auto& r : rows) std::printf("GALML %-36s %14.0f\n", r.what.c_str(), r.v);
  // Achieved rates against the H100 limits the issue names (~67 TFLOP/s FP32, ~800 dense BF16, taken as
  // ~400 for TF32; ~3 TB/s HBM3). 3xTF32 is compared with the FP32 peak: it does FP32-accuracy work.
  const Work w = mtl_work();
  std::printf("\nwork per sample (10 convolutions): forward %.1f MFLOP, training step %.1f MFLOP; least FP32 traffic %.1f / %.1f MB\n",
              w.fwd_flop * 1e-6, w.train_flop * 1e-6, w.fwd_bytes * 1e-6, w.train_bytes * 1e-6);
  for (auto& r : rows) {
    const bool train = r.what.rfind("train", 0) == 0;
    const double peak = r.what.find("BF16") != std::string::npos ? 800 : r.what.find(" TF32") != std::string::npos ? 400 : 67;
    const double tf = r.v * (train ? w.train_flop : w.fwd_flop) * 1e-12, gbs = r.v * (train ? w.train_bytes : w.fwd_bytes) * 1e-9;
    std::printf("RATE %-36s %7.1f TFLOP/s (%4.1f%% of %.0f)  >= %6.0f GB/s (%4.1f%% of 3000)\n", r.what.c_str(), tf, 100 * tf / peak, peak, gbs,
                100 * gbs / 3000);
  }
  return 0;
}

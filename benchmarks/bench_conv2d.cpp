// Conv2D forward and backward at the MMLforGalAM M3 first-block size: 3 x 128 x 128 -> 32 channels,
// 3x3 "same", batch 16 (float). items/s = images/s through that one layer.
//   train      forward + backward (weight and bias gradients; no input gradient: the input is the image)
//   train_dx   the same plus the input gradient (what a conv deeper in the network pays)
//   forward    forward only (inference)
//   ./bench_conv2d --threads=2 [--benchmark_filter=train]
// benchmarks/compare_pytorch_ops.py times the same ops in PyTorch in the same run.
#include <benchmark/benchmark.h>

#include <array>

#include "bench_common.hpp"
#include "galml/galml.hpp"

namespace {
using namespace galml;

using M3First = Net<Input<"img", 3, 128, 128>, Conv2D<32, 3, 1, Padding::same>>;

struct ConvBench {
  Model<M3First> model;
  Tensor<float> x, dy;
  explicit ConvBench(int64_t N) {
    x = galml_bench::random_tensor({N, 3, 128, 128}, 1);
    dy = galml_bench::random_tensor({N, 32, 128, 128}, 2);
    model.train();
    model.forward(x);  // allocate activations once
  }
};

void BM_conv2d_forward(benchmark::State& st) {
  const int64_t N = st.range(0);
  ConvBench b(N);
  for (auto _ : st) {
    b.model.forward(b.x);
    benchmark::DoNotOptimize(b.model.output().data());
    benchmark::ClobberMemory();
  }
  st.SetItemsProcessed(st.iterations() * N);
}

template <bool InputGrad>
void BM_conv2d_train(benchmark::State& st) {
  const int64_t N = st.range(0);
  ConvBench b(N);
  const std::array<const float*, 1> dy{b.dy.data()};
  for (auto _ : st) {
    b.model.zero_grad();
    b.model.forward(b.x);
    b.model.backward(dy, InputGrad);
    benchmark::ClobberMemory();
  }
  st.SetItemsProcessed(st.iterations() * N);
}

BENCHMARK(BM_conv2d_train<false>)->Name("conv2d_m3_first/train")->Arg(16)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_conv2d_train<true>)->Name("conv2d_m3_first/train_dx")->Arg(16)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_conv2d_forward)->Name("conv2d_m3_first/forward")->Arg(16)->Unit(benchmark::kMillisecond)->UseRealTime();
}  // namespace

int main(int argc, char** argv) { return galml_bench::run(argc, argv); }

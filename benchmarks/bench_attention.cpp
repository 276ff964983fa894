// Attention-family timings at a transformer-sized setting: T = 65 tokens (64 patches + CLS), d_model
// 128, 4 heads, FF 256, batch 64 (float). One iteration = forward + backward with the input gradient
// (a layer inside a network), items/s = samples/s. benchmarks/compare_pytorch_ops.py times the same
// ops in PyTorch (ops mhsa_t65_d128_h4/train, transformer_t65_d128_h4_ff256/train).
//   ./bench_attention --threads=2 [--benchmark_filter=mhsa]
#include <benchmark/benchmark.h>

#include <array>

#include "bench_common.hpp"
#include "galml/galml.hpp"

namespace {
using namespace galml;

template <class NetSpec>
void BM_train(benchmark::State& st) {
  const int64_t N = st.range(0);
  Model<NetSpec> model;
  std::vector<int64_t> xs{N};
  for (int d : Model<NetSpec>::input_shape::dims) xs.push_back(d);
  const auto x = galml_bench::random_tensor(xs, 1);
  std::vector<int64_t> ys{N};
  for (int d : Model<NetSpec>::trunk_shape::dims) ys.push_back(d);
  const auto dy = galml_bench::random_tensor(ys, 2);
  const std::array<const float*, 1> g{dy.data()};
  model.train();
  for (auto _ : st) {
    model.zero_grad();
    model.forward(x);
    model.backward(g, true);
    benchmark::ClobberMemory();
  }
  st.SetItemsProcessed(st.iterations() * N);
}
template <class NetSpec>
void BM_forward(benchmark::State& st) {
  const int64_t N = st.range(0);
  Model<NetSpec> model;
  std::vector<int64_t> xs{N};
  for (int d : Model<NetSpec>::input_shape::dims) xs.push_back(d);
  const auto x = galml_bench::random_tensor(xs, 1);
  model.eval();
  for (auto _ : st) {
    model.forward(x);
    benchmark::DoNotOptimize(model.output().data());
    benchmark::ClobberMemory();
  }
  st.SetItemsProcessed(st.iterations() * N);
}

// Dropout 0 so the timings compare like with like against PyTorch (dropout=0.0 there too).
using MHSA = Net<Input<"x", 65, 128>, MultiHeadSelfAttention<4>>;
using Encoder = Net<Input<"x", 65, 128>, TransformerEncoderLayer<4, 256, 0.0, true, GELU>>;
using Gated = Net<Input<"x", 65, 128>, HadamardGatedAttention<4>>;

BENCHMARK(BM_train<MHSA>)->Name("mhsa_t65_d128_h4/train")->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_forward<MHSA>)->Name("mhsa_t65_d128_h4/forward")->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_train<Encoder>)->Name("transformer_t65_d128_h4_ff256/train")->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_forward<Encoder>)->Name("transformer_t65_d128_h4_ff256/forward")->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_train<Gated>)->Name("gated_hadamard_t65_d128_h4/train")->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) { return galml_bench::run(argc, argv); }

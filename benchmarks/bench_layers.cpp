// Per-layer forward and backward timings: the MTLforGalSpecZ layers at the sizes that network uses (padding 0),
// then every other layer at a representative size (2-D and attention layers also in bench_conv2d/bench_attention),
// batch 128 by default (the training batch). items/s = samples/s through that one layer. Backward
// includes the input gradient except for the first convolution (whose input is the data).
//   ./bench_layers --threads=2 [--benchmark_filter=Conv]
#include <benchmark/benchmark.h>

#include <array>

#include "bench_common.hpp"
#include "galml/galml.hpp"

namespace {
using namespace galml;

template <class NetSpec>
struct LayerBench {
  Model<NetSpec> model;
  Tensor<float> x, dy;
  explicit LayerBench(int64_t N) {
    std::vector<int64_t> xs{N};
    for (int d : Model<NetSpec>::input_shape::dims) xs.push_back(d);
    x = galml_bench::random_tensor(xs, 1);
    model.train();
    model.forward(x);
    std::vector<int64_t> ys{N};
    for (int d : Model<NetSpec>::trunk_shape::dims) ys.push_back(d);
    dy = galml_bench::random_tensor(ys, 2);
  }
};

template <class NetSpec, bool InputGrad = true>
void BM_forward(benchmark::State& st) {
  const int64_t N = st.range(0);
  LayerBench<NetSpec> b(N);
  for (auto _ : st) {
    b.model.forward(b.x);
    benchmark::DoNotOptimize(b.model.output().data());
    benchmark::ClobberMemory();
  }
  st.SetItemsProcessed(st.iterations() * N);
}
template <class NetSpec, bool InputGrad = true>
void BM_backward(benchmark::State& st) {
  const int64_t N = st.range(0);
  LayerBench<NetSpec> b(N);
  const std::array<const float*, 1> dy{b.dy.data()};
  for (auto _ : st) {
    b.model.backward(dy, InputGrad);
    benchmark::ClobberMemory();
  }
  st.SetItemsProcessed(st.iterations() * N);
}

// One network per layer, at its MTLforGalSpecZ input shape.
template <int C, int L, class Layer> using One = Net<Input<"x", C, L>, Layer>;
template <int C, int L, class Layer> using OneVec = Net<Input<"x", C>, Layer>;

using Conv_1x5161_16 = One<1, 5161, Conv1D<16, 3>>;
using Conv_16x5159_16 = One<16, 5159, Conv1D<16, 3>>;
using Conv_16x1719_32 = One<16, 1719, Conv1D<32, 3>>;
using Conv_32x1717_32 = One<32, 1717, Conv1D<32, 3>>;
using Conv_32x571_64 = One<32, 571, Conv1D<64, 3>>;
using Conv_64x569_64 = One<64, 569, Conv1D<64, 3>>;
using Conv_64x189_128 = One<64, 189, Conv1D<128, 3>>;
using Conv_128x187_128 = One<128, 187, Conv1D<128, 3>>;
using Conv_128x61_256 = One<128, 61, Conv1D<256, 3>>;
using Conv_256x59_256 = One<256, 59, Conv1D<256, 3>>;
using ReLU_16x5159 = One<16, 5159, ReLU>;
using MaxPool_16x5157 = One<16, 5157, MaxPool1D<3>>;
using MaxPool_256x57 = One<256, 57, MaxPool1D<3>>;
using SE_256x19 = One<256, 19, SEAttention<16>>;
using GAP_256x19 = One<256, 19, GlobalAvgPool1D>;
using Dense_256_128 = OneVec<256, 0, Dense<128>>;
using Dense_128_64 = OneVec<128, 0, Dense<64>>;
// The other layers, at representative sizes (so every layer has a benchmark).
template <int C, int H, int W, class Layer> using One2D = Net<Input<"x", C, H, W>, Layer>;
using AvgPool_64x567 = One<64, 567, AvgPool1D<3>>;
using AdaptivePool_64x961 = One<64, 961, AdaptiveAvgPool1D<16>>;
using MaxPoolSame_64x567 = One<64, 567, MaxPool1DSame<5>>;
using GELU_64x567 = One<64, 567, GELU>;
using Sigmoid_64x567 = One<64, 567, Sigmoid>;
using Tanh_64x567 = One<64, 567, Tanh>;
using Dropout_64x567 = One<64, 567, Dropout<0.5>>;
using BatchNorm_64x567 = One<64, 567, BatchNorm1D<>>;
using LayerNorm_65x128 = One<65, 128, LayerNorm<>>;
using Softmax_65x128 = One<65, 128, Softmax>;
using LogSoftmax_65x128 = One<65, 128, LogSoftmax>;
using Transpose_64x567 = One<64, 567, Transpose>;
using Flatten_64x567 = One<64, 567, Flatten>;
using MinMax_1024 = OneVec<1024, 0, MinMaxNormalize>;
using Residual_64x567 = One<64, 567, Residual<Chain<Conv1D<64, 3, 1, 1>, ReLU>>>;
using Concat_64x567 = One<64, 567, Concat<0, Chain<Conv1D<32, 1>>, Chain<Conv1D<32, 1>>>>;
using L2Norm_1024 = OneVec<1024, 0, L2Normalize<>>;
using CosineHead_256 = OneVec<256, 0, CosineHead<4>>;
using MaxPool2D_32x126x126 = One2D<32, 126, 126, MaxPool2D<2>>;
using AvgPool2D_32x126x126 = One2D<32, 126, 126, AvgPool2D<2>>;
using AdaptivePool2D_64x75x75 = One2D<64, 75, 75, AdaptiveAvgPool2D<4>>;
using GAP2D_256x8x8 = One2D<256, 8, 8, GlobalAvgPool2D>;
using BatchNorm2D_32x64x64 = One2D<32, 64, 64, BatchNorm2D<>>;
using FlattenCL_256x6x6 = One2D<256, 6, 6, FlattenChannelsLast>;
using PatchEmbed_1x4096 = One<1, 4096, PatchEmbed1D<128, 64>>;
using ClsPos_64x128 = One<64, 128, Chain<ClsToken<128>, PositionalEmbedding>>;
using Gated_65x128 = One<65, 128, HadamardGatedAttention<4>>;

#define GALML_LAYER_BENCH(NAME, IG)                                                                         \
  BENCHMARK(BM_forward<NAME>)->Name(#NAME "/forward")->Arg(128)->Unit(benchmark::kMillisecond)->UseRealTime(); \
  BENCHMARK(BM_backward<NAME, IG>)->Name(#NAME "/backward")->Arg(128)->Unit(benchmark::kMillisecond)->UseRealTime();

GALML_LAYER_BENCH(Conv_1x5161_16, false)
GALML_LAYER_BENCH(Conv_16x5159_16, true)
GALML_LAYER_BENCH(Conv_16x1719_32, true)
GALML_LAYER_BENCH(Conv_32x1717_32, true)
GALML_LAYER_BENCH(Conv_32x571_64, true)
GALML_LAYER_BENCH(Conv_64x569_64, true)
GALML_LAYER_BENCH(Conv_64x189_128, true)
GALML_LAYER_BENCH(Conv_128x187_128, true)
GALML_LAYER_BENCH(Conv_128x61_256, true)
GALML_LAYER_BENCH(Conv_256x59_256, true)
GALML_LAYER_BENCH(ReLU_16x5159, true)
GALML_LAYER_BENCH(MaxPool_16x5157, true)
GALML_LAYER_BENCH(MaxPool_256x57, true)
GALML_LAYER_BENCH(SE_256x19, true)
GALML_LAYER_BENCH(GAP_256x19, true)
GALML_LAYER_BENCH(Dense_256_128, true)
GALML_LAYER_BENCH(Dense_128_64, true)
GALML_LAYER_BENCH(AvgPool_64x567, true)
GALML_LAYER_BENCH(AdaptivePool_64x961, true)
GALML_LAYER_BENCH(MaxPoolSame_64x567, true)
GALML_LAYER_BENCH(GELU_64x567, true)
GALML_LAYER_BENCH(Sigmoid_64x567, true)
GALML_LAYER_BENCH(Tanh_64x567, true)
GALML_LAYER_BENCH(Dropout_64x567, true)
GALML_LAYER_BENCH(BatchNorm_64x567, true)
GALML_LAYER_BENCH(LayerNorm_65x128, true)
GALML_LAYER_BENCH(Softmax_65x128, true)
GALML_LAYER_BENCH(LogSoftmax_65x128, true)
GALML_LAYER_BENCH(Transpose_64x567, true)
GALML_LAYER_BENCH(Flatten_64x567, true)
GALML_LAYER_BENCH(MinMax_1024, true)
GALML_LAYER_BENCH(Residual_64x567, true)
GALML_LAYER_BENCH(Concat_64x567, true)
GALML_LAYER_BENCH(L2Norm_1024, true)
GALML_LAYER_BENCH(CosineHead_256, true)
GALML_LAYER_BENCH(MaxPool2D_32x126x126, true)
GALML_LAYER_BENCH(AvgPool2D_32x126x126, true)
GALML_LAYER_BENCH(AdaptivePool2D_64x75x75, true)
GALML_LAYER_BENCH(GAP2D_256x8x8, true)
GALML_LAYER_BENCH(BatchNorm2D_32x64x64, true)
GALML_LAYER_BENCH(FlattenCL_256x6x6, true)
GALML_LAYER_BENCH(PatchEmbed_1x4096, true)
GALML_LAYER_BENCH(ClsPos_64x128, true)
GALML_LAYER_BENCH(Gated_65x128, true)
// Inference-sized convolution (batch 1): shows whether one sample uses every thread.
BENCHMARK(BM_forward<Conv_16x5159_16>)->Name("Conv_16x5159_16/forward")->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_forward<Conv_256x59_256>)->Name("Conv_256x59_256/forward")->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) { return galml_bench::run(argc, argv); }

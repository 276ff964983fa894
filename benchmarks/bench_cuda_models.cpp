// GPU throughput of two more network shapes, to compare with benchmarks/compare_pytorch_cuda_models.py
// on the same machine (issue: "a GCSNet-sized and a transformer-sized network against PyTorch"):
//   gcsnet  GCSNet (spec §3.2): spectrum 1 x 3843 + image 3 x 300 x 300 + 4 table values, three encoders,
//           self-attention fusion, cosine heads; 423,682 parameters. Batch 32.
//   vit     a ViT-style spectral encoder: 1 x 4096 -> 256 patches of 16 -> 128-wide tokens, CLS token,
//           learned positions, 4 pre-LN transformer layers (4 heads, FF 256, GELU, dropout 0.1),
//           final LayerNorm, CLS pooling, two dense heads. Batch 128.
// Training step = forward + backward (fixed random output gradients) + fused Adam over the parameter
// buffer; inference = eval forward. FP32 and BF16 (cuda_rt::set_precision), eager and replayed as one
// CUDA graph. Prints "GALML <case> <samples/s>" (median of 5 runs).
//
//   bench_cuda_models [--steps 20] [--quick] [--only gcsnet|vit] [--precision fp32|bf16]
//   bench_cuda_models --only gcsnet --profile   one warm-up and one eager training step, then exits
//                                               (for `ncu --metrics gpu__time_duration.sum`: per-kernel times)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "galml/backend/cuda/cuda.hpp"
#include "galml/backend/cuda/graph.hpp"
#include "galml/galml.hpp"
#include "galml/models/gcsnet.hpp"

using namespace galml;

using VitNet = Net<Input<"spectrum", 1, 4096>, PatchEmbed1D<128, 16>, ClsToken<128>, PositionalEmbedding, TransformerEncoderLayer<4, 256, 0.1>,
                   TransformerEncoderLayer<4, 256, 0.1>, TransformerEncoderLayer<4, 256, 0.1>, TransformerEncoderLayer<4, 256, 0.1>, LayerNorm<>,
                   TokenPool<TokenPooling::cls>, Heads<Head<"cls", Dense<4>>, Head<"z", Dense<1>>>>;
using GcsNet = models::GCSNet<>;

static double median(std::vector<double> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; }
template <class F> static double per_s(int64_t items, int reps_per_run, F&& f) {
  std::vector<double> r;
  for (int run = 0; run < 5; ++run) {
    cuda_rt::synchronize();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps_per_run; ++i) f();
    cuda_rt::synchronize();
    r.push_back(double(items) * reps_per_run / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return median(r);
}

template <class NetT>
struct Bench {
  using M = Model<NetT, float, cuda>;
  M model;
  std::array<Tensor<float, cuda>, M::num_inputs> xs;
  std::array<Tensor<float, cuda>, M::num_heads> dys;
  std::array<const float*, M::num_heads> dyp{};
  Tensor<float, cuda> mom{{M::num_params}}, vel{{M::num_params}}, coef{{4}};
  Tensor<double, cuda> hyper{{4}};
  Tensor<int64_t, cuda> t{{1}};
  int64_t N;

  explicit Bench(int64_t n) : N(n) {
    manual_seed(3);
    Rng rng(11);
    const auto shapes = M::front_t::sample_shapes();
    for (size_t k = 0; k < M::num_inputs; ++k) {
      std::vector<int64_t> s{N};
      s.insert(s.end(), shapes[k].begin(), shapes[k].end());
      Tensor<float> h = Tensor<float>::zeros(s);
      for (int64_t i = 0; i < h.numel(); ++i) h[i] = float(rng.normal());
      xs[k] = to_device(h);
    }
    for (size_t h = 0; h < M::num_heads; ++h) {
      Tensor<float> g = Tensor<float>::zeros({N * M::heads_t::out_sizes[h]});
      for (int64_t i = 0; i < g.numel(); ++i) g[i] = float(rng.normal()) * 1e-3f;
      dys[h] = to_device(g);
      dyp[h] = dys[h].data();
    }
    mom.zero(); vel.zero(); t.zero();
    const double hp[4] = {1e-4, 0.9, 0.999, 0.0};
    allocator<cuda>::copy_from_host(hyper.data(), hp, sizeof hp);
  }
  void forward() {
    if constexpr (M::multi_input) model.forward(xs);
    else model.forward(xs[0]);
  }
  void train_step() {
    model.train();
    model.zero_grad();
    forward();
    model.backward(dyp);
    backend_ops::adam_prepare(cuda{}, (const double*)hyper.data(), t.data(), coef.data());
    backend_ops::adam_update(cuda{}, model.params(), (const float*)model.grads(), mom.data(), vel.data(), (float*)nullptr, M::num_params,
                             (const float*)coef.data(), 0.9, 0.999, 1e-8, 0.0, 0);
  }
  double train(bool graph, int steps) {
    train_step();  // sizes every buffer
    cuda_rt::Graph g;
    if (graph) g.capture([&] { train_step(); });
    return per_s(N, steps, [&] { if (graph) g.launch(); else train_step(); });
  }
  double infer(bool graph, int iters) {
    model.eval();
    forward();
    cuda_rt::Graph g;
    if (graph) g.capture([&] { forward(); });
    return per_s(N, iters, [&] { if (graph) g.launch(); else forward(); });
  }
};

int main(int argc, char** argv) {
  int steps = 20;
  bool profile = false;
  std::string only, precision;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--steps") && i + 1 < argc) steps = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--quick")) steps = 3;
    else if (!std::strcmp(argv[i], "--profile")) profile = true;
    else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
    else if (!std::strcmp(argv[i], "--precision") && i + 1 < argc) precision = argv[++i];
    else { std::fprintf(stderr, "bench_cuda_models: unknown argument '%s'\n", argv[i]); return 2; }
  }
  if (!only.empty() && only != "gcsnet" && only != "vit") { std::fprintf(stderr, "--only: expected gcsnet or vit, got '%s'\n", only.c_str()); return 2; }
  if (!precision.empty() && precision != "fp32" && precision != "bf16") { std::fprintf(stderr, "--precision: expected fp32 or bf16, got '%s'\n", precision.c_str()); return 2; }
  const bool do_gcs = only.empty() || only == "gcsnet", do_vit = only.empty() || only == "vit";
  if (!cuda_available()) { std::printf("no CUDA device: nothing to measure\n"); return 0; }
  const auto info = cuda_rt::device_info();
  std::printf("device: %s (cc %d.%d, %d SMs)\n", info.name.c_str(), info.cc_major, info.cc_minor, info.sm_count);
  struct Row { std::string what; double v; };
  std::vector<Row> rows;
  if (profile) {  // one eager step after a warm-up one: the kernels a profiler should see
    cuda_rt::set_precision(precision == "bf16" ? cuda_rt::Precision::bf16 : cuda_rt::Precision::fp32);
    auto once = [](auto& b) { b.model.train(); b.train_step(); cuda_rt::synchronize(); b.train_step(); cuda_rt::synchronize(); };
    if (do_gcs) { Bench<GcsNet> b(32); once(b); }
    if (do_vit) { Bench<VitNet> b(128); once(b); }
    std::printf("profile: done\n");
    return 0;
  }
  for (auto prec : {cuda_rt::Precision::fp32, cuda_rt::Precision::bf16}) {
    if (precision == "fp32" && prec != cuda_rt::Precision::fp32) continue;
    if (precision == "bf16" && prec != cuda_rt::Precision::bf16) continue;
    cuda_rt::set_precision(prec);
    const std::string p = prec == cuda_rt::Precision::bf16 ? "BF16" : "FP32";
    if (do_gcs) {
      Bench<GcsNet> b(32);
      rows.push_back({"gcsnet train b32 " + p + " eager", b.train(false, steps)});
      rows.push_back({"gcsnet train b32 " + p + " CUDA graph", b.train(true, steps)});
      rows.push_back({"gcsnet inference b32 " + p + " CUDA graph", b.infer(true, steps)});
    }
    if (do_vit) {
      Bench<VitNet> b(128);
      rows.push_back({"vit train b128 " + p + " eager", b.train(false, steps)});
      rows.push_back({"vit train b128 " + p + " CUDA graph", b.train(true, steps)});
      rows.push_back({"vit inference b128 " + p + " CUDA graph", b.infer(true, steps)});
    }
  }
  cuda_rt::set_precision(cuda_rt::Precision::fp32);
  std::printf("%-44s %14s\n", "galml (CUDA)", "samples/s");
  for (auto& r : rows) std::printf("GALML %-44s %14.0f\n", r.what.c_str(), r.v);
  return 0;
}

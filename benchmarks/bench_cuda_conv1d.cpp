// Per-layer timing of the CUDA Conv1D ops on the ten MTLforGalSpecZ convolution shapes (spec §1.2):
// forward (+bias+ReLU), backward (dx, dW, db with the fused ReLU mask) and the weight-gradient part
// alone, for the direct FP32 kernels and the im2col + cuBLAS path (FP32 and TF32). Prints ms per call
// (median of 7 runs of 20 calls, host clock around a synchronised stream) and achieved TFLOP/s.
//
//   bench_cuda_conv1d [--batch 128] [--layer i] [--once]
// --layer i: only the i-th shape (0..9); --once: one call of each op per path, no timing (for ncu).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <vector>

#include "galml/backend/cuda/cuda.hpp"
#include "galml/galml.hpp"

using namespace galml;
namespace ops = galml::backend_ops;

static double median(std::vector<double> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; }
static bool g_once = false;
template <class F> static double ms_per_call(F&& f) {
  if (g_once) { f(); cuda_rt::synchronize(); return 1; }
  for (int i = 0; i < 3; ++i) f();
  std::vector<double> r;
  for (int rep = 0; rep < 7; ++rep) {
    cuda_rt::synchronize();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 20; ++i) f();
    cuda_rt::synchronize();
    r.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / 20);
  }
  return median(r);
}

static Tensor<float, cuda> rand_dev(int64_t n, uint64_t s) {
  Rng r(5, s);
  Tensor<float> h({n});
  for (int64_t i = 0; i < n; ++i) h[i] = float(r.uniform(-1, 1));
  return to_device(h);
}

int main(int argc, char** argv) {
  int64_t N = 128;
  int only = -1;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--batch") && i + 1 < argc) N = std::atoll(argv[++i]);
    else if (!std::strcmp(argv[i], "--layer") && i + 1 < argc) only = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--once")) g_once = true;
  }
  if (!cuda_available()) { std::printf("no CUDA device: nothing to measure\n"); return 0; }
  const auto info = cuda_rt::device_info();
  std::printf("device: %s, batch %lld\n", info.name.c_str(), (long long)N);
  const int64_t shapes[][3] = {{1, 5161, 16}, {16, 5159, 16}, {16, 1719, 32}, {32, 1717, 32}, {32, 571, 64},
                               {64, 569, 64}, {64, 189, 128}, {128, 187, 128}, {128, 61, 256}, {256, 59, 256}};
  using P = cuda_rt::Precision;
  struct Mode { const char* name; cuda_rt::ConvPath path; P prec; bool vec = true; int wmin = 32; };
  const Mode modes[] = {{"direct", cuda_rt::ConvPath::direct, P::fp32}, {"gemm-fp32", cuda_rt::ConvPath::gemm, P::fp32},
                        {"gemm-tf32", cuda_rt::ConvPath::gemm, P::tf32}, {"auto-fp32", cuda_rt::ConvPath::automatic, P::fp32},
                        {"auto-tf32", cuda_rt::ConvPath::automatic, P::tf32}, {"auto-bf16", cuda_rt::ConvPath::automatic, P::bf16},
                        {"bf16-elem", cuda_rt::ConvPath::automatic, P::bf16, false},
                        {"bf16-tcw16", cuda_rt::ConvPath::automatic, P::bf16, true, 16},  // TC weight gradients from 16 channels
                        {"tf32x3", cuda_rt::ConvPath::automatic, P::tf32x3},                 // FP32-level accuracy on the tensor cores
                        {"tf32x3-tcw16", cuda_rt::ConvPath::automatic, P::tf32x3, true, 16}};
  constexpr int nm = int(std::size(modes));
  std::printf("%-18s %-10s %9s %9s %9s %9s | %7s %7s %7s\n", "layer (cin,L,cout)", "path", "fwd ms", "bwd ms", "dW ms", "sum ms",
              "fwd TF", "bwd TF", "step TF");
  double tot[nm] = {};
  int li = -1;
  for (const auto& s : shapes) {
    if (++li, only >= 0 && li != only) continue;
    const cpu_kernels::Conv1dDims d{s[0], s[1], s[2], 3, 1, 0, s[1] - 2};
    auto x = rand_dev(N * d.cin * d.L, 1), w = rand_dev(d.cout * d.cin * 3, 2), b = rand_dev(d.cout, 3);
    auto dy = rand_dev(N * d.cout * d.lout, 4);
    Tensor<float, cuda> y({N * d.cout * d.lout}), dx({N * d.cin * d.L}), dw({d.cout * d.cin * 3}), db({d.cout});
    const double flops = 2.0 * double(N) * d.cout * d.cin * 3 * d.lout;
    for (int m = 0; m < nm; ++m) {
      cuda_rt::set_conv_path(modes[m].path);
      cuda_rt::set_precision(modes[m].prec);
      cuda_rt::set_tc_vector_loads(modes[m].vec);
      cuda_rt::set_tc_wgrad_min_channels(modes[m].wmin);
      const float* xp = x.data();
      const float* wp = w.data();
      const float* bp = b.data();
      const float* dyp = dy.data();
      float* dxp = d.cin == 1 ? nullptr : dx.data();  // the first layer needs no input gradient
      const double f = ms_per_call([&] { ops::conv1d_relu_forward(cuda{}, xp, wp, bp, y.data(), N, d); });
      const double bw = ms_per_call([&] { ops::conv1d_relu_backward(cuda{}, xp, wp, (const float*)y.data(), dyp, dxp, dw.data(), db.data(), N, d); });
      const double wg = ms_per_call([&] { ops::conv1d_relu_backward(cuda{}, xp, wp, (const float*)y.data(), dyp, (float*)nullptr, dw.data(), db.data(), N, d); });
      tot[m] += f + bw;
      const double bflops = flops * (dxp ? 2 : 1);
      std::printf("%4lld,%5lld,%4lld    %-10s %9.4f %9.4f %9.4f %9.4f | %7.2f %7.2f %7.2f\n", (long long)d.cin, (long long)d.L, (long long)d.cout,
                  modes[m].name, f, bw, wg, f + bw, flops / f * 1e-9, bflops / bw * 1e-9, (flops + bflops) / (f + bw) * 1e-9);
    }
  }
  cuda_rt::set_conv_path(cuda_rt::ConvPath::automatic);
  cuda_rt::set_precision(P::fp32);
  cuda_rt::set_tc_vector_loads(true);
  cuda_rt::set_tc_wgrad_min_channels(32);
  for (int m = 0; m < nm; ++m) std::printf("TOTAL %-10s fwd+bwd of the ten convolutions: %.3f ms per batch of %lld\n", modes[m].name, tot[m], (long long)N);
  return 0;
}

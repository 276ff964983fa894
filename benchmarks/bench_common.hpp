#pragma once
// Shared by the galml benchmarks: thread count from --threads=N (or --threads N), else the
// GALML_NUM_THREADS environment variable (galml's own default), deterministic random inputs, and the
// programs' main (run()).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "galml/core/parallel.hpp"
#include "galml/core/rng.hpp"
#include "galml/core/tensor.hpp"

namespace galml_bench {

// Removes --threads from argv (Google Benchmark rejects unknown flags) and applies it.
inline int apply_threads(int& argc, char** argv) {
  int threads = 0;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if (std::strncmp(a, "--threads=", 10) == 0) { threads = std::atoi(a + 10); continue; }
    if (std::strcmp(a, "--threads") == 0 && i + 1 < argc) { threads = std::atoi(argv[++i]); continue; }
    argv[out++] = argv[i];
  }
  argc = out;
  if (threads <= 0) if (const char* e = std::getenv("GALML_NUM_THREADS")) threads = std::atoi(e);
  if (threads > 0) galml::set_num_threads(threads);
  return galml::get_num_threads();
}

inline galml::Tensor<float> random_tensor(std::vector<int64_t> shape, uint64_t seed = 1) {
  galml::Tensor<float> t(std::move(shape));
  galml::Rng rng(seed);
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = float(rng.normal());
  return t;
}

// The whole main() of a Google Benchmark program: --threads, then Google Benchmark's own flags; the
// thread count is recorded in the output's context.
inline int run(int argc, char** argv) {
  const int threads = apply_threads(argc, argv);
  benchmark::AddCustomContext("galml_threads", std::to_string(threads));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace galml_bench

#pragma once
// CUDA graphs over galml ops, pinned host memory and a copy stream. Host-only header (CUDA runtime API).
//
//   cuda_rt::Graph g;
//   g.capture([&] { model.forward(x); });   // records every kernel queued on cuda_rt::stream()
//   g.launch();                             // replays them: same kernels, same pointers, same arguments
//
// Capture rules: shapes static, no host synchronisation inside (copy_to_host/copy_from_host of the
// allocator synchronise: capture fails with an error), every buffer allocated beforehand (run the
// region once eagerly first so tensors reach their size). Blocks freed during the capture go to the
// graph's private pool (allocator.hpp) and stay reserved for it until the Graph is destroyed.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstring>
#include <utility>

#include "galml/backend/cuda/allocator.hpp"
#include "galml/backend/cuda/kernels.hpp"
#include "galml/backend/cuda/runtime.hpp"

namespace galml::cuda_rt {

#define GALML_CUDA_CHECK_OR(call, cleanup)   \
  do {                                       \
    const cudaError_t e_ = (call);           \
    if (e_ != cudaSuccess) { cleanup; GALML_CUDA_CHECK(e_); } \
  } while (0)

class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  ~Graph() { reset_noexcept(); }

  bool ready() const { return exec_ != nullptr; }

  template <class F> void capture(F&& body) {
    reset();
    auto& alloc = CachingAllocator::instance();
    GALML_CUDA_CHECK(cudaStreamSynchronize(stream()));
    alloc.begin_private(&pool_);
    cudaGraph_t g = nullptr;
    GALML_CUDA_CHECK_OR(cudaStreamBeginCapture(stream(), cudaStreamCaptureModeRelaxed), alloc.end_private());
    try {
      body();
    } catch (...) {
      (void)cudaStreamEndCapture(stream(), &g);
      if (g) (void)cudaGraphDestroy(g);
      (void)cudaGetLastError();
      alloc.end_private();
      throw;
    }
    const cudaError_t e = cudaStreamEndCapture(stream(), &g);
    alloc.end_private();
    GALML_CUDA_CHECK(e);
    const cudaError_t ie = cudaGraphInstantiate(&exec_, g, 0);
    (void)cudaGraphDestroy(g);
    GALML_CUDA_CHECK(ie);
  }
  void launch() const {
    GALML_CHECK(exec_ != nullptr, "cuda_rt::Graph::launch: nothing captured");
    GALML_CUDA_CHECK(cudaGraphLaunch(exec_, stream()));
  }
  void reset() {
    if (exec_) { GALML_CUDA_CHECK(cudaStreamSynchronize(stream())); GALML_CUDA_CHECK(cudaGraphExecDestroy(exec_)); exec_ = nullptr; }
    CachingAllocator::instance().release_private(&pool_);
  }

 private:
  void reset_noexcept() noexcept { try { reset(); } catch (...) {} }
  cudaGraphExec_t exec_ = nullptr;
  CachingAllocator::PrivatePool pool_;
};
#undef GALML_CUDA_CHECK_OR

// Page-locked host memory (cudaHostAlloc): host->device copies from it run asynchronously on the DMA
// engines, overlapping kernels.
template <class T>
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  explicit PinnedBuffer(size_t n) { resize(n); }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  PinnedBuffer(PinnedBuffer&& o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr; o.n_ = 0; }
  PinnedBuffer& operator=(PinnedBuffer&& o) noexcept { std::swap(p_, o.p_); std::swap(n_, o.n_); return *this; }
  ~PinnedBuffer() { if (p_) (void)cudaFreeHost(p_); }
  void resize(size_t n) {
    if (n <= n_) return;
    if (p_) GALML_CUDA_CHECK(cudaFreeHost(p_));
    p_ = nullptr;
    GALML_CUDA_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&p_), (n ? n : 1) * sizeof(T), cudaHostAllocDefault));
    n_ = n;
  }
  T* data() const { return p_; }
  size_t size() const { return n_; }
 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

class Event {
 public:
  Event() { GALML_CUDA_CHECK(cudaEventCreateWithFlags(&e_, cudaEventDisableTiming)); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  ~Event() { (void)cudaEventDestroy(e_); }
  void record(cudaStream_t s) { GALML_CUDA_CHECK(cudaEventRecord(e_, s)); }
  void wait_on(cudaStream_t s) const { GALML_CUDA_CHECK(cudaStreamWaitEvent(s, e_, 0)); }
  void synchronize() const { GALML_CUDA_CHECK(cudaEventSynchronize(e_)); }
  cudaEvent_t get() const { return e_; }
 private:
  cudaEvent_t e_ = nullptr;
};

// A second stream for host->device batch copies (non-blocking, like the compute stream).
inline cudaStream_t copy_stream() {
  static cudaStream_t s = [] {
    GALML_CHECK(cuda_available(), "CUDA backend: no CUDA device is available");
    cudaStream_t st = nullptr;
    GALML_CUDA_CHECK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    return st;
  }();
  return s;
}

}  // namespace galml::cuda_rt

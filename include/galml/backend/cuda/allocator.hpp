#pragma once
// galml::allocator<cuda>: device memory through a caching allocator. cudaMalloc/cudaFree synchronise
// the device and cost tens of microseconds, so freed blocks go to size-bucketed free lists and are
// handed out again; a training loop whose tensor sizes repeat reaches a steady state with no
// cudaMalloc at all (stats().cuda_mallocs stops growing; the tests check this).
//
// Every op and copy runs on the one galml stream (cuda_rt::stream()), so a block freed on the host
// while kernels still use it can be reused at once: the next user's kernels are queued after them.
//
// Two pools: tensors, and per-op scratch (DeviceBuffer: im2col columns, transposes). Kept apart so a
// tensor allocated on the first step cannot take a freed scratch block that the second step's
// scratch then misses: the steady state starts right after the first step.
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "galml/backend/cuda/runtime.hpp"
#include "galml/core/backend.hpp"

namespace galml {

namespace cuda_rt {

struct AllocatorStats {
  uint64_t cuda_mallocs = 0;     // cudaMalloc calls so far
  uint64_t cuda_frees = 0;       // cudaFree calls so far (empty_cache, or retry after out-of-memory)
  uint64_t allocations = 0;      // allocate() calls
  uint64_t cache_hits = 0;       // allocate() calls served from a free list
  size_t bytes_in_use = 0;       // bucket bytes handed out and not yet returned
  size_t bytes_cached = 0;       // bucket bytes sitting in free lists
  size_t peak_bytes_in_use = 0;
};

class CachingAllocator {
 public:
  static CachingAllocator& instance() {
    static CachingAllocator* a = new CachingAllocator();  // leaked on purpose: no cudaFree after runtime teardown
    return *a;
  }

  // Buckets: powers of two from 512 B to 1 MiB, then multiples of 2 MiB. Waste is bounded (< 2x
  // small, < 2 MiB large) and sizes that wobble a little still hit the same bucket.
  static size_t bucket(size_t bytes) {
    if (bytes <= 512) return 512;
    if (bytes <= (size_t(1) << 20)) { size_t b = 512; while (b < bytes) b <<= 1; return b; }
    const size_t chunk = size_t(2) << 20;
    return (bytes + chunk - 1) / chunk * chunk;
  }

  enum Pool : int { tensors = 0, scratch = 1 };

  // A graph's private pool: while one is active (begin_private .. end_private, around a CUDA-graph
  // capture), freed blocks go to it instead of the shared free lists, and allocations look there first.
  // The captured graph keeps using those addresses on every replay, so nothing outside the graph may
  // be handed them until the graph is destroyed (release_private returns them to the shared lists).
  struct PrivatePool;

  void* allocate(size_t bytes, Pool pool = tensors) {
    const size_t b = bucket(bytes);
    const Key key{pool, b};
    std::lock_guard<std::mutex> lk(m_);
    ++stats_.allocations;
    void* p = nullptr;
    if (priv_) {
      auto pit = priv_->free.find(key);
      if (pit != priv_->free.end() && !pit->second.empty()) {
        p = pit->second.back(); pit->second.pop_back();
        stats_.bytes_cached -= b; ++stats_.cache_hits;
        sizes_[p] = key;
        stats_.bytes_in_use += b;
        if (stats_.bytes_in_use > stats_.peak_bytes_in_use) stats_.peak_bytes_in_use = stats_.bytes_in_use;
        return p;
      }
    }
    auto it = free_.find(key);
    if (it != free_.end() && !it->second.empty()) {
      p = it->second.back(); it->second.pop_back();
      stats_.bytes_cached -= b; ++stats_.cache_hits;
    } else {
      cudaError_t e = cudaMalloc(&p, b);
      if (e == cudaErrorMemoryAllocation) {  // give the cache back to the driver and try once more
        (void)cudaGetLastError();
        release_cached_locked();
        e = cudaMalloc(&p, b);
      }
      GALML_CUDA_CHECK(e);
      ++stats_.cuda_mallocs;
    }
    sizes_[p] = key;
    stats_.bytes_in_use += b;
    if (stats_.bytes_in_use > stats_.peak_bytes_in_use) stats_.peak_bytes_in_use = stats_.bytes_in_use;
    return p;
  }

  void deallocate(void* p) {
    if (!p) return;
    std::lock_guard<std::mutex> lk(m_);
    auto it = sizes_.find(p);
    if (it == sizes_.end()) return;  // not ours (never happens through Tensor); ignore rather than corrupt
    const Key key = it->second;
    const size_t b = key.bytes;
    sizes_.erase(it);
    (priv_ ? priv_->free : free_)[key].push_back(p);
    stats_.bytes_in_use -= b; stats_.bytes_cached += b;
  }

  // Returns every cached block to the driver (after the stream drains: kernels may still use them).
  void empty_cache() {
    std::lock_guard<std::mutex> lk(m_);
    release_cached_locked();
  }

  AllocatorStats stats() const { std::lock_guard<std::mutex> lk(m_); return stats_; }

  void begin_private(PrivatePool* pool) {
    std::lock_guard<std::mutex> lk(m_);
    GALML_CHECK(priv_ == nullptr, "CachingAllocator: a private pool is already active (one graph capture at a time)");
    priv_ = pool;
  }
  void end_private() { std::lock_guard<std::mutex> lk(m_); priv_ = nullptr; }
  // Hands a private pool's blocks back to the shared free lists; the graph that used them must be gone
  // and the stream drained (this synchronises the stream first).
  void release_private(PrivatePool* pool) {
    GALML_CUDA_CHECK(cudaStreamSynchronize(stream()));
    std::lock_guard<std::mutex> lk(m_);
    if (priv_ == pool) priv_ = nullptr;
    for (auto& [k, v] : pool->free) { auto& dst = free_[k]; dst.insert(dst.end(), v.begin(), v.end()); v.clear(); }
  }

 private:
  CachingAllocator() = default;
  void release_cached_locked() {
    GALML_CUDA_CHECK(cudaStreamSynchronize(stream()));
    for (auto& [k, v] : free_) {
      for (void* q : v) { GALML_CUDA_CHECK(cudaFree(q)); ++stats_.cuda_frees; stats_.bytes_cached -= k.bytes; }
      v.clear();
    }
  }
  struct Key {
    int pool; size_t bytes;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash { size_t operator()(const Key& k) const { return k.bytes * 2 + size_t(k.pool); } };
  mutable std::mutex m_;
  std::unordered_map<Key, std::vector<void*>, KeyHash> free_;
  std::unordered_map<void*, Key> sizes_;
  AllocatorStats stats_;
  PrivatePool* priv_ = nullptr;

 public:
  struct PrivatePool { std::unordered_map<Key, std::vector<void*>, KeyHash> free; };
};

inline AllocatorStats allocator_stats() { return CachingAllocator::instance().stats(); }
inline void empty_cache() { CachingAllocator::instance().empty_cache(); }

}  // namespace cuda_rt

template <> struct allocator<cuda> {
  static void* allocate(size_t bytes) { return cuda_rt::CachingAllocator::instance().allocate(bytes); }
  static void deallocate(void* p) { cuda_rt::CachingAllocator::instance().deallocate(p); }
  static void memset_zero(void* p, size_t bytes) {
    if (bytes) GALML_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, cuda_rt::stream()));
  }
  static void copy(void* dst, const void* src, size_t bytes) {
    if (bytes && dst != src) GALML_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, cuda_rt::stream()));
  }
  // Host <-> device copies complete before returning: the host buffer may be reused or freed at once,
  // and results read on the host are final.
  static void copy_from_host(void* dst, const void* src, size_t bytes) {
    if (!bytes) return;
    GALML_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, cuda_rt::stream()));
    GALML_CUDA_CHECK(cudaStreamSynchronize(cuda_rt::stream()));
  }
  static void copy_to_host(void* dst, const void* src, size_t bytes) {
    if (!bytes) return;
    GALML_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, cuda_rt::stream()));
    GALML_CUDA_CHECK(cudaStreamSynchronize(cuda_rt::stream()));
  }
  // Device memory not yet taken from the driver (blocks cached free by the allocator come on top).
  static size_t free_bytes() {
    size_t free = 0, total = 0;
    GALML_CUDA_CHECK(cudaMemGetInfo(&free, &total));
    return free;
  }
};

namespace cuda_rt {
// Scratch memory for one op (im2col columns, transposes), returned to the cache on scope exit.
template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(int64_t n)
      : p_(static_cast<T*>(CachingAllocator::instance().allocate(size_t(n > 0 ? n : 1) * sizeof(T), CachingAllocator::scratch))) {}
  ~DeviceBuffer() { allocator<cuda>::deallocate(p_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  T* get() const { return p_; }
 private:
  T* p_;
};
}  // namespace cuda_rt

}  // namespace galml

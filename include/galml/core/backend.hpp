#pragma once
// Backends are template tags. A layer is written once against galml::backend_ops functions, which are
// overloaded on the tag; the CPU overloads live in backend/cpu/, the CUDA ones in backend/cuda/.
#include <concepts>
#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <new>

#include "galml/core/error.hpp"

namespace galml {

// Op overloads live in galml::backend_ops; deriving the tags from a type in that namespace makes an
// unqualified call like conv1d_forward(B{}, ...) find the right backend's overload by ADL, even when
// the CUDA overloads are declared after the layer templates.
namespace backend_ops { struct tag {}; }
struct cpu : backend_ops::tag { static constexpr const char* name = "cpu"; };
struct cuda : backend_ops::tag { static constexpr const char* name = "cuda"; };

template <class B> concept Backend = std::same_as<B, cpu> || std::same_as<B, cuda>;

// Host allocation: 64-byte aligned (AVX-512 friendly, one cache line).
inline void* aligned_alloc_bytes(size_t bytes) {
  if (bytes == 0) bytes = 64;
  bytes = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, bytes);
  if (!p) throw std::bad_alloc();
  return p;
}
inline void aligned_free(void* p) { std::free(p); }

template <class B> struct allocator;
template <> struct allocator<cpu> {
  static void* allocate(size_t bytes) { return aligned_alloc_bytes(bytes); }
  static void deallocate(void* p) { aligned_free(p); }
  static void memset_zero(void* p, size_t bytes) { std::memset(p, 0, bytes); }
  static void copy(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
  static void copy_from_host(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
  static void copy_to_host(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
  // Bytes a caller may still plan to allocate (host memory: not tracked, no limit given).
  static size_t free_bytes() { return SIZE_MAX; }
};

}  // namespace galml

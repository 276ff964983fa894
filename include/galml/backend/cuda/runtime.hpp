#pragma once
// CUDA runtime glue for the CUDA backend. Host-only: compiles with the ordinary C++ compiler (it uses
// the CUDA runtime and cuBLAS C APIs, no kernels), so host code never needs nvcc.
//
//   GALML_CUDA_CHECK(call)     throws galml::Error "file:line: call failed: <cudaGetErrorString>"
//   GALML_CUBLAS_CHECK(call)   same for cuBLAS status codes
//   cuda_available()           false (never throws) when there is no driver or no device
//   cuda_rt::stream()          the one stream every galml op and copy runs on (stream order makes the
//                              caching allocator's reuse safe without events)
//   cuda_rt::cublas()          the cuBLAS handle bound to that stream
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <mutex>
#include <string>

#include "galml/backend/cuda/kernels.hpp"
#include "galml/core/error.hpp"
#include "galml/core/precision.hpp"

#define GALML_CUDA_CHECK(call)                                                                                        \
  do {                                                                                                                \
    const cudaError_t galml_err_ = (call);                                                                            \
    if (galml_err_ != cudaSuccess) {                                                                                  \
      (void)cudaGetLastError(); /* clear a non-sticky error so the next launch check does not see it again */        \
      throw ::galml::Error(::galml::detail::cat(__FILE__, ":", __LINE__, ": ", #call, " failed: ",                   \
                                                cudaGetErrorName(galml_err_), " (", cudaGetErrorString(galml_err_), ")")); \
    }                                                                                                                 \
  } while (0)

#define GALML_CUBLAS_CHECK(call)                                                                                      \
  do {                                                                                                                \
    const cublasStatus_t galml_st_ = (call);                                                                          \
    if (galml_st_ != CUBLAS_STATUS_SUCCESS)                                                                           \
      throw ::galml::Error(::galml::detail::cat(__FILE__, ":", __LINE__, ": ", #call, " failed: ",                   \
                                                cublasGetStatusName(galml_st_), " (", cublasGetStatusString(galml_st_), ")")); \
  } while (0)

namespace galml {

// True when a CUDA driver and at least one device are usable. The probe runs once; a failure (no
// driver, no device, insufficient driver) is swallowed and cleared, so CPU-only machines just get false.
inline bool cuda_available() {
  static const bool ok = [] {
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) { (void)cudaGetLastError(); return false; }
    return n > 0;
  }();
  return ok;
}

namespace cuda_rt {

struct DeviceInfo {
  int device = -1;
  std::string name;
  int sm_count = 0, cc_major = 0, cc_minor = 0;
  size_t global_mem = 0, l2_bytes = 0, smem_per_block_optin = 0;
  int runtime_version = 0, driver_version = 0;
};

inline DeviceInfo device_info() {
  GALML_CHECK(cuda_available(), "CUDA backend: no CUDA device is available");
  DeviceInfo d;
  GALML_CUDA_CHECK(cudaGetDevice(&d.device));
  cudaDeviceProp p{};
  GALML_CUDA_CHECK(cudaGetDeviceProperties(&p, d.device));
  d.name = p.name; d.sm_count = p.multiProcessorCount; d.cc_major = p.major; d.cc_minor = p.minor;
  d.global_mem = p.totalGlobalMem; d.l2_bytes = size_t(p.l2CacheSize); d.smem_per_block_optin = p.sharedMemPerBlockOptin;
  GALML_CUDA_CHECK(cudaRuntimeGetVersion(&d.runtime_version));
  GALML_CUDA_CHECK(cudaDriverGetVersion(&d.driver_version));
  return d;
}

// The singletons are created on first use and intentionally leaked: destroying them during static
// destruction can run after the CUDA runtime has shut down.
inline cudaStream_t stream() {
  static cudaStream_t s = [] {
    GALML_CHECK(cuda_available(), "CUDA backend: no CUDA device is available");
    cudaStream_t st = nullptr;
    GALML_CUDA_CHECK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    return st;
  }();
  return s;
}

inline cublasHandle_t cublas() {
  static cublasHandle_t h = [] {
    cublasHandle_t hh = nullptr;
    GALML_CUBLAS_CHECK(cublasCreate(&hh));
    GALML_CUBLAS_CHECK(cublasSetStream(hh, stream()));
    // Plain FP32/FP64 arithmetic (no TF32): parity with the CPU backend at ~1e-6 and no silent
    // precision loss. Atomics stay disallowed (the default), so cuBLAS results are deterministic.
    GALML_CUBLAS_CHECK(cublasSetMathMode(hh, CUBLAS_DEFAULT_MATH));
    GALML_CUBLAS_CHECK(cublasSetAtomicsMode(hh, CUBLAS_ATOMICS_NOT_ALLOWED));
    // An explicit workspace: cuBLAS then never allocates during a CUDA-graph capture, and eager calls
    // and captured ones choose the same algorithms (graph replays bit-identical to eager steps).
    void* ws = nullptr;
    const size_t ws_bytes = size_t(32) << 20;
    GALML_CUDA_CHECK(cudaMalloc(&ws, ws_bytes));
    GALML_CUBLAS_CHECK(cublasSetWorkspace(hh, ws, ws_bytes));
    return hh;
  }();
  return h;
}

// Arithmetic precision of float matrix products and convolutions (global, all models on the device):
// FP32 (the default), TF32 or BF16 tensor-core operands with FP32 accumulation. Storage, master weights,
// optimizer state and losses stay FP32 in every mode. Implemented in the compiled library (kernels.hpp).
// tf32x3: FP32-level accuracy with the Conv1D products on the tensor cores ("3xTF32": each operand split
// into two TF32 numbers, three MMAs per product; error about 2^-21 relative per product against FP32's
// 2^-24 rounding, against 2^-11 for one TF32 product); matrix products stay cuBLAS FP32.
// The enum lives in core/precision.hpp (no CUDA headers needed to name one); its values are the
// compiled library's math modes.
using galml::Precision;
using galml::precision_from_name;
using galml::precision_name;
static_assert(int(Precision::fp32) == cuda_kernels::math_fp32 && int(Precision::tf32) == cuda_kernels::math_tf32 &&
              int(Precision::bf16) == cuda_kernels::math_bf16 && int(Precision::tf32x3) == cuda_kernels::math_tf32x3);
inline void set_precision(Precision p) { cuda_kernels::set_math_precision(int(p)); }
inline Precision precision() { return Precision(cuda_kernels::math_precision()); }
// TF32 on/off (FP32 when off): shorthand for set_precision.
inline void set_tf32(bool on) { set_precision(on ? Precision::tf32 : Precision::fp32); }
inline bool tf32_enabled() { return precision() == Precision::tf32; }
// Deterministic cuBLAS (atomics off, the default) or atomics allowed (may be faster, results may vary
// in the last bits between runs).
inline void set_deterministic(bool on) {
  GALML_CUBLAS_CHECK(cublasSetAtomicsMode(cublas(), on ? CUBLAS_ATOMICS_NOT_ALLOWED : CUBLAS_ATOMICS_ALLOWED));
}

// Waits for every op queued so far (needed before reading device results on the host by other means
// than allocator<cuda>::copy_to_host, which synchronises itself, and around timings).
inline void synchronize() { GALML_CUDA_CHECK(cudaStreamSynchronize(stream())); }

}  // namespace cuda_rt
}  // namespace galml

#pragma once
// The CUDA backend (link galml::cuda): Model<Net, float, galml::cuda>, Tensor<T, galml::cuda>.
//
//   #include "galml/galml.hpp"
//   #include "galml/backend/cuda/cuda.hpp"
//   if (galml::cuda_available()) {
//     galml::Model<Net, float, galml::cuda> m;
//     auto& y = m.forward(galml::to_device(x_cpu));
//     auto y_host = galml::to_host(y);
//   }
#include "galml/backend/cuda/allocator.hpp"
#include "galml/backend/cuda/ops.hpp"
#include "galml/backend/cuda/runtime.hpp"
#include "galml/core/tensor.hpp"

namespace galml {

namespace cuda_rt {
// Conv1D implementation for float stride-1 k=3 convolutions (kernels.hpp): gemm (im2col + cuBLAS, the
// reference; also what TF32 mode speeds up), direct (galml's FP32 kernels), auto (default: per shape).
enum class ConvPath { gemm = cuda_kernels::conv_path_gemm, automatic = cuda_kernels::conv_path_auto, direct = cuda_kernels::conv_path_direct };
inline void set_conv_path(ConvPath p) { cuda_kernels::set_conv_path(int(p)); }
inline ConvPath conv_path() { return ConvPath(cuda_kernels::conv_path()); }
// TF32/BF16 conv kernels: 16-byte vector copies (default) or 4-byte element copies.
inline void set_tc_vector_loads(bool on) { cuda_kernels::set_tc_vector_loads(on); }
inline bool tc_vector_loads() { return cuda_kernels::tc_vector_loads(); }
// TF32/BF16 weight gradients on the tensor cores from this many channels on (default 32).
inline void set_tc_wgrad_min_channels(int c) { cuda_kernels::set_tc_wgrad_min_channels(c); }
inline int tc_wgrad_min_channels() { return cuda_kernels::tc_wgrad_min_channels(); }
}  // namespace cuda_rt

// Copies of a tensor on the other side (same shape; the result owns fresh storage).
template <class T>
Tensor<T, cuda> to_device(const Tensor<T, cpu>& h) {
  Tensor<T, cuda> d(h.shape());
  allocator<cuda>::copy_from_host(d.data(), h.data(), size_t(h.numel()) * sizeof(T));
  return d;
}
template <class T>
Tensor<T, cpu> to_host(const Tensor<T, cuda>& d) {
  Tensor<T, cpu> h(d.shape());
  allocator<cuda>::copy_to_host(h.data(), d.data(), size_t(d.numel()) * sizeof(T));
  return h;
}
// Into an existing host tensor of the same element count (no allocation: for per-step readback).
template <class T>
void to_host(const Tensor<T, cuda>& d, Tensor<T, cpu>& h) {
  h.ensure(d.shape());
  allocator<cuda>::copy_to_host(h.data(), d.data(), size_t(d.numel()) * sizeof(T));
}

}  // namespace galml

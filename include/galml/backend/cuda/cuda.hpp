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
// Direct FP32 conv kernels for float stride-1 k=3 Conv1D (the default), or im2col + cuBLAS for every
// convolution (the reference path; also what TF32 mode speeds up). Global, host-side.
inline void set_direct_conv(bool on) { cuda_kernels::set_direct_conv(on); }
inline bool direct_conv_enabled() { return cuda_kernels::direct_conv_enabled(); }
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

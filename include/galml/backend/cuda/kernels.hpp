#pragma once
// Entry points of the compiled CUDA library (galml_cuda): one host function per op, defined in the
// .cuh files of this folder and explicitly instantiated for float and double in src/cuda/galml_cuda.cu.
// This header needs neither nvcc nor Eigen, so both the host code (through ops.hpp) and the library
// see the same declarations. Pointers are device pointers; everything runs on cuda_rt::stream().
#include <cstdint>

namespace galml::cuda_kernels {

// Same fields as cpu_kernels::Conv1dDims (kept separate so the library does not include the CPU
// backend, whose Eigen headers nvcc warns about).
struct ConvDims { int64_t cin, L, cout, K, stride, pad, lout; };
// Activation codes, in the order of backend_ops::Act (checked by a static_assert in ops.hpp).
enum ActCode : int { act_relu = 0, act_sigmoid = 1, act_tanh = 2, act_gelu = 3 };

template <class T> void conv1d_forward(const T* x, const T* w, const T* b, T* y, int64_t N, const ConvDims& d);
template <class T> void conv1d_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t N, const ConvDims& d);
template <class T> void dense_forward(const T* x, const T* w, const T* b, T* y, int64_t N, int64_t in, int64_t out);
template <class T> void dense_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t N, int64_t in, int64_t out);
template <class T> void activation_forward(int act, const T* x, T* y, int64_t n);
template <class T> void activation_backward(int act, const T* x, const T* y, const T* dy, T* dx, int64_t n);
template <class T> void maxpool1d_forward(const T* x, T* y, int32_t* arg, int64_t rows, int64_t L, int64_t K, int64_t S, int64_t lout);
template <class T> void maxpool1d_backward(const T* dy, const int32_t* arg, T* dx, int64_t rows, int64_t L, int64_t lout);
template <class T> void binpool1d_forward(const T* x, T* y, const int32_t* starts, const int32_t* ends, int64_t rows, int64_t L, int64_t lout);
template <class T> void binpool1d_backward(const T* dy, T* dx, const int32_t* starts, const int32_t* ends, int64_t rows, int64_t L, int64_t lout);
template <class T> void dropout_forward(const T* x, T* y, uint8_t* mask, int64_t n, double p, uint64_t seed, uint64_t layer, uint64_t step);
template <class T> void dropout_backward(const T* dy, const uint8_t* mask, T* dx, int64_t n, double p);
template <class T> void copy(const T* x, T* y, int64_t n);
template <class T> void add_inplace(T* y, const T* x, int64_t n);
template <class T> void scale_rows(const T* x, const T* s, T* y, int64_t rows, int64_t L);
template <class T> void scale_rows_backward(const T* x, const T* s, const T* dy, T* dx, T* ds, int64_t rows, int64_t L);

// The list of ops, for `extern template` here and the explicit instantiations in galml_cuda.cu.
#define GALML_CUDA_OPS(PREFIX, T)                                                                                          \
  PREFIX void conv1d_forward<T>(const T*, const T*, const T*, T*, int64_t, const ConvDims&);                               \
  PREFIX void conv1d_backward<T>(const T*, const T*, const T*, T*, T*, T*, int64_t, const ConvDims&);                      \
  PREFIX void dense_forward<T>(const T*, const T*, const T*, T*, int64_t, int64_t, int64_t);                               \
  PREFIX void dense_backward<T>(const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t, int64_t);                      \
  PREFIX void activation_forward<T>(int, const T*, T*, int64_t);                                                           \
  PREFIX void activation_backward<T>(int, const T*, const T*, const T*, T*, int64_t);                                      \
  PREFIX void maxpool1d_forward<T>(const T*, T*, int32_t*, int64_t, int64_t, int64_t, int64_t, int64_t);                   \
  PREFIX void maxpool1d_backward<T>(const T*, const int32_t*, T*, int64_t, int64_t, int64_t);                              \
  PREFIX void binpool1d_forward<T>(const T*, T*, const int32_t*, const int32_t*, int64_t, int64_t, int64_t);               \
  PREFIX void binpool1d_backward<T>(const T*, T*, const int32_t*, const int32_t*, int64_t, int64_t, int64_t);              \
  PREFIX void dropout_forward<T>(const T*, T*, uint8_t*, int64_t, double, uint64_t, uint64_t, uint64_t);                   \
  PREFIX void dropout_backward<T>(const T*, const uint8_t*, T*, int64_t, double);                                          \
  PREFIX void copy<T>(const T*, T*, int64_t);                                                                              \
  PREFIX void add_inplace<T>(T*, const T*, int64_t);                                                                       \
  PREFIX void scale_rows<T>(const T*, const T*, T*, int64_t, int64_t);                                                     \
  PREFIX void scale_rows_backward<T>(const T*, const T*, const T*, T*, T*, int64_t, int64_t);

#ifndef GALML_CUDA_BUILDING_LIBRARY
GALML_CUDA_OPS(extern template, float)
GALML_CUDA_OPS(extern template, double)
#endif

}  // namespace galml::cuda_kernels

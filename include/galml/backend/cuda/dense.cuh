#pragma once
// Dense on the GPU through cuBLAS. x [N, In], w [Out, In] (PyTorch layout), y [N, Out].
#include "galml/backend/cuda/common.cuh"
#include "galml/backend/cuda/kernels.hpp"

namespace galml::cuda_kernels {

template <class T>
void dense_forward(const T* x, const T* w, const T* b, T* y, int64_t N, int64_t in, int64_t out) {
  if (N <= 0) return;
  if (b) fill_bias(y, b, N * out, 1, out);
  gemm_rm<T>(false, true, N, out, in, x, 0, w, 0, b ? T(1) : T(0), y, 0);  // y = x w^T (+ b)
}

template <class T>
void dense_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t N, int64_t in, int64_t out) {
  if (N <= 0) return;
  if (dx) gemm_rm<T>(false, false, N, in, out, dy, 0, w, 0, T(0), dx, 0);   // dx = dy w
  if (dw) gemm_rm<T>(true, false, out, in, N, dy, 0, x, 0, T(1), dw, 0);    // dW += dy^T x (batch = inner dim)
  if (db) reduce_rows(dy, db, out, N, 1, out, true);                         // db += column sums, fixed order
}

}  // namespace galml::cuda_kernels

#pragma once
// Conv1D on the GPU: im2col + cuBLAS. x [N, Cin, L], w [Cout, Cin, K], y [N, Cout, Lout].
//   forward  y_n = W col_n              one strided-batched GEMM over the batch (W shared, stride 0)
//   dx       dcol_n = W^T dy_n, col2im  strided-batched GEMM + a gather (each dx element sums its
//                                       K taps in k order: no atomics)
//   dW      += dyT colT^T               the batch folded into the GEMM's inner dimension (N*Lout), so
//                                       one cuBLAS call reduces over samples in a fixed order
//   db      += row sums of dyT          fixed-order block reduction
#include <type_traits>

#include "galml/backend/cuda/common.cuh"
#include "galml/backend/cuda/conv1d_direct.cuh"
#include "galml/backend/cuda/conv1d_tc.cuh"
#include "galml/backend/cuda/elementwise.cuh"
#include "galml/backend/cuda/kernels.hpp"

namespace galml::cuda_kernels {

// out[n * sn + (c*K + k) * sck + l] = x[n, c, l*stride + k - pad] (0 outside), l fastest: coalesced.
template <class T>
__global__ void im2col_kernel(const T* __restrict__ x, T* __restrict__ out, int64_t N, ConvDims d, int64_t sn, int64_t sck) {
  const int64_t ck = d.cin * d.K, total = N * ck * d.lout;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t l = t % d.lout, r = t / d.lout, q = r % ck, n = r / ck;
    const int64_t c = q / d.K, k = q % d.K, i = l * d.stride + k - d.pad;
    out[n * sn + q * sck + l] = (i >= 0 && i < d.L) ? x[(n * d.cin + c) * d.L + i] : T(0);
  }
}

// dx[n, c, i] = sum_k dcol[n, c*K + k, l] over the l with l*stride + k - pad == i (k ascending, as
// the CPU col2im adds them).
template <class T>
__global__ void col2im_kernel(const T* __restrict__ dcol, T* __restrict__ dx, int64_t N, ConvDims d) {
  const int64_t total = N * d.cin * d.L;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = t % d.L, r = t / d.L, c = r % d.cin, n = r / d.cin;
    const T* col = dcol + (n * d.cin + c) * d.K * d.lout;
    T s = T(0);
    for (int64_t k = 0; k < d.K; ++k) {
      const int64_t u = i + d.pad - k;
      if (u < 0 || u % d.stride) continue;
      const int64_t l = u / d.stride;
      if (l < d.lout) s += col[k * d.lout + l];
    }
    dx[t] = s;
  }
}

// dyT[o, n*Lout + l] = dy[n, o, l]
template <class T>
__global__ void batch_to_channel_major_kernel(const T* __restrict__ dy, T* __restrict__ dyT, int64_t N, int64_t C, int64_t Lo) {
  const int64_t total = N * C * Lo;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t l = t % Lo, r = t / Lo, o = r % C, n = r / C;
    dyT[(o * N + n) * Lo + l] = dy[t];
  }
}

inline bool conv_is_direct(const ConvDims& d) { return d.K == 1 && d.stride == 1 && d.pad == 0; }  // x is its own col

// The fused op's ReLU keeps NaN (like the CPU's fused conv and the direct kernel's store).
template <class T>
__global__ void relu_keep_nan_kernel(T* __restrict__ y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) y[i] = y[i] < T(0) ? T(0) : y[i];
}
template <class T> void relu_inplace(T* y, int64_t n) {
  if (n <= 0) return;
  relu_keep_nan_kernel<T><<<grid_for(n), kThreads, 0, cuda_rt::stream()>>>(y, n);
  GALML_CUDA_LAUNCHED();
}

namespace conv_detail {
inline int& path_flag() { static int p = conv_path_auto; return p; }
// auto: the direct kernels where they beat im2col + cuBLAS on the H100 (bench_cuda_conv1d: long rows,
// few channels); cuBLAS for short rows with many channels, where its large GEMM tiles fill the GPU.
template <class T> bool use_direct(const ConvDims& d) {
  if constexpr (std::is_same_v<T, float>) {
    if (!conv_direct_ok(d)) return false;
    const int p = path_flag();
    return p == conv_path_direct || (p == conv_path_auto && (d.lout >= 384 || d.cin * d.cout <= 64 * 64));
  } else {
    return false;
  }
}
}  // namespace conv_detail
void set_conv_path(int p) { conv_detail::path_flag() = p; }
namespace conv_detail {
inline int& precision_flag() { static int p = math_fp32; return p; }
// Tensor-core conv kernels in the TF32/BF16/3xTF32 modes, for every convolution the direct kernels take
// (unless the gemm path is forced).
template <class T> bool use_tc(const ConvDims& d) {
  if constexpr (std::is_same_v<T, float>) return precision_flag() != math_fp32 && conv_direct_ok(d) && path_flag() != conv_path_gemm;
  else return false;
}
// The tensor-core kernels' operand mode for the current precision.
inline int tc_mode() {
  const int p = precision_flag();
  return p == math_bf16 ? tc_conv::tc_bf16 : p == math_tf32x3 ? tc_conv::tc_tf32x3 : tc_conv::tc_tf32;
}
}  // namespace conv_detail
void set_math_precision(int p) {
  GALML_CHECK(p == math_fp32 || p == math_tf32 || p == math_bf16 || p == math_tf32x3, "CUDA backend: unknown math precision ", p);
  conv_detail::precision_flag() = p;
  GALML_CUBLAS_CHECK(cublasSetMathMode(cuda_rt::cublas(), p == math_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
}
int math_precision() { return conv_detail::precision_flag(); }
void set_tc_vector_loads(bool on) { tc_conv::vec_flag() = on; }
bool tc_vector_loads() { return tc_conv::vec_flag(); }
void set_tc_wgrad_min_channels(int c) {
  GALML_CHECK(c >= 1, "set_tc_wgrad_min_channels: expected >= 1, got ", c);
  tc_wgrad_min_flag() = c;
}
int tc_wgrad_min_channels() { return tc_wgrad_min_flag(); }
int conv_path() { return conv_detail::path_flag(); }

template <class T>
void conv1d_gemm_forward(const T* x, const T* w, const T* b, T* y, int64_t N, const ConvDims& d) {
  const int64_t ck = d.cin * d.K, ysz = N * d.cout * d.lout;
  const bool direct = conv_is_direct(d);
  cuda_rt::DeviceBuffer<T> col(direct ? 1 : N * ck * d.lout);
  if (!direct) {
    im2col_kernel<T><<<grid_for(N * ck * d.lout), kThreads, 0, cuda_rt::stream()>>>(x, col.get(), N, d, ck * d.lout, d.lout);
    GALML_CUDA_LAUNCHED();
  }
  if (b) fill_bias(y, b, ysz, d.lout, d.cout);
  gemm_rm<T>(false, false, d.cout, d.lout, ck, w, 0, direct ? x : col.get(), ck * d.lout, b ? T(1) : T(0), y, d.cout * d.lout, N);
}

template <class T>
void conv1d_gemm_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t N, const ConvDims& d) {
  const int64_t ck = d.cin * d.K, nl = N * d.lout;
  if (dw || db) {
    cuda_rt::DeviceBuffer<T> dyT(N * d.cout * d.lout);
    batch_to_channel_major_kernel<T><<<grid_for(N * d.cout * d.lout), kThreads, 0, cuda_rt::stream()>>>(dy, dyT.get(), N, d.cout, d.lout);
    GALML_CUDA_LAUNCHED();
    if (dw) {
      cuda_rt::DeviceBuffer<T> colT(ck * nl);
      im2col_kernel<T><<<grid_for(ck * nl), kThreads, 0, cuda_rt::stream()>>>(x, colT.get(), N, d, d.lout, nl);
      GALML_CUDA_LAUNCHED();
      gemm_rm<T>(false, true, d.cout, ck, nl, dyT.get(), 0, colT.get(), 0, T(1), dw, 0);  // dW[Cout, CK] += dyT colT^T
    }
    if (db) reduce_rows(dyT.get(), db, d.cout, nl, nl, 1, true);
  }
  if (dx) {
    const bool direct = conv_is_direct(d);
    cuda_rt::DeviceBuffer<T> dcol(direct ? 1 : N * ck * d.lout);
    T* target = direct ? dx : dcol.get();
    gemm_rm<T>(true, false, ck, d.lout, d.cout, w, 0, dy, d.cout * d.lout, T(0), target, ck * d.lout, N);
    if (!direct) {
      col2im_kernel<T><<<grid_for(N * d.cin * d.L), kThreads, 0, cuda_rt::stream()>>>(dcol.get(), dx, N, d);
      GALML_CUDA_LAUNCHED();
    }
  }
}

template <class T>
void conv1d_forward(const T* x, const T* w, const T* b, T* y, int64_t N, const ConvDims& d) {
  if (N <= 0) return;
  if constexpr (std::is_same_v<T, float>) {
    if (conv_detail::use_tc<T>(d)) return conv1d_tc_forward(conv_detail::tc_mode(), x, w, b, y, N, d, false);
    if (conv_detail::use_direct<T>(d)) return conv1d_direct_forward(x, w, b, y, N, d, false);
  }
  conv1d_gemm_forward(x, w, b, y, N, d);
}
template <class T>
void conv1d_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t N, const ConvDims& d) {
  if (N <= 0) return;
  if constexpr (std::is_same_v<T, float>) {
    if (conv_detail::use_tc<T>(d)) {  // dx on the tensor cores; dW/db too for >= 32 channels
      if (dx) conv1d_tc_input_grad(conv_detail::tc_mode(), w, nullptr, dy, dx, N, d);
      dx = nullptr;
      if (tc_wgrad_ok(d)) return conv1d_tc_weight_grad(conv_detail::tc_mode(), x, nullptr, dy, dw, db, N, d);
    }
    if (conv_detail::use_direct<T>(d)) return conv1d_direct_backward(x, w, nullptr, dy, dx, dw, db, N, d);
  }
  conv1d_gemm_backward(x, w, dy, dx, dw, db, N, d);
}
template <class T>
void conv1d_relu_forward(const T* x, const T* w, const T* b, T* y, int64_t N, const ConvDims& d) {
  if (N <= 0) return;
  if constexpr (std::is_same_v<T, float>) {
    if (conv_detail::use_tc<T>(d)) return conv1d_tc_forward(conv_detail::tc_mode(), x, w, b, y, N, d, true);
    if (conv_detail::use_direct<T>(d)) return conv1d_direct_forward(x, w, b, y, N, d, true);
  }
  conv1d_gemm_forward(x, w, b, y, N, d);
  relu_inplace(y, N * d.cout * d.lout);
}
template <class T>
void conv1d_relu_backward(const T* x, const T* w, const T* y, const T* dy, T* dx, T* dw, T* db, int64_t N, const ConvDims& d) {
  if (N <= 0) return;
  if constexpr (std::is_same_v<T, float>) {
    if (conv_detail::use_tc<T>(d)) {
      if (dx) conv1d_tc_input_grad(conv_detail::tc_mode(), w, y, dy, dx, N, d);
      dx = nullptr;
      if (tc_wgrad_ok(d)) return conv1d_tc_weight_grad(conv_detail::tc_mode(), x, y, dy, dw, db, N, d);
    }
    if (conv_detail::use_direct<T>(d)) return conv1d_direct_backward(x, w, y, dy, dx, dw, db, N, d);
  }
  const int64_t n = N * d.cout * d.lout;
  cuda_rt::DeviceBuffer<T> g(n);
  activation_backward<T>(act_relu, y, y, dy, g.get(), n);  // y > 0 exactly where the pre-activation is
  conv1d_gemm_backward(x, w, g.get(), dx, dw, db, N, d);
}

}  // namespace galml::cuda_kernels

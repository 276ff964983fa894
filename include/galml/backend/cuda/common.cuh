#pragma once
// Shared pieces of the CUDA kernels: launch geometry, row-major GEMM through cuBLAS, and the
// fixed-order (deterministic) row reduction used for bias gradients. Compiled only into galml_cuda.
#include <climits>
#include <cstdint>

#include "galml/backend/cuda/allocator.hpp"
#include "galml/backend/cuda/kernels.hpp"
#include "galml/backend/cuda/runtime.hpp"

namespace galml::cuda_kernels {

inline constexpr int kThreads = 256;

// Enough blocks to fill the device a few times over; kernels use grid-stride loops beyond that.
inline unsigned grid_for(int64_t n, int threads = kThreads) {
  static const int64_t cap = [] {
    int dev = 0, sms = 0;
    GALML_CUDA_CHECK(cudaGetDevice(&dev));
    GALML_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
    return int64_t(sms) * 32;
  }();
  const int64_t b = (n + threads - 1) / threads;
  return unsigned(b < 1 ? 1 : (b > cap ? cap : b));
}

#define GALML_CUDA_LAUNCHED() GALML_CUDA_CHECK(cudaGetLastError())

inline int to_int(int64_t v, const char* what) {
  GALML_CHECK(v >= 0 && v <= INT_MAX, "CUDA backend: ", what, " = ", v, " does not fit the 32-bit sizes cuBLAS takes");
  return int(v);
}

// Row-major C[M,N] = alpha * op(A) op(B) + beta * C, batched with element strides sA, sB, sC.
// ta: A is stored [K, M]; tb: B is stored [N, K]. cuBLAS is column-major, and a row-major matrix is
// the column-major transpose, so we ask for C^T = op(B)^T op(A)^T: swap the operands and M/N.
inline cublasStatus_t gemm_sb(cublasHandle_t h, cublasOperation_t oa, cublasOperation_t ob, int m, int n, int k, const float* al,
                              const float* A, int lda, long long sA, const float* B, int ldb, long long sB, const float* be,
                              float* C, int ldc, long long sC, int batch) {
  if (math_precision() == math_bf16)  // FP32 in memory, BF16 operands inside cuBLAS, FP32 accumulate
    return cublasGemmStridedBatchedEx(h, oa, ob, m, n, k, al, A, CUDA_R_32F, lda, sA, B, CUDA_R_32F, ldb, sB, be, C, CUDA_R_32F, ldc, sC, batch,
                                      CUBLAS_COMPUTE_32F_FAST_16BF, CUBLAS_GEMM_DEFAULT);
  return cublasSgemmStridedBatched(h, oa, ob, m, n, k, al, A, lda, sA, B, ldb, sB, be, C, ldc, sC, batch);
}
inline cublasStatus_t gemm_sb(cublasHandle_t h, cublasOperation_t oa, cublasOperation_t ob, int m, int n, int k, const double* al,
                              const double* A, int lda, long long sA, const double* B, int ldb, long long sB, const double* be,
                              double* C, int ldc, long long sC, int batch) {
  return cublasDgemmStridedBatched(h, oa, ob, m, n, k, al, A, lda, sA, B, ldb, sB, be, C, ldc, sC, batch);
}
template <class T>
void gemm_rm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, int64_t sA, const T* B, int64_t sB, T beta, T* C,
             int64_t sC, int64_t batch = 1) {
  if (M == 0 || N == 0 || batch == 0) return;
  const T alpha = T(1);
  const int lda = to_int(ta ? M : K, "lda"), ldb = to_int(tb ? K : N, "ldb"), ldc = to_int(N, "ldc");
  GALML_CUBLAS_CHECK(gemm_sb(cuda_rt::cublas(), tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, to_int(N, "N"),
                             to_int(M, "M"), to_int(K, "K"), &alpha, B, ldb, sB, A, lda, sA, &beta, C, ldc, sC,
                             to_int(batch, "batch")));
}

// out[j] (+)= sum_{i < len} a[j * sj + i * si], one block per j. Each thread sums a fixed strided
// subset in order, then a fixed shared-memory tree: the same bits on every run (no atomics).
template <class T>
__global__ void reduce_rows_kernel(const T* __restrict__ a, T* __restrict__ out, int64_t rows, int64_t len, int64_t sj, int64_t si,
                                   bool accumulate) {
  __shared__ T sh[kThreads];
  for (int64_t j = blockIdx.x; j < rows; j += gridDim.x) {
    T s = T(0);
    for (int64_t i = threadIdx.x; i < len; i += blockDim.x) s += a[j * sj + i * si];
    sh[threadIdx.x] = s;
    __syncthreads();
    for (int w = kThreads / 2; w > 0; w >>= 1) {
      if (int(threadIdx.x) < w) sh[threadIdx.x] += sh[threadIdx.x + w];
      __syncthreads();
    }
    if (threadIdx.x == 0) out[j] = accumulate ? out[j] + sh[0] : sh[0];
    __syncthreads();
  }
}
// Few long rows (bias gradients of large activations: 32 rows of millions of values) would leave
// most SMs idle with a block per row: each row is then cut into `parts` fixed segments, one block each,
// whose partial sums are added in segment order by a second pass. Still no atomics: same bits every run.
template <class T>
__global__ void reduce_rows_split_kernel(const T* __restrict__ a, T* __restrict__ part, int64_t rows, int64_t len, int64_t sj, int64_t si, int64_t parts) {
  __shared__ T sh[kThreads];
  const int64_t seg = (len + parts - 1) / parts;
  for (int64_t b = blockIdx.x; b < rows * parts; b += gridDim.x) {
    const int64_t j = b / parts, i0 = (b % parts) * seg, i1 = i0 + seg < len ? i0 + seg : len;
    T s = T(0);
    for (int64_t i = i0 + threadIdx.x; i < i1; i += blockDim.x) s += a[j * sj + i * si];
    sh[threadIdx.x] = s;
    __syncthreads();
    for (int w = kThreads / 2; w > 0; w >>= 1) {
      if (int(threadIdx.x) < w) sh[threadIdx.x] += sh[threadIdx.x + w];
      __syncthreads();
    }
    if (threadIdx.x == 0) part[b] = sh[0];
    __syncthreads();
  }
}
template <class T>
void reduce_rows(const T* a, T* out, int64_t rows, int64_t len, int64_t sj, int64_t si, bool accumulate) {
  if (rows <= 0) return;
  static const int64_t sms = [] {
    int dev = 0, n = 0;
    GALML_CUDA_CHECK(cudaGetDevice(&dev));
    GALML_CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev));
    return int64_t(n);
  }();
  if (rows < 2 * sms && len >= 16 * kThreads) {
    int64_t parts = (4 * sms + rows - 1) / rows;
    if (parts > len / (8 * kThreads)) parts = len / (8 * kThreads);
    if (parts >= 2) {
      cuda_rt::DeviceBuffer<T> part(rows * parts);
      reduce_rows_split_kernel<T><<<grid_for(rows * parts * kThreads), kThreads, 0, cuda_rt::stream()>>>(a, part.get(), rows, len, sj, si, parts);
      GALML_CUDA_LAUNCHED();
      a = part.get(), len = parts, sj = parts, si = 1;
      const unsigned g = unsigned(rows < 65535 ? rows : 65535);
      reduce_rows_kernel<T><<<g, kThreads, 0, cuda_rt::stream()>>>(a, out, rows, len, sj, si, accumulate);
      GALML_CUDA_LAUNCHED();
      return;
    }
  }
  const unsigned g = unsigned(rows < 65535 ? rows : 65535);
  reduce_rows_kernel<T><<<g, kThreads, 0, cuda_rt::stream()>>>(a, out, rows, len, sj, si, accumulate);
  GALML_CUDA_LAUNCHED();
}

// y[idx] = b[(idx / inner) % C]: a bias broadcast that the GEMM then accumulates onto (beta = 1).
template <class T>
__global__ void fill_bias_kernel(T* __restrict__ y, const T* __restrict__ b, int64_t n, int64_t inner, int64_t C) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = b[(i / inner) % C];
}
template <class T>
void fill_bias(T* y, const T* b, int64_t n, int64_t inner, int64_t C) {
  if (n <= 0) return;
  fill_bias_kernel<T><<<grid_for(n), kThreads, 0, cuda_rt::stream()>>>(y, b, n, inner, C);
  GALML_CUDA_LAUNCHED();
}

}  // namespace galml::cuda_kernels

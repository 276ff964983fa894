#pragma once
// Matrix products on the CPU through Eigen (single-threaded per call; galml parallelises over samples
// or chunks above this level so the thread count is exactly galml::get_num_threads()).
#include <Eigen/Core>
#include <cstdint>

namespace galml::cpu_kernels {

template <class T> using MatR = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T> using MapR = Eigen::Map<MatR<T>, Eigen::Aligned16>;
template <class T> using CMapR = Eigen::Map<const MatR<T>>;
template <class T> using MMapR = Eigen::Map<MatR<T>>;

// C(MxN) (+)= op(A) * op(B), all row-major with tight leading dimensions.
// ta/tb: use the transpose of A (stored KxM) / of B (stored NxK).
template <class T>
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, const T* B, T* C, bool accumulate) {
  MMapR<T> c(C, M, N);
  if (!ta && !tb) { CMapR<T> a(A, M, K), b(B, K, N); if (accumulate) c.noalias() += a * b; else c.noalias() = a * b; }
  else if (ta && !tb) { CMapR<T> a(A, K, M), b(B, K, N); if (accumulate) c.noalias() += a.transpose() * b; else c.noalias() = a.transpose() * b; }
  else if (!ta && tb) { CMapR<T> a(A, M, K), b(B, N, K); if (accumulate) c.noalias() += a * b.transpose(); else c.noalias() = a * b.transpose(); }
  else { CMapR<T> a(A, K, M), b(B, N, K); if (accumulate) c.noalias() += a.transpose() * b.transpose(); else c.noalias() = a.transpose() * b.transpose(); }
}

}  // namespace galml::cpu_kernels

#pragma once
// CUDA overloads of every backend op in backend/cpu/ops.hpp, same signatures with the `cuda` tag
// first, for T = float and double. Host header: each overload forwards to the compiled library
// (kernels.hpp, link galml::cuda), so code using the CUDA backend builds with the ordinary C++
// compiler. Pointers are device pointers (Tensor<T, cuda>::data()); ops are queued on
// cuda_rt::stream() and return without waiting.
#include <concepts>
#include <cstdint>

#include "galml/backend/cpu/attention.hpp"  // AttnDims, AttnKind
#include "galml/backend/cpu/conv2d.hpp"     // Conv2dDims
#include "galml/backend/cpu/fused.hpp"  // AdamFlag, and the CPU twins of the training-step ops
#include "galml/backend/cpu/ops.hpp"  // Act and Conv1dDims: the op signatures are shared with the CPU backend
#include "galml/backend/cuda/allocator.hpp"
#include "galml/backend/cuda/kernels.hpp"
#include "galml/core/backend.hpp"

namespace galml::backend_ops {

// The library is instantiated for these two; another scalar type fails here rather than at link time.
template <class T> concept cuda_scalar = std::same_as<T, float> || std::same_as<T, double>;

static_assert(int(adam_decoupled) == int(cuda_kernels::adam_decoupled) && int(adam_amsgrad) == int(cuda_kernels::adam_amsgrad) &&
                  int(adam_keras_eps) == int(cuda_kernels::adam_keras_eps),
              "galml: backend_ops::AdamFlag and cuda_kernels::AdamFlags disagree");
static_assert(int(Act::relu) == cuda_kernels::act_relu && int(Act::sigmoid) == cuda_kernels::act_sigmoid &&
                  int(Act::tanh) == cuda_kernels::act_tanh && int(Act::gelu) == cuda_kernels::act_gelu,
              "galml: backend_ops::Act and cuda_kernels::ActCode disagree");

inline cuda_kernels::ConvDims to_cuda_dims(const cpu_kernels::Conv1dDims& d) {
  return {d.cin, d.L, d.cout, d.K, d.stride, d.pad, d.lout};
}

template <cuda_scalar T> void conv1d_forward(cuda, const T* x, const T* w, const T* b, T* y, int64_t N, const cpu_kernels::Conv1dDims& d) {
  cuda_kernels::conv1d_forward(x, w, b, y, N, to_cuda_dims(d));
}
template <cuda_scalar T> void conv1d_backward(cuda, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t N, const cpu_kernels::Conv1dDims& d) {
  cuda_kernels::conv1d_backward(x, w, dy, dx, dw, db, N, to_cuda_dims(d));
}
template <cuda_scalar T> void conv1d_relu_forward(cuda, const T* x, const T* w, const T* b, T* y, int64_t N, const cpu_kernels::Conv1dDims& d) {
  cuda_kernels::conv1d_relu_forward(x, w, b, y, N, to_cuda_dims(d));
}
template <cuda_scalar T> void conv1d_relu_backward(cuda, const T* x, const T* w, const T* y, const T* dy, T* dx, T* dw, T* db, int64_t N, const cpu_kernels::Conv1dDims& d) {
  cuda_kernels::conv1d_relu_backward(x, w, y, dy, dx, dw, db, N, to_cuda_dims(d));
}
template <cuda_scalar T> void dense_forward(cuda, const T* x, const T* w, const T* b, T* y, int64_t N, int64_t in, int64_t out) {
  cuda_kernels::dense_forward(x, w, b, y, N, in, out);
}
template <cuda_scalar T> void dense_backward(cuda, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t N, int64_t in, int64_t out) {
  cuda_kernels::dense_backward(x, w, dy, dx, dw, db, N, in, out);
}
template <cuda_scalar T> void activation_forward(cuda, Act a, const T* x, T* y, int64_t n) {
  cuda_kernels::activation_forward(int(a), x, y, n);
}
template <cuda_scalar T> void activation_backward(cuda, Act a, const T* x, const T* y, const T* dy, T* dx, int64_t n) {
  cuda_kernels::activation_backward(int(a), x, y, dy, dx, n);
}
template <cuda_scalar T> void maxpool1d_forward(cuda, const T* x, T* y, int32_t* arg, int64_t rows, int64_t L, int64_t K, int64_t S, int64_t lout) {
  cuda_kernels::maxpool1d_forward(x, y, arg, rows, L, K, S, lout);
}
// arg must come from maxpool1d_forward (its argmax is non-decreasing along a row, which the
// deterministic gather relies on).
template <cuda_scalar T> void maxpool1d_backward(cuda, const T* dy, const int32_t* arg, T* dx, int64_t rows, int64_t L, int64_t lout) {
  cuda_kernels::maxpool1d_backward(dy, arg, dx, rows, L, lout);
}
// starts/ends: device arrays, non-decreasing (true for fixed-stride and adaptive bins).
template <cuda_scalar T> void binpool1d_forward(cuda, const T* x, T* y, const int32_t* starts, const int32_t* ends, int64_t rows, int64_t L, int64_t lout) {
  cuda_kernels::binpool1d_forward(x, y, starts, ends, rows, L, lout);
}
template <cuda_scalar T> void binpool1d_backward(cuda, const T* dy, T* dx, const int32_t* starts, const int32_t* ends, int64_t rows, int64_t L, int64_t lout) {
  cuda_kernels::binpool1d_backward(dy, dx, starts, ends, rows, L, lout);
}
// Same Philox mask as the CPU op (dropout_bits): CPU and CUDA masks are bit-identical.
template <cuda_scalar T> void dropout_forward(cuda, const T* x, T* y, uint8_t* mask, int64_t n, double p, uint64_t seed, uint64_t layer, uint64_t step) {
  cuda_kernels::dropout_forward(x, y, mask, n, p, seed, layer, step);
}
template <cuda_scalar T> void dropout_backward(cuda, const T* dy, const uint8_t* mask, T* dx, int64_t n, double p) {
  cuda_kernels::dropout_backward(dy, mask, dx, n, p);
}
template <cuda_scalar T> void copy(cuda, const T* x, T* y, int64_t n) { cuda_kernels::copy(x, y, n); }
template <cuda_scalar T> void add_inplace(cuda, T* y, const T* x, int64_t n) { cuda_kernels::add_inplace(y, x, n); }
template <cuda_scalar T> void scale_rows(cuda, const T* x, const T* s, T* y, int64_t rows, int64_t L) {
  cuda_kernels::scale_rows(x, s, y, rows, L);
}
template <cuda_scalar T> void scale_rows_backward(cuda, const T* x, const T* s, const T* dy, T* dx, T* ds, int64_t rows, int64_t L) {
  cuda_kernels::scale_rows_backward(x, s, dy, dx, ds, rows, L);
}

// ---- normalisation, softmax, layout (backend/cuda/norm.cuh; CPU: backend/cpu/norm.hpp, softmax.hpp, layout.hpp) ----
template <cuda_scalar T> void batchnorm_stats(cuda, const T* x, T* mean, T* var, int64_t N, int64_t C, int64_t L) {
  cuda_kernels::batchnorm_stats(x, mean, var, N, C, L);
}
template <cuda_scalar T> void batchnorm_update_running(cuda, T* rmean, T* rvar, const T* mean, const T* var, int64_t C, int64_t count, double momentum) {
  cuda_kernels::batchnorm_update_running(rmean, rvar, mean, var, C, count, momentum);
}
template <cuda_scalar T> void batchnorm_invstd(cuda, const T* var, T* invstd, int64_t C, double eps) { cuda_kernels::batchnorm_invstd(var, invstd, C, eps); }
template <cuda_scalar T> void batchnorm_forward(cuda, const T* x, const T* mean, const T* invstd, const T* gamma, const T* beta, T* y, int64_t N, int64_t C, int64_t L) {
  cuda_kernels::batchnorm_forward(x, mean, invstd, gamma, beta, y, N, C, L);
}
template <cuda_scalar T> void batchnorm_backward(cuda, const T* x, const T* dy, const T* mean, const T* invstd, const T* gamma, T* dx, T* dgamma, T* dbeta,
                                                 int64_t N, int64_t C, int64_t L, bool batch_stats) {
  cuda_kernels::batchnorm_backward(x, dy, mean, invstd, gamma, dx, dgamma, dbeta, N, C, L, batch_stats);
}
template <cuda_scalar T> void layernorm_forward(cuda, const T* x, const T* gamma, const T* beta, T* y, T* mean, T* rstd, int64_t rows, int64_t D, double eps) {
  cuda_kernels::layernorm_forward(x, gamma, beta, y, mean, rstd, rows, D, eps);
}
template <cuda_scalar T> void layernorm_backward(cuda, const T* x, const T* dy, const T* mean, const T* rstd, const T* gamma, T* dx, T* dgamma, T* dbeta,
                                                 int64_t rows, int64_t D) {
  cuda_kernels::layernorm_backward(x, dy, mean, rstd, gamma, dx, dgamma, dbeta, rows, D);
}
template <cuda_scalar T> void softmax_forward(cuda, const T* x, T* y, int64_t rows, int64_t D, bool log) { cuda_kernels::softmax_forward(x, y, rows, D, log); }
template <cuda_scalar T> void softmax_backward(cuda, const T* y, const T* dy, T* dx, int64_t rows, int64_t D, bool log) {
  cuda_kernels::softmax_backward(y, dy, dx, rows, D, log);
}
template <cuda_scalar T> void transpose2d(cuda, const T* x, T* y, int64_t N, int64_t A, int64_t B) { cuda_kernels::transpose2d(x, y, N, A, B); }
template <cuda_scalar T> void concat_put(cuda, const T* src, T* dst, int64_t N, int64_t pre, int64_t len, int64_t post, int64_t total, int64_t off) {
  cuda_kernels::concat_put(src, dst, N, pre, len, post, total, off);
}
template <cuda_scalar T> void concat_get(cuda, const T* src, T* dst, int64_t N, int64_t pre, int64_t len, int64_t post, int64_t total, int64_t off) {
  cuda_kernels::concat_get(src, dst, N, pre, len, post, total, off);
}
template <cuda_scalar T> void add(cuda, const T* x, const T* y, T* z, int64_t n) { cuda_kernels::add(x, y, z, n); }
template <cuda_scalar T> void maxpool1d_padded_forward(cuda, const T* x, T* y, int32_t* arg, int64_t rows, int64_t L, int64_t K, int64_t S, int64_t pad_left,
                                                       int64_t lout) {
  cuda_kernels::maxpool1d_padded_forward(x, y, arg, rows, L, K, S, pad_left, lout);
}
template <cuda_scalar T> void minmax_normalize_forward(cuda, const T* x, T* y, int32_t* argext, int64_t rows, int64_t D) {
  cuda_kernels::minmax_normalize_forward(x, y, argext, rows, D);
}
template <cuda_scalar T> void minmax_normalize_backward(cuda, const T* x, const T* y, const int32_t* argext, const T* dy, T* dx, int64_t rows, int64_t D) {
  cuda_kernels::minmax_normalize_backward(x, y, argext, dy, dx, rows, D);
}

// ---- 2-D convolution and pooling (backend/cuda/conv2d.cuh; CPU: backend/cpu/conv2d.hpp, pool2d.hpp) ----
inline cuda_kernels::Conv2dDimsC to_cuda_dims(const cpu_kernels::Conv2dDims& d) { return {d.cin, d.H, d.W, d.cout, d.K, d.stride, d.pad, d.ho, d.wo}; }
template <cuda_scalar T> void conv2d_forward(cuda, const T* x, const T* w, const T* b, T* y, int64_t N, const cpu_kernels::Conv2dDims& d) {
  cuda_kernels::conv2d_forward(x, w, b, y, N, to_cuda_dims(d));
}
template <cuda_scalar T> void conv2d_backward(cuda, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t N, const cpu_kernels::Conv2dDims& d) {
  cuda_kernels::conv2d_backward(x, w, dy, dx, dw, db, N, to_cuda_dims(d));
}
template <cuda_scalar T> void maxpool2d_forward(cuda, const T* x, T* y, int32_t* arg, int64_t planes, int64_t H, int64_t W, int64_t K, int64_t S, int64_t ho, int64_t wo) {
  cuda_kernels::maxpool2d_forward(x, y, arg, planes, H, W, K, S, ho, wo);
}
template <cuda_scalar T> void maxpool2d_backward(cuda, const T* dy, const int32_t* arg, T* dx, int64_t planes, int64_t H, int64_t W, int64_t K, int64_t S, int64_t ho, int64_t wo) {
  cuda_kernels::maxpool2d_backward(dy, arg, dx, planes, H, W, K, S, ho, wo);
}
template <cuda_scalar T> void binpool2d_forward(cuda, const T* x, T* y, const int32_t* bins, int64_t planes, int64_t H, int64_t W, int64_t ho, int64_t wo) {
  cuda_kernels::binpool2d_forward(x, y, bins, planes, H, W, ho, wo);
}
template <cuda_scalar T> void binpool2d_backward(cuda, const T* dy, T* dx, const int32_t* bins, int64_t planes, int64_t H, int64_t W, int64_t ho, int64_t wo) {
  cuda_kernels::binpool2d_backward(dy, dx, bins, planes, H, W, ho, wo);
}

// ---- attention and tokens (backend/cuda/attention.cuh; CPU: backend/cpu/attention.hpp) ----
static_assert(int(AttnKind::softmax) == cuda_kernels::attn_softmax && int(AttnKind::sigmoid) == cuda_kernels::attn_sigmoid,
              "galml: backend_ops::AttnKind and cuda_kernels::AttnKindC disagree");
inline cuda_kernels::AttnDimsC to_cuda_dims(const AttnDims& d) { return {d.Tq, d.Tk, d.H, d.dk, d.dv, d.ldq, d.ldk, d.ldv, d.ldo, d.scale}; }
template <cuda_scalar T> void linear_kio_forward(cuda, const T* x, const T* w, const T* b, T* y, int64_t rows, int64_t in, int64_t out) {
  cuda_kernels::linear_kio_forward(x, w, b, y, rows, in, out);
}
template <cuda_scalar T> void linear_kio_backward(cuda, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t rows, int64_t in, int64_t out) {
  cuda_kernels::linear_kio_backward(x, w, dy, dx, dw, db, rows, in, out);
}
template <cuda_scalar T> void attention_forward(cuda, const T* q, const T* k, const T* v, T* o, T* P, uint8_t* mask, int64_t N, const AttnDims& d,
                                                AttnKind kind, double drop_p, uint64_t seed, uint64_t layer, uint64_t step) {
  cuda_kernels::attention_forward(q, k, v, o, P, mask, N, to_cuda_dims(d), int(kind), drop_p, seed, layer, step);
}
template <cuda_scalar T> void attention_backward(cuda, const T* q, const T* k, const T* v, const T* P, const uint8_t* mask, const T* dout, T* dq, T* dk,
                                                 T* dv, int64_t N, const AttnDims& d, AttnKind kind, double drop_p) {
  cuda_kernels::attention_backward(q, k, v, P, mask, dout, dq, dk, dv, N, to_cuda_dims(d), int(kind), drop_p);
}
template <cuda_scalar T> void hadamard_gate_forward(cuda, const T* q, const T* k, const T* v, int64_t ld_in, T* y, int64_t ld_y, int64_t rows, int64_t width) {
  cuda_kernels::hadamard_gate_forward(q, k, v, ld_in, y, ld_y, rows, width);
}
template <cuda_scalar T> void hadamard_gate_backward(cuda, const T* q, const T* k, const T* v, int64_t ld_in, const T* dy, int64_t ld_y, T* dq, T* dk, T* dv,
                                                     int64_t rows, int64_t width) {
  cuda_kernels::hadamard_gate_backward(q, k, v, ld_in, dy, ld_y, dq, dk, dv, rows, width);
}
template <cuda_scalar T> void l2normalize_forward(cuda, const T* x, T* y, T* norm, int64_t rows, int64_t D, double eps) {
  cuda_kernels::l2normalize_forward(x, y, norm, rows, D, eps);
}
template <cuda_scalar T> void l2normalize_backward(cuda, const T* y, const T* norm, const T* dy, T* dx, int64_t rows, int64_t D, double eps) {
  cuda_kernels::l2normalize_backward(y, norm, dy, dx, rows, D, eps);
}
template <cuda_scalar T> void scaled_logits_forward(cuda, const T* c, const T* s, T* y, int64_t n) { cuda_kernels::scaled_logits_forward(c, s, y, n); }
template <cuda_scalar T> void scaled_logits_backward(cuda, const T* c, const T* s, const T* dy, T* dc, T* ds, int64_t n) {
  cuda_kernels::scaled_logits_backward(c, s, dy, dc, ds, n);
}
template <cuda_scalar T> void batch_sum_accumulate(cuda, const T* x, T* out, int64_t N, int64_t size) { cuda_kernels::batch_sum_accumulate(x, out, N, size); }
template <cuda_scalar T> void add_broadcast(cuda, const T* x, const T* b, T* y, int64_t N, int64_t size) { cuda_kernels::add_broadcast(x, b, y, N, size); }
template <cuda_scalar T> void patchify1d(cuda, const T* x, T* patches, int64_t N, int64_t C, int64_t L, int64_t P, int64_t Tn) {
  cuda_kernels::patchify1d(x, patches, N, C, L, P, Tn);
}
template <cuda_scalar T> void unpatchify1d(cuda, const T* dpatches, T* dx, int64_t N, int64_t C, int64_t L, int64_t P, int64_t Tn) {
  cuda_kernels::unpatchify1d(dpatches, dx, N, C, L, P, Tn);
}
template <cuda_scalar T> void cls_prepend_forward(cuda, const T* x, const T* cls, T* y, int64_t N, int64_t Tn, int64_t D) {
  cuda_kernels::cls_prepend_forward(x, cls, y, N, Tn, D);
}
template <cuda_scalar T> void cls_prepend_backward(cuda, const T* dy, T* dx, T* dcls, int64_t N, int64_t Tn, int64_t D) {
  cuda_kernels::cls_prepend_backward(dy, dx, dcls, N, Tn, D);
}
template <cuda_scalar T> void token_pool_forward(cuda, const T* x, T* y, int64_t N, int64_t Tn, int64_t D, bool mean) {
  cuda_kernels::token_pool_forward(x, y, N, Tn, D, mean);
}
template <cuda_scalar T> void token_pool_backward(cuda, const T* dy, T* dx, int64_t N, int64_t Tn, int64_t D, bool mean) {
  cuda_kernels::token_pool_backward(dy, dx, N, Tn, D, mean);
}

}  // namespace galml::backend_ops

// ---- training step (CPU twins with the same signatures: backend/cpu/fused.hpp) ----
namespace galml::backend_ops {
template <cuda_scalar T>
void focal_loss(cuda, const T* z, const T* target, const T* mask, int64_t N, int64_t D, const T* alpha, double default_alpha, double gamma,
                bool soft, bool mask_count, const T* weight, T* grad, bool accumulate, T* loss_out, double* sum_out) {
  cuda_kernels::focal_loss(z, target, mask, N, D, alpha, default_alpha, gamma, soft, mask_count, weight, grad, accumulate, loss_out, sum_out);
}
template <cuda_scalar T>
void mae_loss(cuda, const T* pred, const T* target, const T* mask, int64_t N, int64_t D, bool mask_count, const T* weight, T* grad,
              bool accumulate, T* loss_out, double* sum_out) {
  cuda_kernels::mae_loss(pred, target, mask, N, D, mask_count, weight, grad, accumulate, loss_out, sum_out);
}
template <cuda_scalar T> void adam_prepare(cuda, const double* hyper, int64_t* t, T* coef) { cuda_kernels::adam_prepare(hyper, t, coef); }
template <cuda_scalar T>
void adam_update(cuda, T* p, const T* g, T* m, T* v, T* vmax, int64_t n, const T* coef, double beta1, double beta2, double eps, double wd,
                 int flags) {
  cuda_kernels::adam_update(p, g, m, v, vmax, n, coef, beta1, beta2, eps, wd, flags);
}
template <cuda_scalar T>
void adam_update_frozen(cuda, T* p, const T* g, T* m, T* v, T* vmax, int64_t n, const double* hyper, const uint8_t* frozen, int64_t* elem_steps,
                        double eps, int flags) {
  cuda_kernels::adam_update_frozen(p, g, m, v, vmax, n, hyper, frozen, elem_steps, eps, flags);
}
template <cuda_scalar T> void clip_grad_norm(cuda, T* g, int64_t n, double max_norm, double* norm_out) {
  cuda_kernels::clip_grad_norm(g, n, max_norm, norm_out);
}
}  // namespace galml::backend_ops

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
// Conv1D + ReLU (Chain fuses them): y = relu(conv(x)); backward takes the ReLU's output y and the
// gradient of the ReLU's output.
template <class T> void conv1d_relu_forward(const T* x, const T* w, const T* b, T* y, int64_t N, const ConvDims& d);
template <class T> void conv1d_relu_backward(const T* x, const T* w, const T* y, const T* dy, T* dx, T* dw, T* db, int64_t N, const ConvDims& d);
// Which Conv1D implementation float stride-1 k=3 convolutions use: im2col + cuBLAS (the reference path,
// and the only one for other convolutions and double), the direct FP32 kernels (conv1d_direct.cuh), or
// auto (the default: direct for long rows / few channels, cuBLAS otherwise). Global, host-side.
// Arithmetic of float matrix products and convolutions: FP32 (default), TF32 or BF16 tensor-core
// operands with FP32 accumulation (tensors, master weights and losses stay FP32). Switches cuBLAS too
// (TF32 math mode / BF16 compute type) and picks the tensor-core conv kernels (conv1d_tc.cuh). tf32x3:
// the Conv1D kernels on the tensor cores with each FP32 operand split into two TF32 parts (three MMAs
// per product, FP32-level error), cuBLAS in FP32. Global.
enum MathPrecision : int { math_fp32 = 0, math_tf32 = 1, math_bf16 = 2, math_tf32x3 = 3 };
void set_math_precision(int p);
int math_precision();
enum ConvPath : int { conv_path_gemm = 0, conv_path_auto = 1, conv_path_direct = 2 };
void set_conv_path(int p);
int conv_path();
// Tensor-core conv kernels: 16-byte vector copies of input rows and pre-packed weights (default), or
// 4-byte element copies (the first version, kept for comparison and as a fallback).
void set_tc_vector_loads(bool on);
bool tc_vector_loads();
// TF32/BF16: weight gradients on the tensor cores when Cin and Cout are both >= this (default 32; smaller
// layers leave most of the 64 x 64 tile empty and take the FP32 kernel). For measuring and testing.
void set_tc_wgrad_min_channels(int c);
int tc_wgrad_min_channels();
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

// ---- normalisation, softmax, layout (norm.cuh); same semantics as the CPU ops of the same names ----
template <class T> void batchnorm_stats(const T* x, T* mean, T* var, int64_t N, int64_t C, int64_t L);
template <class T> void batchnorm_update_running(T* rmean, T* rvar, const T* mean, const T* var, int64_t C, int64_t count, double momentum);
template <class T> void batchnorm_invstd(const T* var, T* invstd, int64_t C, double eps);
template <class T> void batchnorm_forward(const T* x, const T* mean, const T* invstd, const T* gamma, const T* beta, T* y, int64_t N, int64_t C, int64_t L);
template <class T> void batchnorm_backward(const T* x, const T* dy, const T* mean, const T* invstd, const T* gamma, T* dx, T* dgamma, T* dbeta,
                                           int64_t N, int64_t C, int64_t L, bool batch_stats);
template <class T> void layernorm_forward(const T* x, const T* gamma, const T* beta, T* y, T* mean, T* rstd, int64_t rows, int64_t D, double eps);
template <class T> void layernorm_backward(const T* x, const T* dy, const T* mean, const T* rstd, const T* gamma, T* dx, T* dgamma, T* dbeta,
                                           int64_t rows, int64_t D);
template <class T> void softmax_forward(const T* x, T* y, int64_t rows, int64_t D, bool log);
template <class T> void softmax_backward(const T* y, const T* dy, T* dx, int64_t rows, int64_t D, bool log);
template <class T> void transpose2d(const T* x, T* y, int64_t N, int64_t A, int64_t B);
template <class T> void concat_put(const T* src, T* dst, int64_t N, int64_t pre, int64_t len, int64_t post, int64_t total, int64_t off);
template <class T> void concat_get(const T* src, T* dst, int64_t N, int64_t pre, int64_t len, int64_t post, int64_t total, int64_t off);
template <class T> void add(const T* x, const T* y, T* z, int64_t n);
template <class T> void maxpool1d_padded_forward(const T* x, T* y, int32_t* arg, int64_t rows, int64_t L, int64_t K, int64_t S, int64_t pad_left, int64_t lout);
template <class T> void minmax_normalize_forward(const T* x, T* y, int32_t* argext, int64_t rows, int64_t D);
template <class T> void minmax_normalize_backward(const T* x, const T* y, const int32_t* argext, const T* dy, T* dx, int64_t rows, int64_t D);

#define GALML_CUDA_NORM_OPS(PREFIX, T)                                                                                      \
  PREFIX void batchnorm_stats<T>(const T*, T*, T*, int64_t, int64_t, int64_t);                                              \
  PREFIX void batchnorm_update_running<T>(T*, T*, const T*, const T*, int64_t, int64_t, double);                            \
  PREFIX void batchnorm_invstd<T>(const T*, T*, int64_t, double);                                                           \
  PREFIX void batchnorm_forward<T>(const T*, const T*, const T*, const T*, const T*, T*, int64_t, int64_t, int64_t);        \
  PREFIX void batchnorm_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t, int64_t, bool); \
  PREFIX void layernorm_forward<T>(const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t, double);                     \
  PREFIX void layernorm_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t);        \
  PREFIX void softmax_forward<T>(const T*, T*, int64_t, int64_t, bool);                                                     \
  PREFIX void softmax_backward<T>(const T*, const T*, T*, int64_t, int64_t, bool);                                          \
  PREFIX void transpose2d<T>(const T*, T*, int64_t, int64_t, int64_t);                                                      \
  PREFIX void concat_put<T>(const T*, T*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t);                            \
  PREFIX void concat_get<T>(const T*, T*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t);                            \
  PREFIX void add<T>(const T*, const T*, T*, int64_t);                                                                      \
  PREFIX void maxpool1d_padded_forward<T>(const T*, T*, int32_t*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t);    \
  PREFIX void minmax_normalize_forward<T>(const T*, T*, int32_t*, int64_t, int64_t);                                        \
  PREFIX void minmax_normalize_backward<T>(const T*, const T*, const int32_t*, const T*, T*, int64_t, int64_t);

// ---- attention and token ops (attention.cuh); same semantics as backend/cpu/attention.hpp ----
struct AttnDimsC { int64_t Tq, Tk, H, dk, dv, ldq, ldk, ldv, ldo; double scale; };  // = backend_ops::AttnDims
enum AttnKindC : int { attn_softmax = 0, attn_sigmoid = 1 };                        // = backend_ops::AttnKind
template <class T> void linear_kio_forward(const T* x, const T* w, const T* b, T* y, int64_t rows, int64_t in, int64_t out);
template <class T> void linear_kio_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t rows, int64_t in, int64_t out);
template <class T> void attention_forward(const T* q, const T* k, const T* v, T* o, T* P, uint8_t* mask, int64_t N, const AttnDimsC& d, int kind,
                                          double drop_p, uint64_t seed, uint64_t layer, uint64_t step);
template <class T> void attention_backward(const T* q, const T* k, const T* v, const T* P, const uint8_t* mask, const T* dout, T* dq, T* dk, T* dv,
                                           int64_t N, const AttnDimsC& d, int kind, double drop_p);
template <class T> void hadamard_gate_forward(const T* q, const T* k, const T* v, int64_t ld_in, T* y, int64_t ld_y, int64_t rows, int64_t width);
template <class T> void hadamard_gate_backward(const T* q, const T* k, const T* v, int64_t ld_in, const T* dy, int64_t ld_y, T* dq, T* dk, T* dv,
                                               int64_t rows, int64_t width);
template <class T> void l2normalize_forward(const T* x, T* y, T* norm, int64_t rows, int64_t D, double eps);
template <class T> void l2normalize_backward(const T* y, const T* norm, const T* dy, T* dx, int64_t rows, int64_t D, double eps);
template <class T> void scaled_logits_forward(const T* c, const T* s, T* y, int64_t n);
template <class T> void scaled_logits_backward(const T* c, const T* s, const T* dy, T* dc, T* ds, int64_t n);
template <class T> void batch_sum_accumulate(const T* x, T* out, int64_t N, int64_t size);
template <class T> void add_broadcast(const T* x, const T* b, T* y, int64_t N, int64_t size);
template <class T> void patchify1d(const T* x, T* patches, int64_t N, int64_t C, int64_t L, int64_t P, int64_t Tn);
template <class T> void unpatchify1d(const T* dpatches, T* dx, int64_t N, int64_t C, int64_t L, int64_t P, int64_t Tn);
template <class T> void cls_prepend_forward(const T* x, const T* cls, T* y, int64_t N, int64_t Tn, int64_t D);
template <class T> void cls_prepend_backward(const T* dy, T* dx, T* dcls, int64_t N, int64_t Tn, int64_t D);
template <class T> void token_pool_forward(const T* x, T* y, int64_t N, int64_t Tn, int64_t D, bool mean);
template <class T> void token_pool_backward(const T* dy, T* dx, int64_t N, int64_t Tn, int64_t D, bool mean);

#define GALML_CUDA_ATTN_OPS(PREFIX, T)                                                                                      \
  PREFIX void linear_kio_forward<T>(const T*, const T*, const T*, T*, int64_t, int64_t, int64_t);                           \
  PREFIX void linear_kio_backward<T>(const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t, int64_t);                  \
  PREFIX void attention_forward<T>(const T*, const T*, const T*, T*, T*, uint8_t*, int64_t, const AttnDimsC&, int, double, uint64_t, uint64_t, uint64_t); \
  PREFIX void attention_backward<T>(const T*, const T*, const T*, const T*, const uint8_t*, const T*, T*, T*, T*, int64_t, const AttnDimsC&, int, double); \
  PREFIX void hadamard_gate_forward<T>(const T*, const T*, const T*, int64_t, T*, int64_t, int64_t, int64_t);               \
  PREFIX void hadamard_gate_backward<T>(const T*, const T*, const T*, int64_t, const T*, int64_t, T*, T*, T*, int64_t, int64_t); \
  PREFIX void l2normalize_forward<T>(const T*, T*, T*, int64_t, int64_t, double);                                          \
  PREFIX void l2normalize_backward<T>(const T*, const T*, const T*, T*, int64_t, int64_t, double);                          \
  PREFIX void scaled_logits_forward<T>(const T*, const T*, T*, int64_t);                                                    \
  PREFIX void scaled_logits_backward<T>(const T*, const T*, const T*, T*, T*, int64_t);                                     \
  PREFIX void batch_sum_accumulate<T>(const T*, T*, int64_t, int64_t);                                                      \
  PREFIX void add_broadcast<T>(const T*, const T*, T*, int64_t, int64_t);                                                   \
  PREFIX void patchify1d<T>(const T*, T*, int64_t, int64_t, int64_t, int64_t, int64_t);                                     \
  PREFIX void unpatchify1d<T>(const T*, T*, int64_t, int64_t, int64_t, int64_t, int64_t);                                   \
  PREFIX void cls_prepend_forward<T>(const T*, const T*, T*, int64_t, int64_t, int64_t);                                    \
  PREFIX void cls_prepend_backward<T>(const T*, T*, T*, int64_t, int64_t, int64_t);                                         \
  PREFIX void token_pool_forward<T>(const T*, T*, int64_t, int64_t, int64_t, bool);                                         \
  PREFIX void token_pool_backward<T>(const T*, T*, int64_t, int64_t, int64_t, bool);

// ---- 2-D convolution and pooling (conv2d.cuh) ----
struct Conv2dDimsC { int64_t cin, H, W, cout, K, stride, pad, ho, wo; };  // = cpu_kernels::Conv2dDims
template <class T> void conv2d_forward(const T* x, const T* w, const T* b, T* y, int64_t N, const Conv2dDimsC& d);
template <class T> void conv2d_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t N, const Conv2dDimsC& d);
template <class T> void maxpool2d_forward(const T* x, T* y, int32_t* arg, int64_t planes, int64_t H, int64_t W, int64_t K, int64_t S, int64_t ho, int64_t wo);
template <class T> void maxpool2d_backward(const T* dy, const int32_t* arg, T* dx, int64_t planes, int64_t H, int64_t W, int64_t K, int64_t S, int64_t ho, int64_t wo);
template <class T> void binpool2d_forward(const T* x, T* y, const int32_t* bins, int64_t planes, int64_t H, int64_t W, int64_t ho, int64_t wo);
template <class T> void binpool2d_backward(const T* dy, T* dx, const int32_t* bins, int64_t planes, int64_t H, int64_t W, int64_t ho, int64_t wo);

#define GALML_CUDA_2D_OPS(PREFIX, T)                                                                                        \
  PREFIX void conv2d_forward<T>(const T*, const T*, const T*, T*, int64_t, const Conv2dDimsC&);                             \
  PREFIX void conv2d_backward<T>(const T*, const T*, const T*, T*, T*, T*, int64_t, const Conv2dDimsC&);                    \
  PREFIX void maxpool2d_forward<T>(const T*, T*, int32_t*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t);  \
  PREFIX void maxpool2d_backward<T>(const T*, const int32_t*, T*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t); \
  PREFIX void binpool2d_forward<T>(const T*, T*, const int32_t*, int64_t, int64_t, int64_t, int64_t, int64_t);              \
  PREFIX void binpool2d_backward<T>(const T*, T*, const int32_t*, int64_t, int64_t, int64_t, int64_t, int64_t);

// ---- training step (train.cuh) ----
// Losses: one block, deterministic. value/denominator -> *loss_out (nullable), += value*N -> *sum_out
// (nullable); grad (nullable) = λ·dL/dpred with λ = *weight (nullable: 1), added to grad when accumulate.
// Denominator: (mask_count ? kept rows : N) · (1 for focal, D for MAE); 0 kept rows give value 0, grad 0.
template <class T> void focal_loss(const T* z, const T* target, const T* mask, int64_t N, int64_t D, const T* alpha, double default_alpha,
                                   double gamma, bool soft, bool mask_count, const T* weight, T* grad, bool accumulate, T* loss_out, double* sum_out);
template <class T> void mae_loss(const T* pred, const T* target, const T* mask, int64_t N, int64_t D, bool mask_count, const T* weight,
                                 T* grad, bool accumulate, T* loss_out, double* sum_out);
enum AdamFlags : int { adam_decoupled = 1, adam_amsgrad = 2, adam_keras_eps = 4 };
// hyper {lr, beta1, beta2, weight_decay} (device doubles), t (device step counter), coef [4] (device).
template <class T> void adam_prepare(const double* hyper, int64_t* t, T* coef);
template <class T> void adam_update(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, const T* coef, double beta1, double beta2, double eps,
                                    double wd, int flags);
// adam_update with a frozen mask (device bytes) and per-element step counts (device, incremented here);
// bias corrections per element from hyper {lr, beta1, beta2, weight_decay} (device doubles).
template <class T> void adam_update_frozen(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, const double* hyper, const uint8_t* frozen,
                                           int64_t* elem_steps, double eps, int flags);
// clip_grad_norm: norm = ||g||_2 (double, fixed-order two-level sum) into *norm_out (device); when
// finite and > max_norm, g *= T(max_norm / (norm + 1e-6)) (train::train_step's rule).
template <class T> void clip_grad_norm(T* g, int64_t n, double max_norm, double* norm_out);
// Device-side offset added to every dropout step (0 by default; CUDA-graph train steps advance it).
void dropout_offset_add(uint64_t d);  // queued on the stream (capturable)
uint64_t dropout_offset_get();        // synchronises
void dropout_offset_set(uint64_t v);  // synchronises

#define GALML_CUDA_TRAIN_OPS(PREFIX, T)                                                                                     \
  PREFIX void focal_loss<T>(const T*, const T*, const T*, int64_t, int64_t, const T*, double, double, bool, bool, const T*, T*, bool, T*, double*); \
  PREFIX void mae_loss<T>(const T*, const T*, const T*, int64_t, int64_t, bool, const T*, T*, bool, T*, double*);          \
  PREFIX void adam_prepare<T>(const double*, int64_t*, T*);                                                                \
  PREFIX void adam_update<T>(T*, const T*, T*, T*, T*, int64_t, const T*, double, double, double, double, int);              \
  PREFIX void clip_grad_norm<T>(T*, int64_t, double, double*);                                                             \
  PREFIX void adam_update_frozen<T>(T*, const T*, T*, T*, T*, int64_t, const double*, const uint8_t*, int64_t*, double, int);

// The list of ops, for `extern template` here and the explicit instantiations in galml_cuda.cu.
#define GALML_CUDA_OPS(PREFIX, T)                                                                                          \
  PREFIX void conv1d_forward<T>(const T*, const T*, const T*, T*, int64_t, const ConvDims&);                               \
  PREFIX void conv1d_backward<T>(const T*, const T*, const T*, T*, T*, T*, int64_t, const ConvDims&);                      \
  PREFIX void conv1d_relu_forward<T>(const T*, const T*, const T*, T*, int64_t, const ConvDims&);                          \
  PREFIX void conv1d_relu_backward<T>(const T*, const T*, const T*, const T*, T*, T*, T*, int64_t, const ConvDims&);       \
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
GALML_CUDA_TRAIN_OPS(extern template, float)
GALML_CUDA_TRAIN_OPS(extern template, double)
GALML_CUDA_NORM_OPS(extern template, float)
GALML_CUDA_NORM_OPS(extern template, double)
GALML_CUDA_ATTN_OPS(extern template, float)
GALML_CUDA_ATTN_OPS(extern template, double)
GALML_CUDA_2D_OPS(extern template, float)
GALML_CUDA_2D_OPS(extern template, double)
#endif

}  // namespace galml::cuda_kernels

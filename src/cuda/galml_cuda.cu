// The compiled part of the CUDA backend (target galml_cuda / galml::cuda): every kernel is built once
// here, for float and double, so code using the backend compiles with the host compiler alone. The
// Conv1D direct and tensor-core kernels, most of nvcc's work, are in conv1d_direct.cu and conv1d_tc.cu
// (compiled in parallel with this file); here only their entry points are declared.
#define GALML_CUDA_BUILDING_LIBRARY 1
#define GALML_CUDA_MAIN_UNIT 1  // the one unit holding the dropout offset (elementwise.cuh)
#define GALML_CUDA_CONV_DIRECT_ELSEWHERE 1
#define GALML_CUDA_CONV_TC_ELSEWHERE 1
#include "galml/backend/cuda/attention.cuh"
#include "galml/backend/cuda/conv1d.cuh"
#include "galml/backend/cuda/conv2d.cuh"
#include "galml/backend/cuda/dense.cuh"
#include "galml/backend/cuda/elementwise.cuh"
#include "galml/backend/cuda/norm.cuh"
#include "galml/backend/cuda/pool.cuh"
#include "galml/backend/cuda/train.cuh"

namespace galml::cuda_kernels {
GALML_CUDA_OPS(template, float)
GALML_CUDA_OPS(template, double)
GALML_CUDA_TRAIN_OPS(template, float)
GALML_CUDA_TRAIN_OPS(template, double)
GALML_CUDA_NORM_OPS(template, float)
GALML_CUDA_NORM_OPS(template, double)
GALML_CUDA_ATTN_OPS(template, float)
GALML_CUDA_ATTN_OPS(template, double)
GALML_CUDA_2D_OPS(template, float)
GALML_CUDA_2D_OPS(template, double)
}  // namespace galml::cuda_kernels

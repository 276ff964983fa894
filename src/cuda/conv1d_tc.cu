// The tensor-core (TF32 / BF16 / 3xTF32) Conv1D kernels (galml/backend/cuda/conv1d_tc.cuh), compiled in their
// own translation unit; the FP32 direct kernels' entry points are defined in conv1d_direct.cu.
#define GALML_CUDA_BUILDING_LIBRARY 1
#define GALML_CUDA_CONV_DIRECT_ELSEWHERE 1
#include "galml/backend/cuda/conv1d_tc.cuh"

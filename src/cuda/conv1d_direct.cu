// The FP32 direct Conv1D kernels (galml/backend/cuda/conv1d_direct.cuh), compiled in their own
// translation unit so that nvcc builds them in parallel with the rest of the library.
#define GALML_CUDA_BUILDING_LIBRARY 1
#include "galml/backend/cuda/conv1d_direct.cuh"

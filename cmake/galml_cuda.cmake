# The CUDA backend's compiled part: target galml_cuda (alias galml::cuda). Included from the top-level
# CMakeLists.txt inside if(GALML_WITH_CUDA), after enable_language(CUDA) and find_package(CUDAToolkit).
# Kernels are compiled here once (for CMAKE_CUDA_ARCHITECTURES, 90 by default); host code that links
# galml::cuda includes only host headers and never needs nvcc.
# Three translation units (the Conv1D kernels are most of nvcc's work), compiled in parallel.
add_library(galml_cuda STATIC ${PROJECT_SOURCE_DIR}/src/cuda/galml_cuda.cu ${PROJECT_SOURCE_DIR}/src/cuda/conv1d_direct.cu
                              ${PROJECT_SOURCE_DIR}/src/cuda/conv1d_tc.cu)
add_library(galml::cuda ALIAS galml_cuda)
target_include_directories(galml_cuda PUBLIC
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
  $<INSTALL_INTERFACE:include>)
# PUBLIC: host code that uses the backend includes cuda_runtime_api.h / cublas_v2.h and calls them.
target_link_libraries(galml_cuda PUBLIC galml CUDA::cudart CUDA::cublas)
target_compile_definitions(galml_cuda PUBLIC GALML_WITH_CUDA=1)
set_target_properties(galml_cuda PROPERTIES
  POSITION_INDEPENDENT_CODE ON
  CUDA_RUNTIME_LIBRARY Shared)
# Warning-free is enforced for our kernels: host-compiler warnings and nvcc's own warnings are errors.
# C++20 is passed directly: CMake < 3.26 does not know the CUDA20 dialect for nvcc (galml's headers
# use concepts).
target_compile_options(galml_cuda PRIVATE
  $<$<COMPILE_LANGUAGE:CUDA>:-std=c++20 --Werror=all-warnings -Xcompiler=-Wall,-Wextra,-Werror>)

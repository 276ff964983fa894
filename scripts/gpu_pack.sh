#!/usr/bin/env bash
# Build the CUDA test and benchmark programs here (nvcc, no GPU needed; CUDA arch 90) and pack them into
# .gpubin/bin.tgz, so a GPU machine can run them without building (its build takes ~5 minutes of device time):
#   bash scripts/gpu_pack.sh [extra targets...]
#   (on the GPU machine, from the project root)
#   tar xzf .gpubin/bin.tgz && source .devdeps/env.sh && GALML_GPU_BUILD=build-cuda GALML_GPU_PREBUILT=1 bash scripts/gpu_bench.sh tests models
# Same CUDA toolkit major version on both machines; the GPU machine's glibc must not be older.
set -euo pipefail
bd="${GALML_GPU_BUILD:-build-cuda}"
cmake -S . -B "$bd" -DGALML_WITH_CUDA=ON -DGALML_WITH_FITS=ON -DGALML_BUILD_EXAMPLES=ON -DGALML_BUILD_BENCHMARKS=ON \
  -DGALML_BUILD_TESTS=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_BUILD_TYPE=Release > /dev/null
tests="test_cuda_conv1d_direct test_cuda_ops test_cuda_model test_cuda_train test_cuda_norm_ops test_cuda_attention test_cuda_conv2d test_cuda_all_models"
benches="bench_cuda_conv1d bench_cuda_mtlforgalspecz bench_cuda_models"
cmake --build "$bd" -j"$(nproc)" --target $tests $benches mtlforgalspecz "$@"
files=()
for t in $tests; do files+=("$bd/tests/$t"); done
for b in $benches; do files+=("$bd/benchmarks/$b"); done
files+=("$bd/examples/mtlforgalspecz/mtlforgalspecz")
# the shared libraries of ../shared/gpu-build/bundle.sh's .devdeps (cfitsio and what it links), without the
# headers, so the GPU machine needs only this file: `source .devdeps/env.sh` works there after unpacking
if [[ -d .devdeps ]]; then files+=(.devdeps/env.sh $(ls .devdeps/usr/lib/x86_64-linux-gnu/*.so* 2>/dev/null)); fi
mkdir -p .gpubin
tar czf .gpubin/bin.tgz "${files[@]}"
ls -la .gpubin/bin.tgz

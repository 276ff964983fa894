#!/usr/bin/env bash
# The seeded FITS corruption test (truncations and byte flips of the real SDSS files) and the reader
# tests under AddressSanitizer + UndefinedBehaviorSanitizer. Run after scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${GALML_ASAN_BUILD_DIR:-build-asan}"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Debug -DGALML_BUILD_EXAMPLES=OFF -DGALML_WITH_CUDA=OFF \
  -DCMAKE_CXX_FLAGS="-O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" >/dev/null
TESTS=(test_fits_corruption test_fits_sdss test_csv test_image)
cmake --build "$BUILD_DIR" -j "${GALML_JOBS:-$(nproc)}" --target "${TESTS[@]}"
cd "$BUILD_DIR"
ctest --output-on-failure -R "^($(IFS='|'; echo "${TESTS[*]}"))$"

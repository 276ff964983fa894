#!/usr/bin/env bash
# One-step set-up on a fresh Debian 12 machine: install the Debian packages galml needs (only those
# missing), configure and build into ./build. Safe to re-run.
#   GALML_BUILD_DIR   build directory (default: build)
#   GALML_JOBS        parallel build jobs (default: number of cores)
#   GALML_CMAKE_ARGS  extra CMake arguments
#   GALML_TARGETS     build only these targets (default: everything)
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(build-essential cmake pkg-config libeigen3-dev libxtensor-dev libcfitsio-dev catch2
      libbenchmark-dev libstb-dev nlohmann-json3-dev libcli11-dev python3)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "galml setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

BUILD_DIR="${GALML_BUILD_DIR:-build}"
JOBS="${GALML_JOBS:-$(nproc)}"
EXTRA=()
if [ -x /usr/local/cuda/bin/nvcc ] || command -v nvcc >/dev/null 2>&1; then
  EXTRA+=(-DGALML_WITH_CUDA=ON -DCMAKE_CUDA_COMPILER="$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)")
fi
# shellcheck disable=SC2086
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release "${EXTRA[@]}" ${GALML_CMAKE_ARGS:-}
# shellcheck disable=SC2086
if [ -n "${GALML_TARGETS:-}" ]; then
  cmake --build "$BUILD_DIR" -j "$JOBS" --target ${GALML_TARGETS}
else
  cmake --build "$BUILD_DIR" -j "$JOBS"
fi

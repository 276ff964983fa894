#!/usr/bin/env bash
# Set up (scripts/setup.sh), build, and run the whole test suite under CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cd "${GALML_BUILD_DIR:-build}"
ctest --output-on-failure -j "${GALML_JOBS:-$(nproc)}" --timeout 1500

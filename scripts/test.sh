#!/usr/bin/env bash
# Set up (scripts/setup.sh), build, run the whole test suite under CTest, then the FITS readers and
# the seeded corruption test under ASan/UBSan (scripts/sanitize.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
(cd "${GALML_BUILD_DIR:-build}" && ctest --output-on-failure -j "${GALML_JOBS:-$(nproc)}" --timeout 1500)
bash scripts/sanitize.sh

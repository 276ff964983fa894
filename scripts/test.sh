#!/usr/bin/env bash
# Set up (scripts/setup.sh), build, run the whole test suite under CTest, then the FITS readers and
# the seeded corruption test under ASan/UBSan (scripts/sanitize.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# The tests are built with -Wall -Wextra; here (and so in CI) a warning fails the build.
GALML_CMAKE_ARGS="-DGALML_TEST_WERROR=ON ${GALML_CMAKE_ARGS:-}" bash scripts/setup.sh
(cd "${GALML_BUILD_DIR:-build}" && ctest --output-on-failure -j "${GALML_JOBS:-$(nproc)}" --timeout 1500)
bash scripts/sanitize.sh

#!/usr/bin/env bash
# Set up (scripts/setup.sh), build, and run the main job: the MTLforGalSpecZ example's `reproduce`
# on the built-in mock survey (output in ./out/mtlforgalspecz; report.md there).
set -euo pipefail
cd "$(dirname "$0")/.."
GALML_TARGETS="${GALML_TARGETS:-mtlforgalspecz}" bash scripts/setup.sh
exec "${GALML_BUILD_DIR:-build}/examples/mtlforgalspecz/mtlforgalspecz" "$@"

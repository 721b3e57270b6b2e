#!/usr/bin/env bash
# Runs every test of modelexport: builds what changed, then ctest.
#
#   ./scripts/test.sh [extra ctest arguments, e.g. -R Gelu or -L e2e]
#
# Needs ./scripts/setup.sh to have run once. The first run also generates the
# TorchScript fixtures (ctest's generate_fixtures test, cached in build/fixtures).
# Environment: MODELEXPORT_JOBS (default 2) build and test jobs; BUILD_DIR (default build).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
JOBS="${MODELEXPORT_JOBS:-2}"

[[ -d "$ROOT/tests/node_modules/onnxruntime-node" ]] \
  || { echo "test.sh: error: tests/node_modules is missing; run ./scripts/setup.sh first" >&2; exit 1; }
if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  echo "==> configuring $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
fi
echo "==> building $BUILD_DIR"
cmake --build "$BUILD_DIR" -j "$JOBS"
# Known failures (tests/KNOWN_FAILURES) are listed, not run: each is an open defect.
exclude=()
known="$ROOT/tests/KNOWN_FAILURES"
if [[ -f "$known" ]] && grep -qv '^#' "$known"; then
  regex=$(grep -v '^#' "$known" | sed -e 's/[][\\.*^$()+?{}|]/\\&/g' | awk '{printf "%s^%s$|^%s ", (NR>1?"|":""), $0, $0}')
  echo "==> leaving out $(grep -cv '^#' "$known") known failures (tests/KNOWN_FAILURES)"
  exclude=(-E "$regex")
fi
echo "==> ctest"
status=0
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" "${exclude[@]}" "$@" || status=$?
exit "$status"

#!/usr/bin/env bash
# Runs one fuzz target (tests/fuzz) under libFuzzer with ASan and UBSan.
#
#   tools/fuzz.sh TARGET SECONDS [more libFuzzer flags]
#   TARGET: zip_directory, torch_export, onnx_reading, graphml or tokenizer
#
# Builds the target with clang into build-fuzz/ (apt-get install clang), seeds it with the
# suite's corpus (build/fuzz-corpus, made by ctest's generate_fuzz_corpus, or here when
# missing) and tests/fuzz/inputs/TARGET. New inputs it finds go to build-fuzz/corpus/TARGET,
# crashing ones to build-fuzz/findings/TARGET/ (crash-*, timeout-*, oom-*): fix the reader,
# then commit the input to tests/fuzz/inputs/TARGET/ so that the suite replays it.
# Environment: FUZZ_BUILD_DIR (default build-fuzz), BUILD_DIR (default build),
# MODELEXPORT_JOBS (default 2).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ $# -ge 2 ]] || { sed -n '2,15p' "$0" >&2; exit 2; }
TARGET="$1" SECONDS_TO_RUN="$2"
shift 2
FUZZ_BUILD="${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
JOBS="${MODELEXPORT_JOBS:-2}"
die() { printf 'fuzz.sh: error: %s\n' "$*" >&2; exit 1; }

[[ -f "$ROOT/tests/fuzz/fuzz_$TARGET.cpp" ]] \
  || die "no fuzz target '$TARGET' (known: $(cd "$ROOT/tests/fuzz" && ls fuzz_*.cpp | grep -v fuzz_files | sed 's/^fuzz_//; s/\.cpp$//' | tr '\n' ' '))"
command -v clang++ >/dev/null 2>&1 || die "clang++ is missing: apt-get install clang"
if [[ ! -f "$FUZZ_BUILD/CMakeCache.txt" ]]; then
  CC=clang CXX=clang++ cmake -S "$ROOT" -B "$FUZZ_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMODELEXPORT_LIBFUZZER=ON
fi
cmake --build "$FUZZ_BUILD" --target "fuzz_$TARGET" -j "$JOBS"

seeds="$BUILD_DIR/fuzz-corpus"
if [[ ! -d "$seeds/$TARGET" ]]; then
  [[ -x "$BUILD_DIR/modelexport" && -f "$BUILD_DIR/fixtures/custom_scripted.pt" ]] \
    || die "$seeds is missing and so are the build's binary or fixtures: run ./scripts/test.sh once"
  "$ROOT/tests/tools/make_fuzz_corpus.sh" "$BUILD_DIR/modelexport" "$BUILD_DIR/fixtures" "$seeds"
fi
corpus="$FUZZ_BUILD/corpus/$TARGET"
findings="$FUZZ_BUILD/findings/$TARGET"
mkdir -p "$corpus" "$findings"
# LibTorch is not instrumented and keeps allocations to the end (leaks are not findings).
# A huge allocation fails with std::bad_alloc, as it does outside ASan.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:symbolize=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
cd "$findings"
exec "$FUZZ_BUILD/fuzz/fuzz_$TARGET" -max_total_time="$SECONDS_TO_RUN" -timeout=20 -rss_limit_mb=3072 \
  -print_final_stats=1 -artifact_prefix="$findings/" "$@" \
  "$corpus" "$seeds/$TARGET" "$ROOT/tests/fuzz/inputs/$TARGET"

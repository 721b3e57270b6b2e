#!/usr/bin/env bash
# One transformers architecture through the front door: `modelexport export REPO OUT.onnx`
# with no option, on the test cache (tests/tools/make_hf_cache.py) and offline; then
# tests/tools/check_hf_export.py: the full ONNX checker, 100% stamped, and onnxruntime
# against transformers' own model on inputs of another batch and length. With REFERENCES
# (ctest's generate_hf_references: check_hf_export.py --write-references), the inputs and
# transformers' outputs kept there are used when their key is still today's (the check
# says which), so the check need not import torch and transformers again.
#
# With PROGRAM_CACHE (ctest's generate_hf_programs: tests/tools/make_hf_programs.py, the
# front end run for every repo in one process), the export must be a hit of that program
# cache (`front end: reusing` in its -v output): the front end's program of REPO is the
# one made there, and the binary starts no Python. A miss fails, with the front end's
# error when it failed there. Without it, the binary runs the front end itself in an
# empty program cache.
#
#   hf_export_by_name.sh SOURCE_DIR BINARY HF_CACHE REPO WORK_DIR VENV_PYTHON [REFERENCES [PROGRAM_CACHE]]
set -euo pipefail
SRC="$1"; BINARY="$2"; CACHE="$3"; REPO="$4"; WORK="$5"; PY="$6"; REFERENCES="${7:-}"; PROGRAMS="${8:-}"
rm -rf "$WORK" && mkdir -p "$WORK"
export HF_HUB_CACHE="$CACHE" HF_HUB_OFFLINE=1 MODELEXPORT_PYTHON="$PY" MODELEXPORT_CACHE="${PROGRAMS:-$WORK/program-cache}"
if [[ -z "$PROGRAMS" ]]; then
  "$BINARY" export "$REPO" "$WORK/model.onnx"
else
  status=0
  "$BINARY" export -v "$REPO" "$WORK/model.onnx" >"$WORK/export.log" 2>&1 || status=$?
  cat "$WORK/export.log"
  if ! grep -q "^front end: reusing $PROGRAMS/programs/" "$WORK/export.log"; then
    error="$PROGRAMS/errors/${REPO//\//--}.txt"
    if [[ -f "$error" ]]; then
      echo "FAIL $REPO: the front end failed in generate_hf_programs: $(cat "$error")"
    else
      echo "FAIL $REPO: no program-cache hit in $PROGRAMS (generate_hf_programs made no program under the key the" \
           "binary looked up: do tests/tools/frontend_program_key.py and src/inputs/python_front_end.cpp cacheKey differ?)"
    fi
    exit 1
  fi
  [[ $status == 0 ]] || exit "$status"
fi
"$PY" "$SRC/tests/tools/check_hf_export.py" --cache "$CACHE" --repo "$REPO" --onnx "$WORK/model.onnx" \
  ${REFERENCES:+--references "$REFERENCES"}

#!/usr/bin/env bash
# The front door's errors, on the real binary: one line on stderr naming the model and
# the cause, exit 1, nothing written.
#
#   front_door_errors.sh BINARY HF_CACHE WORK_DIR VENV_PYTHON
set -uo pipefail
BINARY="$1"; CACHE="$2"; WORK="$3"; PY="$4"
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
export HF_HUB_CACHE="$CACHE" HF_HUB_OFFLINE=1 MODELEXPORT_CACHE="$WORK/cache"
failures=0
# expect_error WHAT NEEDLE COMMAND...: exit 1, one stderr line holding NEEDLE, no out.onnx.
expect_error() {
  local what="$1" needle="$2"
  shift 2
  rm -f out.onnx
  "$@" >stdout.txt 2>stderr.txt
  local rc=$? lines
  lines=$(grep -c . stderr.txt)
  if [[ $rc -ne 1 || $lines -ne 1 ]] || ! grep -qF -- "$needle" stderr.txt || [[ -e out.onnx ]]; then
    echo "FAIL: $what (exit $rc, $lines stderr lines, wanted '$needle'):"; cat stderr.txt
    failures=$((failures + 1))
  else
    echo "ok: $what: $(cat stderr.txt)"
  fi
}
expect_error "no such interpreter" "--python '/nonexistent/python': no such Python interpreter" \
  "$BINARY" export prajjwal1/bert-tiny out.onnx --python /nonexistent/python
expect_error "MODELEXPORT_PYTHON not found" "MODELEXPORT_PYTHON 'no-such-python3': no such Python interpreter" \
  env MODELEXPORT_PYTHON=no-such-python3 "$BINARY" export prajjwal1/bert-tiny out.onnx
# Debian's python3 has torch 1.13 and no transformers.
expect_error "a Python without transformers" "cannot import transformers" \
  "$BINARY" export prajjwal1/bert-tiny out.onnx --python /usr/bin/python3
expect_error "not in the cache while offline" "HF_HUB_OFFLINE is set" \
  "$BINARY" export nobody/no-such-model out.onnx --python "$PY"
expect_error "a task the model has no class for" "error: prajjwal1/bert-tiny: transformers" \
  "$BINARY" export prajjwal1/bert-tiny out.onnx --python "$PY" --task automatic-speech-recognition
expect_error "--task on a model file" "--task applies to transformers models" \
  "$BINARY" export "$CACHE/../fixtures/bert_tiny.pt" out.onnx --task fill-mask
mkdir -p unknown && printf '{"model_type": "no-such-architecture", "architectures": ["NoSuchModel"]}\n' > unknown/config.json
expect_error "an architecture transformers does not know" "error: ./unknown: transformers" \
  "$BINARY" export ./unknown out.onnx --python "$PY"
echo "$((7 - failures)) passed, $failures failed"
((failures == 0))

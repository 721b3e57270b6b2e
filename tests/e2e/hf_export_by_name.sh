#!/usr/bin/env bash
# One transformers architecture through the front door: `modelexport export REPO OUT.onnx`
# with no option, on the test cache (tests/tools/make_hf_cache.py) and offline; then
# tests/tools/check_hf_export.py: the full ONNX checker, 100% stamped, and onnxruntime
# against transformers' own model on inputs of another batch and length. With REFERENCES
# (ctest's generate_hf_references: check_hf_export.py --write-references), the inputs and
# transformers' outputs kept there are used when their key is still today's (the check
# says which), so the check need not import torch and transformers again.
#
#   hf_export_by_name.sh SOURCE_DIR BINARY HF_CACHE REPO WORK_DIR VENV_PYTHON [REFERENCES]
set -euo pipefail
SRC="$1"; BINARY="$2"; CACHE="$3"; REPO="$4"; WORK="$5"; PY="$6"; REFERENCES="${7:-}"
rm -rf "$WORK" && mkdir -p "$WORK"
export HF_HUB_CACHE="$CACHE" HF_HUB_OFFLINE=1 MODELEXPORT_PYTHON="$PY" MODELEXPORT_CACHE="$WORK/program-cache"
"$BINARY" export "$REPO" "$WORK/model.onnx"
"$PY" "$SRC/tests/tools/check_hf_export.py" --cache "$CACHE" --repo "$REPO" --onnx "$WORK/model.onnx" \
  ${REFERENCES:+--references "$REFERENCES"}

#!/usr/bin/env bash
# Exports a generated model whose weights pass 2 GB and proves the result loads:
#
#   tools/huge_model_check.sh [WORK_DIR]
#
# 1. tools/make_fixtures.py writes big_mlp (9 x Linear(8192, 8192), 2.4 GB of float32
#    weights) into BUILD_DIR/fixtures (cached like every fixture);
# 2. build/modelexport exports it with no storage option: above 2 GB the weights must go
#    to ONNX external data (<stem>.onnx.data) on their own; --dump-io keeps LibTorch's
#    input and output;
# 3. Python's onnx.checker.check_model(PATH, full_check=True) (the path form, which is
#    how the checker reads models over 2 GB) and onnxruntime (tests/tools/ort_check.js)
#    load it; onnxruntime's output must match LibTorch's.
# Needs ~10 GB of RAM and ~5 GB of disk in WORK_DIR (default: a temporary directory,
# removed afterwards). Not part of the test suite: too big for CI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
EXE="${MODELEXPORT_EXE:-$BUILD_DIR/modelexport}"
PYTHON=/usr/bin/python3
[[ -x "$EXE" ]] || { echo "huge_model_check: $EXE not found; run ./scripts/setup.sh first" >&2; exit 1; }

if [[ $# -ge 1 ]]; then
  WORK="$1"
  mkdir -p "$WORK"
else
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/modelexport-huge.XXXXXX")"
  trap 'rm -rf "$WORK"' EXIT
fi

echo "==> fixture big_mlp"
"$PYTHON" "$ROOT/tools/make_fixtures.py" "$BUILD_DIR/fixtures" --only big_mlp

echo "==> export (no storage option)"
/usr/bin/time -f "export: %e s wall, peak RSS %M KiB" \
  "$EXE" export "$BUILD_DIR/fixtures/big_mlp.pt" "$WORK/big_mlp.onnx" --input-shape 1,8192 \
  --dump-io "$WORK/io" -v
[[ -f "$WORK/big_mlp.onnx.data" ]] || { echo "huge_model_check: FAIL: no external data file written" >&2; exit 1; }
ls -l "$WORK"/big_mlp.onnx*

echo "==> onnx.checker (full_check, by path)"
"$PYTHON" - "$WORK/big_mlp.onnx" <<'EOF'
import sys
import onnx
onnx.checker.check_model(sys.argv[1], full_check=True)
model = onnx.load(sys.argv[1], load_external_data=False)
external = [t.name for t in model.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
print("onnx checker: OK (%d initializers, %d in external data)" % (len(model.graph.initializer), len(external)))
EOF

echo "==> onnxruntime vs LibTorch"
node "$ROOT/tests/tools/ort_check.js" "$WORK/big_mlp.onnx" "$WORK/io" --tol 1e-4
echo "huge_model_check: PASS"

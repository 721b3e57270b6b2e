#!/usr/bin/env bash
# `pip install .` as a user does it: a fresh virtual environment, torch==2.13.0, then the
# repository. The build directory of this set-up is reused (-C build-dir), so nothing is
# compiled a second time: CMake is configured again with the new environment's
# interpreter, checks that its torch is the version the build was made against, and
# installs. Then, from another directory and without LD_LIBRARY_PATH or PYTHONPATH:
# `modelexport --version`, an export by Hugging Face name, `import modelexport`, and
# that the engine loaded the new environment's LibTorch.
#
#   install_test.sh SOURCE_DIR BUILD_DIR WORK_DIR HF_CACHE
set -euo pipefail
SRC="$1"; BUILD="$2"; WORK="$3"; HF_CACHE="$4"
BASE_PYTHON="$(command -v python3.11 || command -v python3)"
rm -rf "$WORK" && mkdir -p "$WORK/elsewhere"
step() { printf '\n$ %s\n' "$*"; "$@"; }

step "$BASE_PYTHON" -m venv "$WORK/venv"
VENV="$WORK/venv"
step "$VENV/bin/python" -m pip install --disable-pip-version-check -q torch==2.13.0
CMAKE_GENERATOR="Unix Makefiles" step "$VENV/bin/python" -m pip install --disable-pip-version-check -q \
  -C build-dir="$BUILD" -C cmake.define.BUILD_TESTING=ON "$SRC"

cd "$WORK/elsewhere"
unset PYTHONPATH LD_LIBRARY_PATH MODELEXPORT_PYTHON MODELEXPORT_BINARY
export HF_HUB_CACHE="$HF_CACHE" HF_HUB_OFFLINE=1 MODELEXPORT_CACHE="$WORK/program-cache"
[[ -x "$VENV/bin/modelexport" ]] || { echo "FAIL: $VENV/bin/modelexport is missing"; exit 1; }
step "$VENV/bin/modelexport" --version
LD_DEBUG=libs "$VENV/bin/modelexport" export prajjwal1/bert-tiny bert.onnx 2>"$WORK/ld.log"
grep -q "$VENV/lib/python3[.0-9]*/site-packages/torch/lib/libtorch_cpu.so" "$WORK/ld.log" \
  || { echo "FAIL: the engine did not load the new environment's libtorch_cpu.so"; grep libtorch_cpu "$WORK/ld.log" | head -3; exit 1; }
[[ -s bert.onnx && -s bert_hierarchy.json ]] || { echo "FAIL: the export wrote nothing"; exit 1; }
step "$VENV/bin/python" -c "import modelexport, sys; print(modelexport.__file__); assert modelexport.__file__.startswith('$VENV'), 'not the installed package'"
step "$VENV/bin/python" -c "
import modelexport
result = modelexport.export_pretrained('prajjwal1/bert-tiny', 'api.onnx')
print(result)
"
[[ -s api.onnx ]] || { echo "FAIL: export_pretrained wrote nothing"; exit 1; }
echo "install test: passed"

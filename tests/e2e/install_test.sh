#!/usr/bin/env bash
# What `pip install .` gives a user, in a fresh virtual environment: the wheel that
# `pip install .` builds is made from this set-up's build directory with .venv's
# scikit-build-core (the same one setup.sh's `pip install .` used, so nothing is compiled
# again: a build from another environment would reconfigure and compile it all), then
# installed into a fresh venv after torch==2.13.0. From another directory, without
# LD_LIBRARY_PATH or PYTHONPATH: `modelexport --version`, an export by Hugging Face
# name, `import modelexport` and export_pretrained, and that the engine loaded the new
# environment's LibTorch ($ORIGIN-relative RPATH) and the front end came from its
# site-packages. Last, `cmake --install build --prefix P` and P/bin/modelexport.
#
#   install_test.sh [--wheel | --install] SOURCE_DIR BUILD_DIR WORK_DIR HF_CACHE VENV_PYTHON
#
# The wheel goes to WORK_DIR.wheel. --wheel only makes it (pip configures BUILD_DIR again,
# so ctest runs this part alone: pip_wheel, RUN_SERIAL); --install does the rest with the
# wheel made before (pip_install_fresh_venv, beside other tests); no flag does both.
set -euo pipefail
mode=all
if [[ "${1:-}" == --wheel || "${1:-}" == --install ]]; then mode="${1#--}"; shift; fi
SRC="$1"; BUILD="$2"; WORK="$3"; HF_CACHE="$4"; BUILD_PYTHON="$5"
WHEEL="$WORK.wheel"
BASE_PYTHON="$(command -v python3.11 || command -v python3)"
step() { printf '\n$ %s\n' "$*"; "$@"; }

if [[ "$mode" != install ]]; then
  rm -rf "$WHEEL"
  CMAKE_GENERATOR="Unix Makefiles" step "$BUILD_PYTHON" -m pip wheel --disable-pip-version-check -q --no-build-isolation \
    --no-deps -C build-dir="$BUILD" -C cmake.define.BUILD_TESTING=ON -w "$WHEEL" "$SRC"
  cmake -S "$SRC" -B "$BUILD" >/dev/null  # back to the plain install layout (install rules only)
  if [[ "$mode" == wheel ]]; then echo "install test: wheel $(basename "$WHEEL"/modelexport-*.whl)"; exit 0; fi
fi
wheels=("$WHEEL"/modelexport-*.whl)
[[ ${#wheels[@]} == 1 && -f "${wheels[0]}" ]] || { echo "FAIL: not one wheel in $WHEEL (run --wheel first)"; exit 1; }
rm -rf "$WORK" && mkdir -p "$WORK/elsewhere"
step "$BASE_PYTHON" -m venv "$WORK/venv"
VENV="$WORK/venv"
step "$VENV/bin/python" -m pip install --disable-pip-version-check -q torch==2.13.0
step "$VENV/bin/python" -m pip install --disable-pip-version-check -q "${wheels[0]}"

cd "$WORK/elsewhere"
unset PYTHONPATH LD_LIBRARY_PATH MODELEXPORT_PYTHON MODELEXPORT_BINARY
export HF_HUB_CACHE="$HF_CACHE" HF_HUB_OFFLINE=1 MODELEXPORT_CACHE="$WORK/program-cache"
[[ -x "$VENV/bin/modelexport" ]] || { echo "FAIL: $VENV/bin/modelexport is missing"; exit 1; }
step "$VENV/bin/modelexport" --version
LD_DEBUG=libs "$VENV/bin/modelexport" export prajjwal1/bert-tiny bert.onnx 2>"$WORK/ld.log"
grep "calling init: .*/libtorch_cpu.so" "$WORK/ld.log" | grep -q "$VENV/" \
  || { echo "FAIL: the engine did not load the new environment's libtorch_cpu.so"; grep libtorch_cpu "$WORK/ld.log" | head -3; exit 1; }
[[ -s bert.onnx && -s bert_hierarchy.json ]] || { echo "FAIL: the export wrote nothing"; exit 1; }
step "$VENV/bin/python" -c "import modelexport, sys; print(modelexport.__file__); assert modelexport.__file__.startswith('$VENV'), 'not the installed package'"
step "$VENV/bin/python" -c "
import modelexport
result = modelexport.export_pretrained('prajjwal1/bert-tiny', 'api.onnx')
print(result)
"
[[ -s api.onnx ]] || { echo "FAIL: export_pretrained wrote nothing"; exit 1; }
# cmake --install: the same command, engine and front end under a prefix.
step cmake --install "$BUILD" --prefix "$WORK/prefix"
MODELEXPORT_PYTHON="$VENV/bin/python" step "$WORK/prefix/bin/modelexport" export prajjwal1/bert-tiny prefix.onnx \
  --opset-version 17
[[ -s prefix.onnx ]] || { echo "FAIL: the cmake --install binary wrote nothing"; exit 1; }
echo "install test: passed"

#!/usr/bin/env bash
# What `pip install .` gives a user, in a fresh virtual environment: the wheel that
# `pip install .` builds is made from this set-up's build directory with .venv's
# scikit-build-core (the same one setup.sh's `pip install .` used, so nothing is compiled
# again: a build from another environment would reconfigure and compile it all), then
# installed by pip into a fresh venv after torch==2.13.0 (installed once by pip into a venv
# kept in the build tree, hard-linked into each fresh venv: see below). From another
# directory, without LD_LIBRARY_PATH or PYTHONPATH: `modelexport --version`, an export by
# Hugging Face name, `import modelexport` and export_pretrained, and that the engine loaded
# the new environment's LibTorch ($ORIGIN-relative RPATH) and the front end came from its
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
# The pyenv shim, once: each run through it costs a bash and pyenv (~0.1 s).
BASE_PYTHON="$("$BASE_PYTHON" -c 'import sys; print(sys.executable)')"
VENV="$WORK/venv"
# torch==2.13.0, the user's own install before ours, is not what is tested and took ~30 s
# of pip each run: it is installed once into a venv kept in BUILD_DIR/pip-torch-venv
# under a key of what made it (the Python, the pip command, pip's configuration), and
# what that install added is hard-linked into the fresh venv (its scripts' first line
# pointed at the fresh venv's python), as pip would have laid it out. The wheel below is
# still installed by pip, which resolves its requirements against that torch.
TORCH_INSTALL=(-m pip install --disable-pip-version-check -q torch==2.13.0)
torch_key=$( { "$BASE_PYTHON" -c 'import sys; print(sys.version, sys.executable)'; echo "${TORCH_INSTALL[*]}"
               "$BASE_PYTHON" -m pip config list; } | sha256sum | cut -c1-16)
TORCH_VENV="$BUILD/pip-torch-venv/$torch_key"
if [[ ! -f "$TORCH_VENV/added.txt" ]]; then
  rm -rf "$BUILD/pip-torch-venv" && mkdir -p "$TORCH_VENV"
  step "$BASE_PYTHON" -m venv "$TORCH_VENV/venv"
  (cd "$TORCH_VENV/venv" && find lib bin) >"$TORCH_VENV/before.txt"
  step "$TORCH_VENV/venv/bin/python" "${TORCH_INSTALL[@]}"
  # The top entries the install added: new paths whose directory was there before.
  (cd "$TORCH_VENV/venv" && find lib bin) | awk 'NR == FNR { before[$0]; next }
    !($0 in before) { parent = $0; sub("/[^/]*$", "", parent); if (parent in before) print }' \
    "$TORCH_VENV/before.txt" - >"$TORCH_VENV/added.txt.tmp"
  mv "$TORCH_VENV/added.txt.tmp" "$TORCH_VENV/added.txt"
fi
# The fresh venv. `python -m venv` unpacks and byte-compiles pip with ensurepip (~3.5 s),
# which is not what is tested either: the venv is made --without-pip and gets what
# ensurepip put into TORCH_VENV's venv (same Python, so the same bundled pip), as that venv
# holds it after the torch install (which upgraded setuptools), hard-linked like torch.
step "$BASE_PYTHON" -m venv --without-pip "$VENV"
(cd "$VENV" && find lib bin) | awk 'NR == FNR { fresh[$0]; next }
  !($0 in fresh) { parent = $0; sub("/[^/]*$", "", parent); if (parent in fresh) print }' \
  - "$TORCH_VENV/before.txt" >"$WORK/ensurepip.txt"
printf '\n$ %s (%s + %s entries hard-linked from %s)\n' "ensurepip; $VENV/bin/python ${TORCH_INSTALL[*]}" \
  "$(wc -l <"$WORK/ensurepip.txt")" "$(wc -l <"$TORCH_VENV/added.txt")" "$TORCH_VENV"
while IFS= read -r entry; do
  # Gone from TORCH_VENV (setuptools' old dist-info) or linked already with its directory.
  if [[ ! -e "$TORCH_VENV/venv/$entry" || -e "$VENV/$entry" ]]; then continue; fi
  mkdir -p "$VENV/$(dirname "$entry")"
  cp -al "$TORCH_VENV/venv/$entry" "$VENV/$entry" 2>/dev/null || cp -a "$TORCH_VENV/venv/$entry" "$VENV/$entry"
  if [[ "$entry" == bin/* ]]; then  # a console script: its own copy, run by the fresh venv's python
    rm "$VENV/$entry" && sed "1s|^#!.*python.*|#!$VENV/bin/python|" "$TORCH_VENV/venv/$entry" >"$VENV/$entry"
    chmod +x "$VENV/$entry"
  fi
done < <(cat "$WORK/ensurepip.txt" "$TORCH_VENV/added.txt")
step "$VENV/bin/python" -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__; print('torch', torch.__version__, torch.__file__)"
# --no-compile: pip's bytecode for all of transformers took ~13 s; what runs below is
# compiled as Python imports it.
step "$VENV/bin/python" -m pip install --disable-pip-version-check -q --no-compile "${wheels[0]}"

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

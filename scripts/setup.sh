#!/usr/bin/env bash
# Installs every dependency of modelexport and builds it.
#
#   ./scripts/setup.sh        (as root, or with sudo available, on Debian 12 or 13)
#
# Steps, each skipped when already done:
#   1. apt packages: compilers, libonnx, protobuf, CLI11, nlohmann-json, pugixml,
#      GoogleTest; Debian's python3 with torch/torchvision/onnx/networkx (the older-torch
#      fixtures and reference tools); node + npm (onnxruntime-node runs the exported
#      models in tests); GNU time (tools/bench.sh).
#   2. .venv: a virtual environment with scripts/requirements.txt: torch==2.13.0 (CPU),
#      whose LibTorch the binary is built on and finds at run time by RPATH, and onnx,
#      onnxruntime, onnxscript, transformers for the tests and tools.
#   3. tests/node_modules: onnxruntime-node from tests/package-lock.json.
#   4. cmake configure + build into build/ (the binary is build/modelexport).
#   5. pip install . into .venv from that same build (no second compile): the
#      `modelexport` command in .venv/bin, the Python package (front end, API).
# Environment: MODELEXPORT_JOBS (default 2) build jobs; BUILD_DIR (default build).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
JOBS="${MODELEXPORT_JOBS:-2}"

say() { printf '==> %s\n' "$*"; }
die() { printf 'setup.sh: error: %s\n' "$*" >&2; exit 1; }

PACKAGES=(
  build-essential cmake python3-venv
  libonnx-dev libprotobuf-dev protobuf-compiler
  libcli11-dev nlohmann-json3-dev libpugixml-dev libgtest-dev libicu-dev
  python3-torch python3-torchvision python3-onnx python3-networkx graphviz
  libopenblas0-pthread time ca-certificates
)

# A node that did not come from Debian (e.g. NodeSource's nodejs, which bundles npm
# and conflicts with Debian's npm package) is kept as it is; Debian's is installed only
# when node or npm is missing.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && node --version >/dev/null 2>&1; then
  NODE_NOTE="using the installed node $(node --version), npm $(npm --version 2>/dev/null)"
else
  PACKAGES+=(nodejs npm)
  NODE_NOTE="node/npm from Debian"
fi

# ---- 1. apt packages ------------------------------------------------------------------
missing=()
for pkg in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)"
  [[ "$status" == ii* ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
  [[ -r /etc/os-release ]] && . /etc/os-release
  if [[ "${ID:-}" != debian || ! "${VERSION_CODENAME:-}" =~ ^(bookworm|trixie)$ ]]; then
    printf 'setup.sh: warning: this script targets Debian 12 and 13 (found %s %s)\n' \
      "${ID:-unknown}" "${VERSION_CODENAME:-}" >&2
  fi
  SUDO=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 || die "missing packages (${missing[*]}); run as root or install sudo"
    SUDO=(sudo)
  fi
  say "installing ${#missing[@]} apt packages: ${missing[*]}"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
else
  say "apt packages: all ${#PACKAGES[@]} installed"
fi
say "$NODE_NOTE"
node --version >/dev/null 2>&1 || die "node does not run after installation"
npm --version >/dev/null 2>&1 || die "npm does not run after installation"
/usr/bin/python3 -c 'import torch, torchvision, onnx, networkx' \
  || die "/usr/bin/python3 cannot import torch, torchvision, onnx and networkx"

# ---- 2. the virtual environment with torch 2.13 ---------------------------------------
# Python 3.11 first: the CPU build of torch 2.13.0 is provided for it (elsewhere pip
# would take PyPI's CUDA build, several GB).
VENV="$ROOT/.venv"
REQUIREMENTS="$ROOT/scripts/requirements.txt"
if [[ ! -x "$VENV/bin/python" ]]; then
  VENV_BASE="$(command -v python3.11 || command -v python3)" || die "no python3 to make $VENV with"
  say "creating $VENV with $VENV_BASE ($("$VENV_BASE" --version))"
  "$VENV_BASE" -m venv "$VENV"
fi
stamp="$VENV/.requirements.sha256"
wanted="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]] && "$VENV/bin/python" -c 'import torch' >/dev/null 2>&1; then
  say ".venv: up to date (torch $("$VENV/bin/python" -c 'import torch; print(torch.__version__)'))"
else
  say ".venv: pip install -r scripts/requirements.txt"
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$REQUIREMENTS"
  echo "$wanted" > "$stamp"
fi
"$VENV/bin/python" -c 'import torch, onnx, onnxruntime, onnxscript, transformers' \
  || die "$VENV/bin/python cannot import torch, onnx, onnxruntime, onnxscript and transformers"

# ---- 3. onnxruntime-node for the tests ------------------------------------------------
# --ignore-scripts: the package's install script only fetches optional GPU builds from a
# host outside the npm registry; the CPU library ships in the package itself.
TESTS="$ROOT/tests"
installed_lock="$TESTS/node_modules/.package-lock.json"
if [[ -f "$installed_lock" && ! "$installed_lock" -ot "$TESTS/package-lock.json" ]] \
   && (cd "$TESTS" && node -e "require('onnxruntime-node')" >/dev/null 2>&1); then
  say "tests/node_modules: up to date"
else
  say "tests/node_modules: npm ci --ignore-scripts"
  (cd "$TESTS" && npm ci --ignore-scripts --no-audit --no-fund)
  (cd "$TESTS" && node -e "require('onnxruntime-node')") \
    || die "onnxruntime-node was installed but does not load in $(node --version)"
fi

# ---- 4. build -------------------------------------------------------------------------
if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  say "configuring $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
fi
say "building $BUILD_DIR with $JOBS jobs (the first build takes several minutes)"
cmake --build "$BUILD_DIR" -j "$JOBS"
[[ -x "$BUILD_DIR/modelexport" ]] || die "build finished but $BUILD_DIR/modelexport is missing"

# ---- 5. pip install . into .venv, from the build above ----------------------------------
# scikit-build-core configures the same build directory again (with the tests kept on)
# and finds nothing to compile; it only installs. Unix Makefiles: the generator build/
# was made with.
say "pip install . into $VENV (reusing $BUILD_DIR)"
CMAKE_GENERATOR="Unix Makefiles" "$VENV/bin/python" -m pip install --disable-pip-version-check -q \
  --no-build-isolation --no-deps -C build-dir="$BUILD_DIR" -C cmake.define.BUILD_TESTING=ON "$ROOT" \
  || die "pip install . failed"
[[ -x "$VENV/bin/modelexport" ]] || die "pip install . did not install $VENV/bin/modelexport"
# Configured again without pip's staging directories: `cmake --install build` installs
# the plain layout (nothing is compiled).
cmake -S "$ROOT" -B "$BUILD_DIR" >/dev/null
say "ready: $BUILD_DIR/modelexport and $VENV/bin/modelexport ($("$VENV/bin/modelexport" --version))"

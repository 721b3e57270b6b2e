#!/usr/bin/env bash
# Installs every dependency of modelexport from Debian bookworm's packages and builds it.
#
#   ./scripts/setup.sh        (as root, or with sudo available, on Debian bookworm)
#
# Steps, each skipped when already done:
#   1. apt packages: compilers, LibTorch, libonnx, protobuf, CLI11, nlohmann-json,
#      pugixml, GoogleTest; python3 with torch/torchvision/onnx/networkx (fixtures and
#      reference tools); node + npm (onnxruntime-node runs the exported models in tests);
#      GNU time (tools/bench.sh).
#   2. tests/node_modules: onnxruntime-node from tests/package-lock.json.
#   3. cmake configure + build into build/ (the binary is build/modelexport).
# Environment: MODELEXPORT_JOBS (default 2) build jobs; BUILD_DIR (default build).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
JOBS="${MODELEXPORT_JOBS:-2}"

say() { printf '==> %s\n' "$*"; }
die() { printf 'setup.sh: error: %s\n' "$*" >&2; exit 1; }

PACKAGES=(
  build-essential cmake
  libtorch-dev libonnx-dev libprotobuf-dev protobuf-compiler
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
  if [[ "${ID:-}" != debian || "${VERSION_CODENAME:-}" != bookworm ]]; then
    printf 'setup.sh: warning: this script targets Debian bookworm (found %s %s)\n' \
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

# ---- 2. onnxruntime-node for the tests ------------------------------------------------
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

# ---- 3. build -------------------------------------------------------------------------
if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  say "configuring $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
fi
say "building $BUILD_DIR with $JOBS jobs (the first build takes several minutes)"
cmake --build "$BUILD_DIR" -j "$JOBS"
[[ -x "$BUILD_DIR/modelexport" ]] || die "build finished but $BUILD_DIR/modelexport is missing"
say "ready: $BUILD_DIR/modelexport ($("$BUILD_DIR/modelexport" --version))"

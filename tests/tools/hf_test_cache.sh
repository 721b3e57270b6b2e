#!/usr/bin/env bash
# Makes the tests' Hugging Face cache once per version of its generator (cached in the
# build tree): tests/tools/make_hf_cache.py's tiny random-weight models, plus two of them
# under the names the seed README uses (prajjwal1/bert-tiny, gpt2), copied with their
# blobs/snapshots/refs layout and symlinks.
#
#   hf_test_cache.sh SOURCE_DIR OUT_DIR VENV_PYTHON
set -euo pipefail
SRC="$1"; OUT="$2"; PY="$3"
stamp="$(cat "$SRC/tests/tools/make_hf_cache.py" "$0" | sha256sum | cut -c1-16)-$("$PY" -c 'import torch, transformers; print(torch.__version__ + "-" + transformers.__version__)')"
if [[ -f "$OUT/.stamp" && "$(cat "$OUT/.stamp")" == "$stamp" ]]; then
  echo "hf_test_cache: $OUT is up to date"
  exit 0
fi
rm -rf "$OUT.tmp"
HF_HUB_OFFLINE=1 "$PY" "$SRC/tests/tools/make_hf_cache.py" "$OUT.tmp"
cp -a "$OUT.tmp/models--modelexport-test--tiny-bert" "$OUT.tmp/models--prajjwal1--bert-tiny"
cp -a "$OUT.tmp/models--tiny-gpt2" "$OUT.tmp/models--gpt2"
echo "$stamp" > "$OUT.tmp/.stamp"
rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
echo "hf_test_cache: wrote $OUT"

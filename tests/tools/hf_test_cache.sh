#!/usr/bin/env bash
# Makes the tests' Hugging Face cache once per version of its generator (cached in the
# build tree): tests/tools/make_hf_cache.py's tiny random-weight models, plus two of them
# under the names the seed README uses (prajjwal1/bert-tiny, gpt2), copied with their
# blobs/snapshots/refs layout and symlinks.
#
#   hf_test_cache.sh SOURCE_DIR OUT_DIR VENV_PYTHON
set -euo pipefail
SRC="$1"; OUT="$2"; PY="$3"
# The versions from the installed distributions' metadata (the same strings as torch's and
# transformers' __version__): importing both only to read them took ~3 s every run.
versions="$("$PY" -c 'from importlib.metadata import version; print(version("torch") + "-" + version("transformers"))')"
stamp="$(cat "$SRC/tests/tools/make_hf_cache.py" "$0" | sha256sum | cut -c1-16)-$versions"
if [[ -f "$OUT/.stamp" && "$(cat "$OUT/.stamp")" == "$stamp" ]]; then
  echo "hf_test_cache: $OUT is up to date"
  exit 0
fi
rm -rf "$OUT.tmp"
HF_HUB_OFFLINE=1 "$PY" "$SRC/tests/tools/make_hf_cache.py" "$OUT.tmp"
cp -a "$OUT.tmp/models--modelexport-test--tiny-bert" "$OUT.tmp/models--prajjwal1--bert-tiny"
cp -a "$OUT.tmp/models--tiny-gpt2" "$OUT.tmp/models--gpt2"
# Files identical to the kept cache's (an edit of the generator that changes no output): the
# kept files stay, so do their modification times, which the front end's program cache keys on.
if [[ -f "$OUT/.stamp" ]] && diff -r --no-dereference -x .stamp "$OUT.tmp" "$OUT" >/dev/null; then
  echo "$stamp" > "$OUT/.stamp.tmp" && mv "$OUT/.stamp.tmp" "$OUT/.stamp"
  rm -rf "$OUT.tmp"
  echo "hf_test_cache: $OUT made again, the same files: kept, stamp updated"
  exit 0
fi
echo "$stamp" > "$OUT.tmp/.stamp"
rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
echo "hf_test_cache: wrote $OUT"

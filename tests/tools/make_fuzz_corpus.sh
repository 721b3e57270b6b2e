#!/usr/bin/env bash
# Builds the fuzz targets' corpora (tests/fuzz) from the test fixtures and small models
# exported for the purpose. Cached: redone only when this script changes.
#
#   tests/tools/make_fuzz_corpus.sh MODELEXPORT_BINARY FIXTURE_DIR OUTDIR
#
# OUTDIR/<target>/ for the targets zip_directory, torch_export, onnx_reading, graphml and
# tokenizer. Needs $MODELEXPORT_VENV_PYTHON (torch 2.x) for the .pt2 files.
set -euo pipefail
[[ $# -eq 3 ]] || { sed -n '2,9p' "$0" >&2; exit 2; }
BINARY="$1" FIXTURES="$2" OUT="$3"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYTHON="${MODELEXPORT_VENV_PYTHON:-$ROOT/.venv/bin/python}"

stamp="$OUT/.made-by"
wanted="$(sha256sum "$0" | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
  echo "fuzz corpus: up to date in $OUT"
  exit 0
fi
rm -rf "$OUT"
work="$OUT/.work"
mkdir -p "$work/onnx" "$OUT"/{zip_directory,torch_export,onnx_reading,graphml,tokenizer}

# TorchScript and torch.export archives: the scripted fixture and the .pt2 test files.
"$PYTHON" "$ROOT/tests/tools/make_pt2_inputs.py" "$work/pt2" >/dev/null
cp "$FIXTURES/custom_scripted.pt" "$work/pt2"/*.pt "$work/pt2"/*.pt2 "$OUT/zip_directory/"
cp "$work/pt2"/*.pt2 "$OUT/torch_export/"
# Inputs of past findings, derived from blocks.pt2 (a weight without strides; strides
# whose products overflow int64).
rewrite="$ROOT/tests/tools/rewrite_zip_record.py"
config=model_weights_config.json
python3 "$rewrite" "$work/pt2/blocks.pt2" "$config" '"strides"' '"strites"' "$OUT/torch_export/finding_no_strides.pt2"
python3 "$rewrite" "$work/pt2/blocks.pt2" "$config" '"strides": [{"as_int": 1}]' \
  '"strides": [{"as_int": 4611686018427387904}]' "$OUT/torch_export/finding_stride_overflow.pt2"

# ONNX files of our exporter (stamps, hierarchy attributes) and their GraphML forms.
"$BINARY" export "$work/pt2/blocks.pt" "$work/onnx/blocks.onnx" --input-shape 2,5,6 --with-graphml >/dev/null
"$BINARY" export "$work/pt2/blocks.pt2" "$work/onnx/blocks_pt2.onnx" --hierarchy-attrs >/dev/null
"$BINARY" export "$FIXTURES/custom_scripted.pt" "$work/onnx/custom_scripted.onnx" >/dev/null
cp "$work/onnx"/*.onnx "$OUT/onnx_reading/"
# Input of a past finding: tags that are not UTF-8 (ONNX strings need not be).
python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); open(sys.argv[2], "wb").write(d.replace(b"/Blocks", b"/Bl\xffcks"))' \
  "$work/onnx/blocks.onnx" "$OUT/onnx_reading/finding_tags_not_utf8.onnx"
# A GraphML bundle: the GraphML first, then its data and metadata files by name.
bundle() {
  local graphml="$1"; shift
  cat "$graphml"
  for f in "$@"; do printf '\n%%%%file %s\n' "$(basename "$f")"; cat "$f"; done
}
bundle "$work/onnx/blocks_hierarchical_graph.graphml" "$work/onnx/blocks_hierarchical_graph.onnxdata" \
  "$work/onnx/blocks_htp_metadata.json" > "$OUT/graphml/blocks.bundle"

# Tokenizer directories as bundles (the first file is vocab.txt).
data="$ROOT/tests/data/tokenizers"
cp "$data/wordpiece/vocab.txt" "$OUT/tokenizer/wordpiece.bundle"
{ printf '%%%%file vocab.json\n'; cat "$data/bpe/vocab.json"; printf '\n%%%%file merges.txt\n'; cat "$data/bpe/merges.txt"; } \
  > "$OUT/tokenizer/bpe.bundle"

rm -rf "$work"
echo "$wanted" > "$stamp"
for d in "$OUT"/*/; do echo "fuzz corpus: $(ls "$d" | wc -l) inputs in $d"; done

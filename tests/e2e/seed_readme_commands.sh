#!/usr/bin/env bash
# The commands of the seed README (the Python tool this one replaces), verbatim but for
# their `uv run ` prefix, on a Hugging Face cache made by tests/tools/make_hf_cache.py
# with tiny random-weight models under the seed's names (prajjwal1/bert-tiny, gpt2).
#
#   seed_readme_commands.sh BUILD_DIR HF_CACHE WORK_DIR VENV_PYTHON [PROGRAM_CACHE]
#
# `modelexport` is the build's binary (put first on PATH); every command must exit 0
# (validate: 0 = valid) and write what the seed says it writes.
#
# PROGRAM_CACHE (ctest's generate_hf_programs, tests/tools/make_hf_programs.py) holds the
# front end's programs of some of these exports, made in one process; the test's own
# program cache starts with them (hard links), so those exports reuse them. The others
# (./my_local_model, the last bert-tiny export with its own text and shape) run the
# front end as a subprocess, as any export of a model not seen before.
set -euo pipefail
BUILD_DIR="$1"; HF_CACHE="$2"; WORK="$3"; VENV_PYTHON="$4"; PROGRAMS="${5:-}"
export PATH="$BUILD_DIR:$PATH" HF_HUB_CACHE="$HF_CACHE" HF_HUB_OFFLINE=1
export MODELEXPORT_PYTHON="$VENV_PYTHON" MODELEXPORT_CACHE="$WORK/program-cache"
rm -rf "$WORK" && mkdir -p "$WORK/program-cache" && cd "$WORK"
if [[ -n "$PROGRAMS" ]]; then cp -al "$PROGRAMS/programs" "$WORK/program-cache/programs"; fi

step() { printf '\n$ %s\n' "$*"; "$@"; }
expect_file() { [[ -s "$1" ]] || { echo "FAIL: $1 was not written"; exit 1; }; }

# Basic Usage
step modelexport export prajjwal1/bert-tiny bert_with_hierarchy.onnx
step modelexport export prajjwal1/bert-tiny bert_custom.onnx \
  --input-text "This is a custom input for BERT model testing"
step modelexport export prajjwal1/bert-tiny bert_shapes.onnx \
  --input-shape 1,256 --input-text "Longer sequence example"
step modelexport analyze bert_with_hierarchy.onnx
step modelexport validate bert_with_hierarchy.onnx --check-consistency

# export examples
step modelexport export prajjwal1/bert-tiny my_bert.onnx
step modelexport export prajjwal1/bert-tiny bert_custom.onnx \
  --input-text "The quick brown fox jumps over the lazy dog" \
  --input-shape 1,64
step modelexport export gpt2 gpt2_model.onnx \
  --input-text "Once upon a time" \
  --opset-version 15
# A local model directory: the snapshot as a save_pretrained directory would hold it.
cp -rL "$HF_CACHE/models--prajjwal1--bert-tiny/snapshots/"* ./my_local_model
step modelexport export ./my_local_model model.onnx \
  --temp-dir ./temp_exports
[[ -d ./temp_exports ]] || { echo "FAIL: --temp-dir ./temp_exports was not created"; exit 1; }
step modelexport export prajjwal1/bert-tiny bert.onnx --with-graphml
expect_file bert_hierarchical_graph.graphml
expect_file bert_hierarchical_graph.onnxdata
step modelexport export gpt2 gpt2_full.onnx \
  --with-graphml --verbose --with-report
expect_file gpt2_full_export_report.json

# analyze
cp bert_with_hierarchy.onnx bert_model.onnx
step modelexport analyze bert_model.onnx
step modelexport analyze bert_model.onnx \
  --output-format json \
  --output-file bert_analysis.json
expect_file bert_analysis.json
step modelexport analyze bert_model.onnx \
  --filter-tag "/BertModel/BertEncoder" \
  --output-format detailed

# validate
step modelexport validate bert_model.onnx
step modelexport validate bert_model.onnx --check-consistency
step modelexport validate bert_model.onnx \
  --check-consistency --repair

# compare: the seed's baseline is a plain torch.onnx.export of the same model. It is made
# once (~5 s of torch) and kept in BUILD_DIR/seed-baseline under a key of what makes it:
# the script below, the interpreter, torch's and transformers' versions and the snapshot.
BASELINE_SCRIPT=$(cat <<'PY'
import torch
from transformers import AutoModel, AutoTokenizer
model = AutoModel.from_pretrained('prajjwal1/bert-tiny')
tokenizer = AutoTokenizer.from_pretrained('prajjwal1/bert-tiny')
inputs = tokenizer('Natural language processing with transformers',
                  return_tensors='pt', max_length=128, padding='max_length', truncation=True)
model.eval()
torch.onnx.export(model, tuple(inputs.values()), 'bert_baseline.onnx',
                 input_names=list(inputs.keys()), output_names=['output'], dynamo=False)
PY
)
baseline_key=$( { printf '%s\n' "$BASELINE_SCRIPT"
                  "$VENV_PYTHON" -c 'import sys, importlib.metadata as m; print(sys.executable, sys.version, m.version("torch"), m.version("transformers"))'
                  (cd "$HF_CACHE/models--prajjwal1--bert-tiny/snapshots" && find -L . -type f | LC_ALL=C sort | xargs sha256sum)
                } | sha256sum | cut -c1-16)
BASELINE="$BUILD_DIR/seed-baseline/$baseline_key/bert_baseline.onnx"
if [[ ! -s "$BASELINE" ]]; then
  rm -rf "$BUILD_DIR/seed-baseline" && mkdir -p "$(dirname "$BASELINE")"
  "$VENV_PYTHON" -c "$BASELINE_SCRIPT"
  mv bert_baseline.onnx "$BASELINE"
fi
cp "$BASELINE" bert_baseline.onnx
cp bert_baseline.onnx baseline.onnx
cp bert_with_hierarchy.onnx tagged.onnx
step modelexport compare baseline.onnx tagged.onnx
cp bert_with_hierarchy.onnx model1.onnx
cp my_bert.onnx model2.onnx
step modelexport compare model1.onnx model2.onnx \
  --output-file comparison_report.json
expect_file comparison_report.json

# GraphML round trip
step modelexport import-onnx bert_hierarchical_graph.graphml bert_reconstructed.onnx \
  --validate
expect_file bert_reconstructed.onnx

# Enhanced auxiliary operations
step modelexport export prajjwal1/bert-tiny enhanced_bert.onnx --strategy htp
step modelexport validate enhanced_bert.onnx --check-consistency
step modelexport analyze enhanced_bert.onnx --filter-tag "auxiliary"

# Complete BERT example workflow
step modelexport export prajjwal1/bert-tiny bert_tiny_hierarchical.onnx \
  --input-text "Natural language processing with transformers" \
  --input-shape 1,128 \
  --verbose
step modelexport analyze bert_tiny_hierarchical.onnx \
  --output-format detailed \
  --output-file bert_analysis.json
step modelexport validate bert_tiny_hierarchical.onnx \
  --check-consistency
step modelexport compare bert_baseline.onnx bert_tiny_hierarchical.onnx \
  --output-file bert_comparison.json
expect_file bert_comparison.json
echo "seed README commands: all passed"

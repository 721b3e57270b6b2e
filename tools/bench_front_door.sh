# Sourced by tools/bench.sh --front-door (not run alone): export by Hugging Face name,
# modelexport against `optimum-cli export onnx --task ...`, on the tests' cache of tiny
# random-weight models (tests/tools/hf_test_cache.sh, BUILD_DIR/hf-cache), offline.
#
#   tools/bench.sh --front-door [--runs N] [--out FILE] [REPO...]
#
# Per model, whole processes under GNU time, N runs each (default 3), medians:
#   first:     modelexport export REPO OUT.onnx, with an empty program cache each run
#              (the Python front end runs: import, load, torch.export, save; then the
#              C++ pipeline);
#   re-export: modelexport export REPO OUT.onnx --opset-version 17 with the program
#              cached by the first export (no Python);
#   optimum:   optimum-cli export onnx --model REPO --task TASK --cache_dir CACHE DIR
#              (its --cache_dir default ignores HF_HUB_CACHE; optimum 2.1.0 +
#              optimum-onnx 0.1.0 from tools/bench-requirements.txt, installed into .venv
#              when missing), with --no-post-process left at its default.
# Writes a section of --out between <!-- front-door-bench --> markers (the rest of the
# file stays) and prints it. Uses bench.sh's time_fields, $WORK, $RUNS, $EXE, $OUT_FILE.

VENV_PYTHON="${VENV_PYTHON:-$ROOT/.venv/bin/python}"
HF_CACHE="$BUILD_DIR/hf-cache"
"$ROOT/tests/tools/hf_test_cache.sh" "$ROOT" "$HF_CACHE" "$VENV_PYTHON" >&2
if ! "$VENV_PYTHON" -c 'import optimum.exporters.onnx' 2>/dev/null; then
  echo "==> installing the peer: $VENV_PYTHON -m pip install -r tools/bench-requirements.txt" >&2
  "$VENV_PYTHON" -m pip install -q --disable-pip-version-check -r "$ROOT/tools/bench-requirements.txt" >&2
fi
OPTIMUM="$(dirname "$VENV_PYTHON")/optimum-cli"
((${#MODELS[@]})) || MODELS=(prajjwal1/bert-tiny gpt2 modelexport-test/tiny-llama modelexport-test/tiny-vit modelexport-test/tiny-bart)
export HF_HUB_CACHE="$HF_CACHE" HF_HUB_OFFLINE=1 MODELEXPORT_PYTHON="$VENV_PYTHON"

# The task optimum needs offline, from the manifest's Auto class.
task_of() {
  "$VENV_PYTHON" - "$HF_CACHE/manifest.json" "$1" <<'PY'
import json, sys
manifest = json.load(open(sys.argv[1]))
repo = sys.argv[2]
entry = manifest.get(repo) or manifest.get({"prajjwal1/bert-tiny": "modelexport-test/tiny-bert", "gpt2": "tiny-gpt2"}.get(repo, repo))
tasks = {"AutoModel": "feature-extraction", "AutoModelForCausalLM": "text-generation",
         "AutoModelForSeq2SeqLM": "text2text-generation", "AutoModelForImageClassification": "image-classification",
         "AutoModelForMaskedLM": "fill-mask", "AutoModelForSequenceClassification": "text-classification",
         "AutoModelForTokenClassification": "token-classification", "AutoModelForSemanticSegmentation": "semantic-segmentation",
         "AutoModelForCTC": "automatic-speech-recognition", "AutoModelForSpeechSeq2Seq": "automatic-speech-recognition"}
print(tasks.get(entry["auto_class"], "feature-extraction"))
PY
}

# run_median TAG SETUP_COMMAND -- COMMAND...: RUNS runs, SETUP before each; sets
# MED_SECS, MAX_RSS_MIB, STATUS.
run_median() {
  local tag="$1" setup="$2" i rc secs rss
  shift 3
  local times=() status=ok peak=0
  for ((i = 0; i < RUNS; i++)); do
    eval "$setup"
    sync
    rc=0
    /usr/bin/time -v -o "$WORK/time.txt" "$@" >"$WORK/$tag.out" 2>"$WORK/$tag.err" || rc=$?
    read -r secs rss < <(time_fields "$WORK/time.txt")
    ((rss > peak)) && peak=$rss
    if ((rc != 0)); then
      status="failed (exit $rc): $(grep -v '^\s*$' "$WORK/$tag.err" | tail -1 | cut -c1-160)"
      break
    fi
    times+=("$secs")
  done
  MED_SECS="$(printf '%s\n' "${times[@]}" | sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }')"
  MAX_RSS_MIB=$((peak / 1024))
  STATUS="$status"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || a == 0) print "-"; else printf "%.2fx", b / a }'; }

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
rows=()
for repo in "${MODELS[@]}"; do
  task="$(task_of "$repo")"
  name="${repo//\//_}"
  out="$WORK/$name"
  mkdir -p "$out"
  echo "==> $repo ($task): first export x$RUNS" >&2
  run_median "${name}_first" "rm -rf '$out/cache' '$out/a.onnx'" -- \
    env MODELEXPORT_CACHE="$out/cache" "$EXE" export "$repo" "$out/a.onnx"
  first=("$MED_SECS" "$MAX_RSS_MIB" "$STATUS")
  echo "==> $repo: re-export (opset 17) x$RUNS" >&2
  run_median "${name}_again" "rm -f '$out/b.onnx'" -- \
    env MODELEXPORT_CACHE="$out/cache" "$EXE" export "$repo" "$out/b.onnx" --opset-version 17
  again=("$MED_SECS" "$MAX_RSS_MIB" "$STATUS")
  echo "==> $repo: optimum-cli export onnx --task $task x$RUNS" >&2
  run_median "${name}_optimum" "rm -rf '$out/optimum'" -- \
    "$OPTIMUM" export onnx --model "$repo" --task "$task" --cache_dir "$HF_CACHE" "$out/optimum"
  optimum=("$MED_SECS" "$MAX_RSS_MIB" "$STATUS")
  nodes="$(grep -o '[0-9]* nodes, [0-9]* stamped' "$WORK/${name}_first.out" | head -1)"
  rows+=("| \`$repo\` | $task | ${first[0]} s / ${first[1]} MiB | ${again[0]} s / ${again[1]} MiB | ${optimum[0]} s / ${optimum[1]} MiB | $(ratio "${first[0]}" "${optimum[0]}") | $(ratio "${again[0]}" "${optimum[0]}") | ${nodes:-} |")
  for s in "${first[2]}" "${again[2]}" "${optimum[2]}"; do
    [[ "$s" == ok ]] || rows+=("| | | $s | | | | | |")
  done
done
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"

section="$WORK/front_door.md"
{
  echo "<!-- front-door-bench -->"
  echo "## Export by Hugging Face name: modelexport vs optimum-cli"
  echo
  echo "\`tools/bench.sh --front-door --runs $RUNS\`, $(date -u +%Y-%m-%d), $(nproc) cores; medians of $RUNS whole-process runs, peak RSS the highest. Models: the tests' tiny random-weight caches (tests/tools/make_hf_cache.py), offline. *first*: an empty program cache, so the Python front end runs (import torch + transformers, load, \`torch.export\`, save) before the C++ pipeline; *re-export*: the same model again with other options (\`--opset-version 17\`), the program reused, no Python; *optimum*: \`optimum-cli export onnx --model REPO --task TASK\` (optimum 2.1.0, optimum-onnx 0.1.0, torch 2.13, transformers $("$VENV_PYTHON" -c 'import transformers; print(transformers.__version__)')). Ratios: optimum's time over ours (above 1x: we are faster). Load average at start / end: $LOAD_START / $LOAD_END."
  echo
  echo "| model | task | ours, first | ours, re-export | optimum | first vs optimum | re-export vs optimum | our nodes |"
  echo "|---|---|---:|---:|---:|---:|---:|---|"
  printf '%s\n' "${rows[@]}"
  echo "<!-- /front-door-bench -->"
} >"$section"
cat "$section"
if [[ -f "$OUT_FILE" ]] && grep -q '<!-- front-door-bench -->' "$OUT_FILE"; then
  awk -v f="$section" '/<!-- front-door-bench -->/ { while ((getline l < f) > 0) print l; skip = 1; next }
                       /<!-- \/front-door-bench -->/ { skip = 0; next } !skip' "$OUT_FILE" >"$WORK/out.md"
else
  { cat "$section"; echo; [[ -f "$OUT_FILE" ]] && cat "$OUT_FILE"; } >"$WORK/out.md"
fi
cp "$WORK/out.md" "$OUT_FILE"
echo "bench.sh: wrote $OUT_FILE" >&2

# Sourced by tools/bench.sh --scaling (not run alone): export cost against model size.
#
#   tools/bench.sh --scaling [--runs N] [--out FILE] [MODEL...]
#
# Uses bench.sh's measure/time_fields, $WORK, $RES, $EXE, $RUNS, $MODELS, $OUT_FILE. MODEL
# is a tools/make_big_llama_pt2.py preset (default: 20m 100m 672m 7b): a Llama-shaped
# .pt2 with random weights (float32; 7b float16), made in bounded memory and cached in
# SCALING_DIR (default BUILD_DIR/scaling; 7b needs ~14 GB there and ~14 GB more for its
# export). For each, whole processes under GNU time, page cache warm, `sync` before each:
#   cp:      cp MODEL.pt2 COPY                                     (--runs times, median)
#   ours:    modelexport export MODEL.pt2 OUT.onnx -v              (--runs times, median;
#            runs alternate with cp's: paired_measure)
#            then onnx.checker.check_model(OUT.onnx, full_check=True) once (the path form:
#            external data above 1.9 GB);
#   dynamo:  make_big_llama_pt2.py --dynamo (torch.onnx.export(dynamo=True) of the same
#            model built in memory), once, for the presets in SCALING_DYNAMO (default
#            "20m 100m 672m": 7b in float16 does not fit with its copies).
# Each run writes a new file (the previous run's output removed first). Medians of wall
# time; peak RSS the highest of the runs. Writes its section of --out
# between <!-- scaling-bench --> markers (the rest of the file stays) and prints it.

VENV_PYTHON="${VENV_PYTHON:-$ROOT/.venv/bin/python}"
MAKER="$ROOT/tools/make_big_llama_pt2.py"
SCALING_DIR="${SCALING_DIR:-$BUILD_DIR/scaling}"
SCALING_DYNAMO="${SCALING_DYNAMO:-20m 100m 672m}"
mkdir -p "$SCALING_DIR"
[[ -x "$VENV_PYTHON" ]] || { echo "bench.sh --scaling: $VENV_PYTHON not found" >&2; exit 1; }
[[ "${MODELS[*]}" == _scaling_default ]] && MODELS=(20m 100m 672m 7b)

# median() of the numbers on stdin.
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# paired_measure RUNS MODEL_FILE: cp and our export, alternating run by run (cp first), so
# both meet the same page cache and the same state of the machine's memory (on this VM a
# write into pages freshly handed back by the host costs up to 5x one into recently freed
# pages, which would favour whichever tool ran second in blocks of runs). Each run writes
# a new file: the previous outputs are removed first. Sets CP_SECS, OURS_SECS (medians),
# OURS_RSS (highest KiB), OURS_STATUS; the last export's stderr is $WORK/ours.err.
paired_measure() {
  local runs="$1" f="$2" i
  local -a cp_times=() ours_times=()
  OURS_RSS=0 OURS_STATUS=ok CP_SECS="-" OURS_SECS="-"
  for ((i = 0; i < runs; i++)); do
    rm -rf "$WORK/copy.pt2" "$WORK/ours"
    measure cp 1 cp "$f" "$WORK/copy.pt2"
    [[ "$M_STATUS" == ok ]] && cp_times+=("$M_SECS")
    rm -f "$WORK/copy.pt2"
    mkdir -p "$WORK/ours"
    measure ours 1 "$EXE" export "$f" "$WORK/ours/model.onnx" -v
    ((M_RSS > OURS_RSS)) && OURS_RSS=$M_RSS
    if [[ "$M_STATUS" != ok ]]; then OURS_STATUS="$M_STATUS"; OURS_SECS="$M_SECS"; return 0; fi
    ours_times+=("$M_SECS")
  done
  ((${#cp_times[@]})) && CP_SECS="$(printf '%s\n' "${cp_times[@]}" | median)"
  OURS_SECS="$(printf '%s\n' "${ours_times[@]}" | median)"
}

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
: >"$RES/scaling.tsv"
for model in "${MODELS[@]}"; do
  dtype=float32
  [[ "$model" == 7b ]] && dtype=float16
  f="$SCALING_DIR/llama_$model.$dtype.pt2"
  if [[ ! -f "$f" ]]; then
    echo "==> $model: making $f" >&2
    "$VENV_PYTHON" "$MAKER" "$f" --preset "$model" --dtype "$dtype" >/dev/null 2>"$WORK/make.err" ||
      { tail -5 "$WORK/make.err" >&2; exit 1; }
  fi
  params="$("$VENV_PYTHON" "$MAKER" x --preset "$model" --info 2>/dev/null)"
  bytes="$(stat -c %s "$f")"
  WARM_FILE="$f"

  echo "==> $model: cp and modelexport export, alternating, x$RUNS" >&2
  paired_measure "$RUNS" "$f"
  cp_secs="$CP_SECS" ours_secs="$OURS_SECS" ours_rss="$OURS_RSS" ours_status="$OURS_STATUS"
  grep -E '^\[' "$WORK/ours.err" >"$RES/$model.stages" || true
  checker="-"
  if [[ "$ours_status" == ok ]]; then
    checker="$("$VENV_PYTHON" -c 'import onnx, sys
onnx.checker.check_model(sys.argv[1], full_check=True)
print("pass")' "$WORK/ours/model.onnx" 2>&1 | tail -1)"
    [[ -f "$WORK/ours/model.onnx.data" ]] && checker="$checker (external data)"
  fi
  rm -rf "$WORK/ours"

  dyn_secs="-" dyn_rss="-" dyn_status="not run"
  if [[ " $SCALING_DYNAMO " == *" $model "* ]]; then
    echo "==> $model: torch.onnx.export(dynamo=True) x1" >&2
    mkdir -p "$WORK/dyn"
    WARM_FILE=""
    measure dynamo 1 "$VENV_PYTHON" "$MAKER" "$WORK/dyn/model.onnx" --preset "$model" --dtype "$dtype" --dynamo
    dyn_secs="$M_SECS" dyn_rss="$M_RSS" dyn_status="$M_STATUS"
    rm -rf "$WORK/dyn"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$model" "$dtype" "$params" "$bytes" "$cp_secs" \
    "$ours_secs" "$ours_rss" "$ours_status" "$checker" "$dyn_secs" "$dyn_rss" "$dyn_status" >>"$RES/scaling.tsv"
done
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"

section="$WORK/scaling.md"
{
  echo "<!-- scaling-bench -->"
  echo "## Scaling: export cost against model size"
  echo
  echo "| model | parameters | .pt2 | cp | modelexport (wall / peak RSS) | vs cp | checker | dynamo exporter (wall / peak RSS) | dynamo / ours |"
  echo "|---|---:|---:|---:|---:|---:|---|---:|---:|"
  awk -F'\t' '{
    gb = $4 / 1e9
    ours = ($8 == "ok") ? sprintf("%.2f s / %d MiB", $6, $7 / 1024) : $8
    vs = ($8 == "ok" && $5 > 0) ? sprintf("%.2fx", $6 / $5) : "-"
    dyn = ($12 == "ok") ? sprintf("%.1f s / %d MiB", $10, $11 / 1024) : $12
    ratio = ($12 == "ok" && $8 == "ok") ? sprintf("%.1fx", $10 / $6) : "-"
    printf "| llama_%s (%s) | %.0fM | %.2f GB | %.2f s | %s | %s | %s | %s | %s |\n", $1, $2, $3 / 1e6, gb, $5, ours, vs, $9, dyn, ratio
  }' "$RES/scaling.tsv"
  echo
  echo "Written by \`tools/bench.sh --scaling --runs $RUNS ${MODELS[*]}\` ($(date -u '+%Y-%m-%d %H:%M UTC'), checkout $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')). Machine: $(nproc) CPUs, $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM; load average $LOAD_START before, $LOAD_END after. Medians of $RUNS runs, cp and ours alternating run by run (dynamo: one run); \`sync\` and the model file read into the page cache before each run; peak RSS from GNU time."
  echo
  echo "Stages of our export (\`-v\`, the last run):"
  echo
  for model in "${MODELS[@]}"; do
    echo "**llama_$model**"
    echo
    echo '```'
    cat "$RES/$model.stages" 2>/dev/null
    echo '```'
    echo
  done
  echo "<!-- /scaling-bench -->"
} >"$section"

if [[ -f "$OUT_FILE" ]] && grep -q '<!-- scaling-bench -->' "$OUT_FILE"; then
  awk -v sec="$section" '
    /<!-- scaling-bench -->/ { while ((getline line < sec) > 0) print line; skip = 1; next }
    /<!-- \/scaling-bench -->/ { skip = 0; next }
    !skip { print }' "$OUT_FILE" >"$WORK/out.md"
  cp "$WORK/out.md" "$OUT_FILE"
else
  { [[ -f "$OUT_FILE" ]] && cat "$OUT_FILE" && echo; cat "$section"; } >"$WORK/out.md"
  cp "$WORK/out.md" "$OUT_FILE"
fi
cat "$section"

#!/usr/bin/env bash
# Benchmark: modelexport vs PyTorch's torch.onnx.export on the same weights.
#
#   tools/bench.sh [--runs N] [--out FILE] [MODEL...]
#
# Generates the fixtures into build/fixtures (tools/make_fixtures.py, cached), then for
# each model (default: bert_tiny resnet18 gpt2_tiny) times, with GNU time,
#   ours:       build/modelexport export FIXTURE.pt OUT.onnx [fixture cli_args] -v
#   torch.onnx: tools/torch_onnx_reference.py (torch.onnx.export of the eager model
#               rebuilt in Python with the fixture's weights)
# Both are whole commands: process start, library load, model load, export, write.
# Each is run N times (default 3); the table keeps the fastest run's wall time and its
# peak RSS. Writes a markdown report (default docs/PERFORMANCE.md) and prints it.
# Environment: BUILD_DIR (default build), MODELEXPORT_EXE (default BUILD_DIR/modelexport).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
EXE="${MODELEXPORT_EXE:-$BUILD_DIR/modelexport}"
PYTHON=/usr/bin/python3
RUNS=3
OUT_FILE="$ROOT/docs/PERFORMANCE.md"
MODELS=()
while (($#)); do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --out) OUT_FILE="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
    *) MODELS+=("$1"); shift ;;
  esac
done
((${#MODELS[@]})) || MODELS=(bert_tiny resnet18 gpt2_tiny)
[[ -x "$EXE" ]] || { echo "bench.sh: $EXE not found; run ./scripts/setup.sh first" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "bench.sh: /usr/bin/time (package 'time') is missing" >&2; exit 1; }

FIXTURES="$BUILD_DIR/fixtures"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/modelexport-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

only="$(IFS=,; echo "${MODELS[*]}")"
echo "==> fixtures ($only) in $FIXTURES"
"$PYTHON" "$ROOT/tools/make_fixtures.py" "$FIXTURES" --only "$only" >&2

# GNU time -v report -> "seconds peak_kib"
time_fields() {
  awk -F': ' '
    /Elapsed \(wall clock\) time/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i] }
    /Maximum resident set size/ { rss = $2 }
    END { printf "%.2f %d\n", s, rss }' "$1"
}

# Runs a command RUNS times; prints "best_seconds peak_kib_of_that_run"; the last run's
# stderr stays in $WORK/last.err.
measure() {
  local best="" bestRss=0 i secs rss
  for ((i = 0; i < RUNS; i++)); do
    /usr/bin/time -v -o "$WORK/time.txt" "$@" >"$WORK/last.out" 2>"$WORK/last.err" || {
      echo "bench.sh: failed: $*" >&2; cat "$WORK/last.err" >&2; return 1; }
    read -r secs rss < <(time_fields "$WORK/time.txt")
    if [[ -z "$best" ]] || awk -v a="$secs" -v b="$best" 'BEGIN { exit !(a < b) }'; then
      best="$secs"; bestRss="$rss"
    fi
  done
  echo "$best $bestRss"
}

mib() { awk -v k="$1" 'BEGIN { printf "%.0f MiB", k / 1024 }'; }
size_mib() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

table="| model | ours (s) | ours, stages only (s) | torch.onnx (s) | ours / torch.onnx | our peak RSS | torch.onnx peak RSS | ONNX size (ours) |
|---|---:|---:|---:|---:|---:|---:|---:|"
stages=""
for model in "${MODELS[@]}"; do
  pt="$FIXTURES/$model.pt"
  [[ -f "$pt" ]] || { echo "bench.sh: no fixture $pt" >&2; exit 1; }
  mapfile -t cli_args < <("$PYTHON" -c 'import json,sys; [print(a) for a in json.load(open(sys.argv[1]))[sys.argv[2]]["cli_args"]]' "$FIXTURES/fixtures.json" "$model")
  echo "==> $model: modelexport export x$RUNS" >&2
  read -r ours oursRss < <(measure "$EXE" export "$pt" "$WORK/$model.onnx" "${cli_args[@]}" -v)
  stageLines="$(grep -E '^\[' "$WORK/last.err" || true)"
  stageSum="$(printf '%s\n' "$stageLines" | awk '{ sub(/^\[[^]]*\] */, ""); s += $1 } END { printf "%.2f", s }')"
  echo "==> $model: torch.onnx.export x$RUNS" >&2
  read -r theirs theirsRss < <(measure "$PYTHON" "$ROOT/tools/torch_onnx_reference.py" \
    --fixture "$model" --pt "$pt" --out "$WORK/${model}_torch.onnx" --quiet)
  ratio="$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')"
  table+=$'\n'"| $model | $ours | $stageSum | $theirs | $ratio | $(mib "$oursRss") | $(mib "$theirsRss") | $(size_mib "$WORK/$model.onnx") |"
  stages+=$'\n'"**$model** (\`modelexport export ${cli_args[*]:+${cli_args[*]} }-v\`, last run):"$'\n\n```\n'"$stageLines"$'\n```\n'
done

cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
mem="$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
load="$(cut -d' ' -f1-3 /proc/loadavg)"
report="# Performance

Written by \`tools/bench.sh\` ($(date -u +%Y-%m-%d), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)).

Machine: $(nproc) CPUs ($cpu), $mem RAM, $(. /etc/os-release && echo "$PRETTY_NAME"); load average
when the run ended: $load (other jobs were running: absolute times are noisy, the
ratio less so). LibTorch $("$PYTHON" -c 'import torch; print(torch.__version__)') (Debian), best of $RUNS runs.

Both columns time the whole command with GNU time: process start, loading LibTorch or
Python + torch, loading the model, exporting, writing the file. torch.onnx is
\`tools/torch_onnx_reference.py\`: \`torch.onnx.export\` (opset 14, constant folding) of
the eager model rebuilt in Python with the fixture's weights. \"stages only\" is the
sum of our \`-v\` stage times (load to write): the rest of our wall time is process
start-up, mostly loading LibTorch's shared libraries.

$table

Per-stage times of our export (\`-v\`):
$stages"
printf '%s\n' "$report" > "$OUT_FILE"
printf '%s\n' "$report"
echo "==> wrote $OUT_FILE" >&2

# Sourced by tools/bench.sh --hf (not run alone): modelexport vs torch 2.13's two ONNX
# exporters on Hugging Face models built from configs.
#
#   tools/bench.sh --hf [--runs N] [--out FILE] [MODEL...]
#
# Uses bench.sh's measure/record/time_fields/manifest_info, $WORK, $RES, $EXE, $RUNS,
# $MODELS, $OUT_FILE, $BASELINE and $FIXTURES. For each MODEL (a tools/hf_models.py model
# or a bigger config of tools/torch2_onnx_reference.py):
#   files:       BUILD_DIR/hf-bench/MODEL.KEY.pt and .pt2, made by
#                torch2_onnx_reference.py --make (hf_models.py's generate()), cached;
#   ours pt:     modelexport export MODEL.pt OUT.onnx --input-spec ... -v   (best of --runs)
#   ours pt2:    modelexport export MODEL.pt2 OUT.onnx -v                   (best of --runs)
#   torchscript: torch2_onnx_reference.py --model MODEL --torchscript --stages   (one run)
#   dynamo:      torch2_onnx_reference.py --model MODEL --dynamo --stages        (one run)
# Start-up: `modelexport export --help` and the trivial export ($BASELINE) of bench.sh.

VENV_PYTHON="${VENV_PYTHON:-$ROOT/.venv/bin/python}"
REF="$ROOT/tools/torch2_onnx_reference.py"
HF_DIR="$BUILD_DIR/hf-bench"
mkdir -p "$HF_DIR"
[[ -x "$VENV_PYTHON" ]] || { echo "bench.sh --hf: $VENV_PYTHON not found" >&2; exit 1; }
HF_KEY="$(cat "$REF" "$ROOT/tools/hf_models.py" | sha256sum | cut -c1-12)-$("$VENV_PYTHON" -c 'import torch, transformers; print(torch.__version__ + "-" + transformers.__version__)')"

mapfile -t base_info < <(manifest_info "$BASELINE")
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
WARM_FILE="$FIXTURES/$BASELINE.pt"
echo "==> start-up: modelexport export --help, trivial export ($BASELINE) x$RUNS" >&2
measure startup_help "$RUNS" "$EXE" export --help
record _startup help "$RUNS"
mkdir -p "$WORK/out"
measure startup_trivial "$RUNS" "$EXE" export "$FIXTURES/$BASELINE.pt" "$WORK/out/$BASELINE.onnx" "${base_info[@]:1}" -v
record _startup trivial "$RUNS"
rm -rf "$WORK/out"
printf '%s\n' "$(manifest_info "$BASELINE" | head -1)" >"$RES/_baseline.bytes"

for model in "${MODELS[@]}"; do
  "$VENV_PYTHON" "$REF" --info "$model" >"$RES/$model.info" 2>/dev/null
  for fmt in pt pt2; do
    f="$HF_DIR/$model.$HF_KEY.$fmt"
    if [[ ! -f "$f" ]]; then
      echo "==> $model: making $f" >&2
      "$VENV_PYTHON" "$REF" --make "$model" "$fmt" "$f.tmp" >/dev/null 2>"$WORK/make.err" ||
        { tail -5 "$WORK/make.err" >&2; exit 1; }
      mv "$f.tmp" "$f"
    fi
  done
  read -r -a spec < <("$VENV_PYTHON" -c 'import json, sys; print(" ".join(json.load(open(sys.argv[1]))["spec"]))' "$RES/$model.info")
  for fmt in pt pt2; do
    f="$HF_DIR/$model.$HF_KEY.$fmt"
    WARM_FILE="$f"
    extra=()
    [[ "$fmt" == pt ]] && extra=("${spec[@]}")
    mkdir -p "$WORK/ours"
    echo "==> $model: modelexport export .$fmt x$RUNS" >&2
    measure "ours_$fmt" "$RUNS" "$EXE" export "$f" "$WORK/ours/$model.onnx" "${extra[@]}" -v
    record "$model" "ours_$fmt" "$RUNS"
    grep -E '^\[' "$WORK/ours_$fmt.err" >"$RES/$model.ours_$fmt.stages" || true
    rm -rf "$WORK/ours"
  done
  WARM_FILE=""
  for peer in torchscript dynamo; do
    mkdir -p "$WORK/peer"
    echo "==> $model: torch.onnx.export ($peer) x1" >&2
    measure "$peer" 1 "$VENV_PYTHON" "$REF" --model "$model" --out "$WORK/peer/$model.onnx" "--$peer" --stages
    record "$model" "$peer" 1
    grep -E '^\[' "$WORK/$peer.out" >"$RES/$model.$peer.stages" || true
    rm -rf "$WORK/peer"
  done
done
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"

export BENCH_DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"
export BENCH_COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
export BENCH_NPROC="$(nproc)" BENCH_CPU="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
export BENCH_MEM_KIB="$mem_total_kib" BENCH_OS="$(. /etc/os-release && echo "$PRETTY_NAME")"
export BENCH_VERSIONS="$("$VENV_PYTHON" -c 'import torch, transformers, onnx, onnxscript; print("torch %s, transformers %s, onnx %s, onnxscript %s" % (torch.__version__, transformers.__version__, onnx.__version__, onnxscript.__version__))')"
export BENCH_LIBTORCH="$(ldd "$(dirname "$EXE")/libmodelexport_export.so" 2>/dev/null | awk '/libtorch_cpu/ { print $3; exit }')"
export BENCH_RUNS="$RUNS" BENCH_MODELS="${MODELS[*]}" BENCH_LOAD_START="$LOAD_START" BENCH_LOAD_END="$LOAD_END"
export BENCH_BASELINE="$BASELINE" BENCH_CMD="tools/bench.sh --hf --runs $RUNS ${MODELS[*]}"
"$VENV_PYTHON" - "$RES" >"$WORK/hf.md" <<'PY'
import json
import os
import sys

res = sys.argv[1]
env = os.environ
M = {}
for line in open(os.path.join(res, "measure.tsv")):
    model, tool, secs, rss, runs, status = line.rstrip("\n").split("\t")
    M[model, tool] = {"secs": float(secs or 0), "rss": int(rss) * 1024, "ok": status == "ok", "status": status}


def cell(m):
    if not m:
        return "-"
    if not m["ok"]:
        return "**%s** (%.0f s)" % (m["status"], m["secs"])
    return "%.2f s / %.0f MiB" % (m["secs"], m["rss"] / 2**20)


help_, triv = M.get(("_startup", "help")), M.get(("_startup", "trivial"))
startup_rss = triv["rss"] if triv and triv["ok"] else 0
out = []
w = out.append
w("<!-- hf-bench begin -->")
w("## torch 2.13 peers: modelexport vs torch.onnx.export(dynamo=False) and (dynamo=True)")
w("")
w("Written by `%s` (%s, checkout %s). Machine: %s CPUs (%s), %.1f GiB RAM, %s; load average"
  " %s before the first run, %s after the last. Python side (.venv): %s. The binary links"
  " LibTorch 2.13 (`%s`)."
  % (env["BENCH_CMD"], env["BENCH_DATE"], env["BENCH_COMMIT"], env["BENCH_NPROC"], env["BENCH_CPU"],
     int(env["BENCH_MEM_KIB"]) / 2**20, env["BENCH_OS"], env["BENCH_LOAD_START"], env["BENCH_LOAD_END"],
     env["BENCH_VERSIONS"], env["BENCH_LIBTORCH"] or "?"))
w("")
w("Whole processes under GNU time (`/usr/bin/time -v`): wall time and peak RSS. **ours .pt / .pt2**:"
  " `modelexport export MODEL.pt|.pt2 OUT.onnx -v` on the files tools/hf_models.py's generate() makes"
  " (torch.jit.trace / torch.export, made once, not timed), fastest of %s runs. **TorchScript** and"
  " **dynamo**: `tools/torch2_onnx_reference.py --model MODEL --torchscript|--dynamo`: Python start-up,"
  " `import torch, transformers`, building the same model from its config with the same seed, and"
  " `torch.onnx.export(..., dynamo=False, opset_version=14)` or `(..., dynamo=True)` (its default"
  " opset, with its ONNX optimizer) and the save; one run each. Speed-ups are peer / ours, with"
  " ours the slower of its two formats." % env["BENCH_RUNS"])
w("")
if help_ and triv:
    w("LibTorch 2.13 start-up: `modelexport export --help` %.2f s, peak RSS %.0f MiB; a trivial"
      " export (`%s`, 0.1 MiB of weights) %.2f s, peak RSS %.0f MiB. RSS target: peak RSS <="
      " 1.5 x weight bytes + %.0f MiB."
      % (help_["secs"], help_["rss"] / 2**20, env["BENCH_BASELINE"], triv["secs"], triv["rss"] / 2**20,
         startup_rss / 2**20))
    w("")
w("| model | parameters | weights | ours .pt (wall / peak RSS) | ours .pt2 | TorchScript exporter |"
  " dynamo exporter | speed-up vs TorchScript (target 5x) | speed-up vs dynamo (target 20x) |"
  " RSS target (ours, both formats) |")
w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
misses = []
for model in env["BENCH_MODELS"].split():
    info = json.load(open(os.path.join(res, model + ".info")))
    wb = info["weight_bytes"]
    pt, pt2 = M.get((model, "ours_pt")), M.get((model, "ours_pt2"))
    ts, dy = M.get((model, "torchscript")), M.get((model, "dynamo"))
    ours_ok = [m for m in (pt, pt2) if m and m["ok"]]
    ours = max((m["secs"] for m in ours_ok), default=None)
    sp = []
    for peer, target, label in ((ts, 5, "TorchScript"), (dy, 20, "dynamo")):
        if ours and peer and peer["ok"]:
            f = peer["secs"] / ours
            sp.append("%.1fx%s" % (f, "" if f >= target else " (**below %dx**)" % target))
            if f < target:
                misses.append("%s vs %s %.1fx" % (model, label, f))
        else:
            sp.append("n/a")
    budget = 1.5 * wb + startup_rss
    peak = max((m["rss"] for m in ours_ok), default=0)
    rss = ("%s: %.0f %s %.0f MiB" % ("yes" if peak <= budget else "**NO**", peak / 2**20,
                                    "<=" if peak <= budget else ">", budget / 2**20)) if ours_ok else "n/a"
    w("| %s | %.2fM | %.1f MiB | %s | %s | %s | %s | %s | %s | %s |"
      % (model, info["parameters"] / 1e6, wb / 2**20, cell(pt), cell(pt2), cell(ts), cell(dy), sp[0], sp[1], rss))
w("")
w("Targets not met: %s." % ("; ".join(misses) if misses else "none"))
w("")
w("Stage lines (ours: `-v` of the fastest run; peers: `--stages`, seconds and peak RSS so far):")
w("")
for model in env["BENCH_MODELS"].split():
    w("**%s**" % model)
    w("")
    w("```")
    for tool in ("ours_pt", "ours_pt2", "torchscript", "dynamo"):
        try:
            lines = open(os.path.join(res, "%s.%s.stages" % (model, tool))).read().rstrip("\n")
        except OSError:
            lines = ""
        w("%s:" % tool)
        w(lines or "(none)")
    w("```")
    w("")
w("<!-- hf-bench end -->")
print("\n".join(out))
PY
"$VENV_PYTHON" - "$WORK/hf.md" "$OUT_FILE" <<'PY'
import os
import re
import sys

section = open(sys.argv[1]).read().rstrip("\n") + "\n"
path = sys.argv[2]
text = open(path).read() if os.path.exists(path) else "# Performance\n"
text = re.sub(r"<!-- hf-bench begin -->.*?<!-- hf-bench end -->\n*", "", text, flags=re.S)
head, sep, rest = text.partition("\n")
if head.startswith("# "):
    text = head + "\n\n" + section + "\n" + rest.lstrip("\n")
else:
    text = "# Performance\n\n" + section + "\n" + text
open(path, "w").write(text)
PY
cat "$WORK/hf.md"
echo "==> wrote the --hf section at the top of $OUT_FILE" >&2

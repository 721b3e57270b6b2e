#!/usr/bin/python3
"""Coverage zoo: export many models with modelexport and verify each one.

Usage:
    /usr/bin/python3 tools/zoo.py --out build/zoo [--only a,b] [--binary build/modelexport]
        [--doc docs/COVERAGE.md | --no-doc] [--timeout SECONDS] [--list] [--force]
        [--dynamic-batch N]

Models (see zoo_specs()):
    every classification builder of torchvision 0.14
        (torchvision.models.list_models(module=torchvision.models)), random weights,
        torch.jit.trace at its usual input size (the crop size of the builder's default
        weights: 299 for inception_v3, 240-600 for efficientnet_b1..b7, 384/480 for
        efficientnet_v2_*; 224 for ViTs, whose random-weight builders are made for 224);
    NAME_script: torch.jit.script of some of them;
    t5_tiny(_script): T5-style encoder-decoder mirror (tools/zoo_models.py);
    hand_attention(_script): hand-written masked attention (einsum, masked_fill, where,
        cumsum, topk, gather);
    tiny_detector: a detection head (conv backbone, box decoding, torchvision.ops.batched_nms,
        top min(40, kept)); its number of detections depends on the image;
    lstm_lm, gru_classifier, recurrent_cells: nn.LSTM / nn.GRU / nn.RNN and the cells;
    flow_warp: F.grid_sample along a predicted flow and on affine grids (at opset 16);
    transformer_seq2seq: nn.TransformerEncoder (fast path) and nn.Transformer.

For each model: generate OUT/NAME.pt (in a child process; kept while tools/zoo*.py,
fixture_models.py and the torch versions are unchanged), export it with
`modelexport export OUT/NAME.pt OUT/NAME/NAME.onnx --input-shape S --dump-io OUT/NAME/io`,
run onnx.checker.check_model(full_check=True) and tests/tools/ort_check.js on the io dir
(max |a-b|/(1+|b|) <= the model's tolerance, 1e-4 unless the spec says why not). The
checker, ort_check.js and the batch-N LibTorch run below go to two helper processes kept
for the whole run (`ort_check.js --server` and this file's --worker: node, Python, onnx
and torch start once); a step they do not pass runs again as its own process, whose
output is what the row reports.

--dynamic-batch N: the same with `export --dynamic-batch`, and onnxruntime is also run
at batch N against LibTorch running the same .pt at batch N (OUT/results_dynamic_batch.json,
docs/DYNAMIC_BATCH.md); a model whose TorchScript itself cannot run at batch N is SKIP.

Results accumulate in OUT/results.json (a run with --only updates those rows); the
Markdown table is written to --doc (default docs/COVERAGE.md in the source tree when
the whole zoo ran, nowhere for an --only run unless --doc is given).
Exit status: 0 when every selected model passed (or was skipped), 1 otherwise.
"""

import argparse
import hashlib
import json
import os
import select
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ORT_CHECK = os.path.join(ROOT, "tests", "tools", "ort_check.js")

DEFAULT_TOL = 1e-4

# Scripted variants of these torchvision builders are in the zoo too.
SCRIPTED_TORCHVISION = ["resnet18", "mobilenet_v3_small", "shufflenet_v2_x0_5", "squeezenet1_1",
                        "efficientnet_b0", "densenet121", "regnet_x_400mf", "convnext_tiny",
                        "googlenet", "vit_b_16", "swin_t"]

# Models whose weights alone pass 2 GB (ONNX external data) run last.
HUGE = {"regnet_y_128gf", "vit_h_14"}

# Big or slow ones (>= ~60M parameters or large inputs) run after the others.
LARGE = {"vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
         "convnext_base", "convnext_large", "regnet_x_16gf", "regnet_x_32gf", "regnet_y_16gf",
         "regnet_y_32gf", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2",
         "wide_resnet101_2", "vit_l_16", "vit_l_32", "vit_b_32", "swin_b", "swin_v2_b", "swin_s",
         "swin_v2_s", "efficientnet_b5", "efficientnet_b6", "efficientnet_b7", "efficientnet_v2_m",
         "efficientnet_v2_l", "resnet152", "maxvit_t", "regnet_x_8gf", "regnet_y_8gf"}

# Documented looser bounds: name -> (tolerance, reason).
# Checked: torch.onnx.export of the same TorchScript file, run in onnxruntime on the same
# input, shows the same max error (resnet34 1.161e-4, inception_v3 2.516e-3,
# wide_resnet101_2 1.202e-3), so the
# difference is onnxruntime's float32 arithmetic against LibTorch's, not the export.
_DEEP_RANDOM = ("onnxruntime on torch.onnx.export's file of the same model is off by the same amount: "
                "float32 sums in another order, grown through a deep random-weight net")
LOOSER = {
    "resnet34": (5e-4, _DEEP_RANDOM),
    "resnet101": (5e-4, _DEEP_RANDOM),
    "resnet152": (5e-4, _DEEP_RANDOM),
    "inception_v3": (5e-3, _DEEP_RANDOM + "; logits reach 3e8 and cancel"),
    "wide_resnet101_2": (5e-3, _DEEP_RANDOM),
}


# ---------------------------------------------------------------------------
# Specs (only plain data here: the parent process never imports torch)


def torchvision_names(out_dir):
    """list_models() of the installed torchvision, cached in OUT (importing torchvision
    takes a while)."""
    import importlib.metadata
    version = importlib.metadata.version("torchvision")
    cache = os.path.join(out_dir, "torchvision_models.json")
    if os.path.exists(cache):
        with open(cache) as f:
            cached = json.load(f)
        if cached.get("version") == version:
            return cached["models"]
    out = subprocess.run(
        [sys.executable, "-c",
         "import torchvision.models as m, json; print(json.dumps(m.list_models(module=m)))"],
        check=True, capture_output=True, text=True).stdout
    names = json.loads(out.strip().splitlines()[-1])
    with open(cache, "w") as f:
        json.dump({"version": version, "models": names}, f)
    return names


def zoo_specs(out_dir):
    """name -> spec dict: kind, source, builder, input_shape (CLI), tolerance, note."""
    specs = {}
    names = torchvision_names(out_dir)
    for name in names:
        specs[name] = {"kind": "trace", "source": "torchvision", "builder": name}
    for name in SCRIPTED_TORCHVISION:
        specs[name + "_script"] = {"kind": "script", "source": "torchvision", "builder": name}
    t5_inputs = "input_ids:int64:1x16,attention_mask:int64:1x16,decoder_input_ids:int64:1x16"
    specs["t5_tiny"] = {"kind": "trace", "source": "zoo_models", "builder": "T5Model",
                        "input_shape": [1, 16], "input_spec": t5_inputs}
    specs["t5_tiny_script"] = {"kind": "script", "source": "zoo_models", "builder": "T5Model",
                               "input_shape": [1, 16], "input_spec": t5_inputs}
    specs["hand_attention"] = {"kind": "trace", "source": "zoo_models", "builder": "HandAttentionNet",
                               "input_shape": [1, 16, 32], "input_spec": "x:float32:1x16x32"}
    specs["hand_attention_script"] = {"kind": "script", "source": "zoo_models",
                                      "builder": "HandAttentionNet", "input_shape": [1, 16, 32],
                                      "input_spec": "x:float32:1x16x32"}
    specs["tiny_detector"] = {"kind": "trace", "source": "zoo_models", "builder": "TinyDetector",
                              "example_inputs": "tiny_detector_example_inputs",
                              "input_shape": [1, 3, 64, 64], "input_spec": "image:float32:1x3x64x64"}
    # Models of the families beyond classifiers: (builder, example inputs, --input-spec, opset).
    for name, builder, example, input_spec, opset in [
            ("lstm_lm", "LstmLanguageModel", "lstm_lm_example_inputs", "input_ids:int64:1x12", None),
            ("gru_classifier", "GruClassifier", "gru_classifier_example_inputs", "x:float32:1x10x20", None),
            ("recurrent_cells", "RecurrentCellsNet", "recurrent_cells_example_inputs", "x:float32:1x5x12", None),
            ("flow_warp", "FlowWarpNet", "flow_warp_example_inputs", "image:float32:1x3x24x32", 16),
            ("transformer_seq2seq", "TransformerSeq2Seq", "transformer_seq2seq_example_inputs",
             "src:float32:1x10x32,tgt:float32:1x6x32", None)]:
        shape = [int(d) for d in input_spec.split(",")[0].split(":")[2].split("x")]
        specs[name] = {"kind": "trace", "source": "zoo_models", "builder": builder, "example_inputs": example,
                       "input_shape": shape, "input_spec": input_spec, "opset": opset}
    for name, spec in specs.items():
        tol, reason = LOOSER.get(name, (DEFAULT_TOL, ""))
        spec.setdefault("tolerance", tol)
        spec.setdefault("tolerance_reason", reason)
        spec["huge"] = spec["builder"] in HUGE
        spec["tier"] = (0 if spec["source"] == "zoo_models" else 3 if spec["huge"]
                        else 2 if spec["builder"] in LARGE else 1)
    return specs


def ordered(names, specs):
    """Our own models, then torchvision's small and medium ones, the big ones, and the
    >2 GB ones last; alphabetical within each group."""
    return sorted(names, key=lambda n: (specs[n]["tier"], n))


# ---------------------------------------------------------------------------
# Child process: build, trace/script and save one model


def torchvision_input_size(builder):
    import torchvision.models as tvm
    model_weights = tvm.get_model_weights(builder)
    if builder.startswith("vit_"):
        # The random-weight builders are made for 224 (position embeddings); only
        # some pretrained weights (SWAG, 384/518) build a model for other sizes.
        return 224
    crop = model_weights.DEFAULT.transforms().crop_size
    return int(crop[0] if isinstance(crop, (list, tuple)) else crop)


def generate_one(name, spec, out_dir):
    """Writes OUT/NAME.pt; prints a JSON line {"input_shape": [...], "params": N}."""
    import torch
    sys.path.insert(0, HERE)
    import fixture_models as fm

    torch.manual_seed(0)
    if spec["source"] == "torchvision":
        import torchvision.models as tvm
        size = torchvision_input_size(spec["builder"])
        model = tvm.get_model(spec["builder"], weights=None)
        g = torch.Generator().manual_seed(99)
        inputs = (torch.randn(1, 3, size, size, generator=g),)
        input_shape = [1, 3, size, size]
    else:
        import zoo_models as zm
        model = getattr(zm, spec["builder"])()
        if spec.get("example_inputs"):
            inputs = getattr(zm, spec["example_inputs"])()
        elif spec["builder"] == "T5Model":
            inputs = zm.t5_example_inputs(spec["input_shape"][1])
        else:
            inputs = zm.hand_attention_example_inputs()
        input_shape = spec["input_shape"]
    fm.perturb_for_testing(model)
    with torch.no_grad():
        # Zero-initialized layers (ViT's classification head) would make every output
        # equal to a bias whatever the body computes: give them random weights.
        for m in model.modules():
            weight = getattr(m, "weight", None)
            if isinstance(weight, torch.Tensor) and weight.dim() >= 2 and not bool(weight.any()):
                weight.normal_(0.0, 0.02)
    model.eval()
    params = sum(p.numel() for p in model.parameters())
    with torch.no_grad():
        # One forward pass (the trace itself): on a busy machine the big models take
        # minutes per pass; the export compares the file with LibTorch anyway.
        if spec["kind"] == "trace":
            module = torch.jit.trace(model, inputs, check_trace=False)
        else:
            module = torch.jit.script(model)
        module.eval()
        path = os.path.join(out_dir, name + ".pt")
        tmp = path + ".tmp"
        torch.jit.save(module, tmp)
    os.replace(tmp, path)
    with open(os.path.join(out_dir, name + ".pt.json"), "w") as f:
        json.dump({"input_shape": input_shape, "params": params, "stamp": source_stamp(spec)}, f)


def generate_batch(names, specs, out_dir, timeout):
    """Imports torch once, then builds each model in a forked child (a crash or a leak
    stays there). A failure leaves its message in OUT/NAME.pt.err."""
    import torch  # noqa: F401
    import torchvision  # noqa: F401
    sys.path.insert(0, HERE)
    import fixture_models  # noqa: F401
    import zoo_models  # noqa: F401
    for name in names:
        err_path = os.path.join(out_dir, name + ".pt.err")
        if os.path.exists(err_path):
            os.remove(err_path)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                generate_one(name, specs[name], out_dir)
            except BaseException as e:  # noqa: B902 (the child reports everything)
                with open(err_path, "w") as f:
                    f.write(("%s: %s" % (type(e).__name__, e)).strip().splitlines()[0] if str(e).strip()
                            else type(e).__name__)
                code = 1
            sys.stdout.flush()
            os._exit(code)
        deadline = time.time() + timeout
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.time() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                with open(err_path, "w") as f:
                    f.write("generating the TorchScript file timed out after %ds" % timeout)
                break
            time.sleep(0.2)
        if done and status != 0 and not os.path.exists(err_path):
            with open(err_path, "w") as f:
                f.write("the generator process died (status %d)" % status)
        print("zoo: generated %s" % name, flush=True)


GENERATOR_VERSION = 2  # bump when generate_one() changes what it writes


def source_stamp(spec):
    h = hashlib.sha256()
    for f in ("zoo_models.py", "fixture_models.py"):
        with open(os.path.join(HERE, f), "rb") as fh:
            h.update(fh.read())
    h.update(json.dumps([GENERATOR_VERSION, spec["kind"], spec["source"], spec["builder"],
                         spec.get("input_shape")]).encode())
    return h.hexdigest()[:16]


def model_info(name, spec, out_dir):
    """(info, None) when OUT/NAME.pt is up to date, (None, error) when its generation
    failed, (None, None) when it was not made yet."""
    stamp_path = os.path.join(out_dir, name + ".pt.json")
    err_path = os.path.join(out_dir, name + ".pt.err")
    if os.path.exists(err_path):
        with open(err_path) as f:
            return None, "could not make the TorchScript file: " + f.read().strip()
    if os.path.exists(os.path.join(out_dir, name + ".pt")) and os.path.exists(stamp_path):
        with open(stamp_path) as f:
            info = json.load(f)
        if info.get("stamp") == source_stamp(spec):
            return info, None
    return None, None


def start_generator(names, specs, out_dir, force, timeout):
    """Starts making the TorchScript files that are missing or out of date, in order, in
    one child process that imports torch once; returns it (None when nothing to do)."""
    todo = []
    for name in names:
        if force:
            for suffix in (".pt.json", ".pt.err"):
                if os.path.exists(os.path.join(out_dir, name + suffix)):
                    os.remove(os.path.join(out_dir, name + suffix))
        info, error = model_info(name, specs[name], out_dir)
        if info is None:
            err_path = os.path.join(out_dir, name + ".pt.err")
            if os.path.exists(err_path):
                os.remove(err_path)
            stamp_path = os.path.join(out_dir, name + ".pt.json")
            if os.path.exists(stamp_path):
                os.remove(stamp_path)
            todo.append(name)
    if not todo:
        return None
    env = dict(os.environ, PYTHONHASHSEED="0")
    return subprocess.Popen([sys.executable, os.path.abspath(__file__), "--generate-batch", ",".join(todo),
                             "--out", out_dir, "--timeout", str(timeout)], env=env)


def wait_for_model(name, spec, out_dir, generator):
    """Waits until the generator has made (or failed to make) OUT/NAME.pt."""
    while True:
        info, error = model_info(name, spec, out_dir)
        if info is not None or error is not None:
            return info, error
        if generator is None or generator.poll() is not None:
            return model_info(name, spec, out_dir)
        time.sleep(1)


# ---------------------------------------------------------------------------
# Export and verification


def last_line(text):
    lines = [l.strip() for l in text.strip().splitlines() if l.strip()]
    return lines[-1] if lines else ""


class LineServer:
    """A helper process kept for the whole run (`node ort_check.js --server`, this file's
    --worker), so that node and onnxruntime, or Python with onnx and torch, start once
    instead of once per model: one request line of tab-separated fields, one answer line
    "STATUS<TAB>TEXT". ask() gives (status, text), or None when the server cannot answer
    (it cannot start, dies, answers out of protocol or not within the timeout); it is then
    not used again. Callers run a request the server does not answer with 0 as its own
    process, as before, whose output is the one reported."""

    def __init__(self, argv, timeout):
        self.argv, self.timeout, self.proc, self.broken = argv, timeout, None, False

    def ask(self, *fields):
        if self.broken or any("\t" in f or "\n" in f for f in fields):
            return None
        line = ""
        try:
            if self.proc is None:
                self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            self.proc.stdin.write("\t".join(fields) + "\n")
            self.proc.stdin.flush()
            if select.select([self.proc.stdout], [], [], self.timeout)[0]:
                line = self.proc.stdout.readline()
        except OSError:
            pass
        status, tab, text = line.rstrip("\n").partition("\t")
        if not tab or not status.isdigit():
            self.broken = True
            self.close()
            return None
        return int(status), text

    def close(self):
        if self.proc is not None:
            if self.broken:
                self.proc.kill()
            else:
                self.proc.stdin.close()
            self.proc.wait()
            self.proc = None


def serve_worker():
    """--worker: "check<TAB>ONNX" (onnx.checker.check_model(ONNX, full_check=True), as the
    one-process check) and "batch-io<TAB>PT<TAB>IO_DIR<TAB>OUT_DIR<TAB>N" (make_batch_io)
    requests, one per line, answered "0<TAB>ok" or "1<TAB>TYPE: MESSAGE"."""
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    sys.stdout = sys.stderr  # what a library prints stays out of the answers
    for line in sys.stdin:
        fields = line.rstrip("\n").split("\t")
        try:
            if fields[0] == "check" and len(fields) == 2:
                import onnx
                onnx.checker.check_model(fields[1], full_check=True)
            elif fields[0] == "batch-io" and len(fields) == 5:
                make_batch_io(fields[1], fields[2], fields[3], int(fields[4]))
            else:
                raise ValueError("bad request %r" % line)
            status, text = 0, "ok"
        except Exception as e:
            first = str(e).strip().splitlines()
            status, text = 1, "%s: %s" % (type(e).__name__, first[0] if first else "")
        answers.write("%d\t%s\n" % (status, text.replace("\t", " ")))
    return 0


def error_line(text):
    """The most telling line of a tool's output: modelexport's error line if there is one."""
    lines = [l.strip() for l in text.strip().splitlines() if l.strip()]
    for l in lines:
        if l.startswith("modelexport: error:") or l.startswith("ort_check: FAIL"):
            return l
    return lines[-1] if lines else ""


def ort_matches(row, error_key, stage, onnx_path, io_dir, spec, args):
    """Runs ONNX_PATH in onnxruntime on IO_DIR's inputs against its outputs; records the
    max error under ROW[ERROR_KEY], or the failure at STAGE. True when within tolerance."""
    answer = args.ort_server.ask(onnx_path, io_dir, repr(spec["tolerance"]))
    if answer is not None and answer[0] == 0:
        if "max_rel_err=" in answer[1]:
            row[error_key] = float(answer[1].split("max_rel_err=")[1].split()[0])
        return True
    ort = subprocess.run([args.node, ORT_CHECK, onnx_path, io_dir, "--tol", repr(spec["tolerance"])],
                         capture_output=True, text=True, timeout=args.timeout)
    out = last_line(ort.stdout) or last_line(ort.stderr)
    if "max_rel_err=" in out:
        row[error_key] = float(out.split("max_rel_err=")[1].split()[0])
    if ort.returncode != 0:
        row.update(status="FAIL", stage=stage, error=error_line(ort.stdout + ort.stderr))
        return False
    return True


def run_model(name, spec, info, args):
    work = os.path.join(args.out, name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    onnx_path = os.path.join(work, name + ".onnx")
    io_dir = os.path.join(work, "io")
    shape = ",".join(str(d) for d in info["input_shape"])
    cmd = [args.binary, "export", os.path.join(args.out, name + ".pt"), onnx_path,
           "--input-shape", shape, "--dump-io", io_dir]
    if spec.get("input_spec"):
        # The binary's dtype inference takes x of hand_attention for ids (it reaches an
        # embedding through a mask and cumsum): say what the inputs are.
        cmd = cmd[:4] + ["--input-spec", spec["input_spec"]] + cmd[6:]
    if spec.get("opset"):
        cmd += ["--opset-version", str(spec["opset"])]
    if args.dynamic_batch:
        cmd.append("--dynamic-batch")
    row = {"name": name, "kind": spec["kind"], "input_shape": info["input_shape"],
           "params": info.get("params"), "tolerance": spec["tolerance"],
           "tolerance_reason": spec["tolerance_reason"]}
    t0 = time.time()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        row.update(status="FAIL", stage="export", error="export timed out after %ds" % args.timeout)
        return row
    row["export_seconds"] = round(time.time() - t0, 2)
    if proc.returncode != 0:
        row.update(status="FAIL", stage="export",
                   error=error_line(proc.stderr + proc.stdout) or "exit status %d, no output" % proc.returncode)
        return row
    sidecar = os.path.join(work, name + "_hierarchy.json")
    try:
        with open(sidecar) as f:
            stats = json.load(f).get("statistics", {})
        row["nodes"] = stats.get("onnx_nodes")
        row["stamped"] = stats.get("stamped_nodes")
    except (OSError, ValueError) as e:
        row.update(status="FAIL", stage="sidecar", error="cannot read %s: %s" % (sidecar, e))
        return row

    answer = args.worker.ask("check", onnx_path)
    if answer is None or answer[0] != 0:
        check = subprocess.run(
            [sys.executable, "-c",
             "import onnx,sys; onnx.checker.check_model(sys.argv[1], full_check=True); print('onnx checker: OK')",
             onnx_path], capture_output=True, text=True, timeout=args.timeout)
        if check.returncode != 0:
            row.update(status="FAIL", stage="checker", error=error_line(check.stderr))
            return row

    if not ort_matches(row, "max_error", "onnxruntime", onnx_path, io_dir, spec, args):
        return row
    if args.dynamic_batch:
        # The same file at another batch size, against LibTorch at that batch.
        batch_dir = os.path.join(work, "io_batch%d" % args.dynamic_batch)
        pt_path = os.path.join(args.out, name + ".pt")
        answer = args.worker.ask("batch-io", pt_path, io_dir, batch_dir, str(args.dynamic_batch))
        made = None
        if answer is None or answer[0] != 0:
            made = subprocess.run([sys.executable, os.path.abspath(__file__), "--out", args.out,
                                   "--batch-io", ",".join([pt_path, io_dir, batch_dir, str(args.dynamic_batch)])],
                                  capture_output=True, text=True, timeout=args.timeout)
        if made is not None and made.returncode != 0:
            row.update(status="SKIP", stage="libtorch",
                       error="the TorchScript file itself does not run at batch %d: %s" % (
                           args.dynamic_batch, error_line(made.stderr + made.stdout)))
            return row
        if not ort_matches(row, "max_error_batch", "onnxruntime batch %d" % args.dynamic_batch,
                           onnx_path, batch_dir, spec, args):
            return row
    row["status"] = "PASS"
    if not args.keep:
        # The .onnx files of big models add up to many GB; keep only the sidecar.
        for f in os.listdir(work):
            p = os.path.join(work, f)
            if f.endswith(".onnx") or f.endswith(".data") or f == "io" or f.startswith("io_batch"):
                shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)
    return row


def make_batch_io(pt_path, io_dir, out_dir, batch):
    """OUT_DIR/io.json + files: the inputs of IO_DIR (written by --dump-io) at batch size
    BATCH (floats drawn anew, integers tiled: they are ids and masks) and LibTorch's
    outputs for them. Runs in a child process: it imports torch."""
    import numpy as np
    import torch
    sys.path.insert(0, os.path.join(ROOT, "tests", "tools"))
    import make_io
    with open(os.path.join(io_dir, "io.json")) as f:
        io = json.load(f)
    gen = torch.Generator().manual_seed(0)
    inputs = []
    for spec in io["inputs"]:
        data = np.fromfile(os.path.join(io_dir, spec["file"]),
                           dtype=make_io.NUMPY_DTYPES[spec["dtype"]]).reshape(spec["shape"])
        t = torch.from_numpy(data).to(make_io.TORCH_DTYPES[spec["dtype"]])
        if t.is_floating_point():
            t = torch.randn((batch,) + tuple(t.shape[1:]), generator=gen).to(t.dtype)
        else:
            t = torch.cat([t] * (batch // t.shape[0] + 1))[:batch]
        inputs.append((spec["name"], t))
    model = torch.jit.load(pt_path, map_location="cpu")
    with torch.no_grad():
        outputs = make_io.flatten(model(*[t for _, t in inputs]))
    make_io.write_io_dir(out_dir, inputs, [("output_%d" % i, t) for i, t in enumerate(outputs)])


# ---------------------------------------------------------------------------
# Report


def fmt_shape(shape):
    return "x".join(str(d) for d in shape) if shape else ""


def write_doc(path, results, specs, dynamic_batch=None):
    rows = [results[n] for n in ordered([n for n in results if n in specs], specs)]
    passed = [r for r in rows if r["status"] == "PASS"]
    skipped = [r for r in rows if r["status"] == "SKIP"]
    failed = [r for r in rows if r["status"] not in ("PASS", "SKIP")]
    not_run = ordered([n for n in specs if n not in results], specs)
    if dynamic_batch:
        intro = [
            "# Dynamic batch coverage",
            "",
            "Generated by `/usr/bin/python3 tools/zoo.py --out build/zoo --dynamic-batch %d` (the models of" % dynamic_batch,
            "[COVERAGE.md](COVERAGE.md)). Each model is exported with `--dynamic-batch` added (dim 0 of every",
            "input symbolic), checked with `onnx.checker.check_model(full_check=True)`, then run in onnxruntime",
            "against LibTorch twice: at the export's batch size (the `--dump-io` inputs) and at batch %d" % dynamic_batch,
            "(new float inputs, integer inputs tiled; LibTorch runs the same TorchScript file on them).",
            "max |a-b|/(1+|b|) <= 1e-4 unless the table gives another bound. SKIP: the TorchScript file",
            "itself does not run at batch %d (a trace that recorded the batch size as a constant), so there" % dynamic_batch,
            "is nothing to compare with.",
            "",
        ]
        header = ["| model | kind | input | params | status | nodes | stamped | max error | at batch %d | tolerance | export s |" % dynamic_batch,
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
    else:
        intro = [
            "# Model coverage",
            "",
            "Generated by `/usr/bin/python3 tools/zoo.py --out build/zoo` (torch 1.13, torchvision 0.14,",
            "random weights, eval mode, traced under `torch.no_grad()`). Each model is exported with",
            "`modelexport export NAME.pt NAME.onnx --input-shape SHAPE --dump-io io` at the default opset",
            "(14), checked with `onnx.checker.check_model(full_check=True)` and run in onnxruntime",
            "(`tests/tools/ort_check.js`) against LibTorch's outputs: max |a-b|/(1+|b|) <= 1e-4 unless",
            "the table gives another bound and why. `_script` rows are `torch.jit.script` files, the",
            "others `torch.jit.trace`. Nodes: ONNX nodes; stamped: share of them with hierarchy stamps",
            "(from `<stem>_hierarchy.json`). Export time: wall time of the `export` command on a",
            "shared, heavily loaded 2-CPU machine (indicative only). With a symbolic batch size:",
            "[DYNAMIC_BATCH.md](DYNAMIC_BATCH.md).",
            "",
        ]
        header = ["| model | kind | input | params | status | nodes | stamped | max error | tolerance | export s |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
    lines = intro + [
        "**%d models run: %d pass, %d fail%s%s.**" % (
            len(rows), len(passed), len(failed),
            (", %d skipped" % len(skipped)) if skipped else "",
            ("; %d of the zoo's %d not in this run (listed at the end)" % (len(not_run), len(specs))) if not_run else ""),
        "",
    ] + header
    for r in rows:
        nodes = r.get("nodes")
        stamped = ("%.1f%%" % (100.0 * r["stamped"] / nodes)) if nodes else ""
        err = ("%.2e" % r["max_error"]) if r.get("max_error") is not None else ""
        tol = "%.0e" % r["tolerance"]
        if r.get("tolerance_reason"):
            tol += " (%s)" % r["tolerance_reason"]
        n = r.get("params") or 0
        params = ("%.1fM" % (n / 1e6)) if n >= 1e6 else ("%.0fK" % (n / 1e3)) if n else ""
        status = r["status"] if r["status"] in ("PASS", "SKIP") else "FAIL (%s)" % r.get("stage", "")
        cells = [r["name"], r["kind"], fmt_shape(r.get("input_shape")), params, status,
                 nodes if nodes is not None else "", stamped, err]
        if dynamic_batch:
            cells.append(("%.2e" % r["max_error_batch"]) if r.get("max_error_batch") is not None else "")
        cells += [tol, r.get("export_seconds", "")]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    for title, group in (("Failures", failed), ("Skipped", skipped)):
        if group:
            lines += ["", "## " + title, ""]
            for r in group:
                lines.append("- **%s** (%s): `%s`" % (r["name"], r.get("stage", ""), r.get("error", "").replace("`", "'")))
    if not_run:
        lines += ["", "## Not in this run", "", ", ".join(not_run) +
                  " (not run yet, or left out by `--skip-huge`: over 2 GB of weights, see COVERAGE.md)"]
    lines.append("")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines))
    os.replace(tmp, path)


# ---------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="work directory (models, exports, results.json)")
    ap.add_argument("--only", help="comma-separated model names")
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "modelexport"))
    ap.add_argument("--node", default=shutil.which("node") or "node")
    ap.add_argument("--doc", help="Markdown table to write (default docs/COVERAGE.md for a full run)")
    ap.add_argument("--no-doc", action="store_true", help="write no Markdown table")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per step of one model")
    ap.add_argument("--force", action="store_true", help="regenerate the TorchScript files")
    ap.add_argument("--keep", action="store_true", help="keep the ONNX files and io dirs of passing models")
    ap.add_argument("--skip-huge", action="store_true", help="leave out the models over 2 GB")
    ap.add_argument("--list", action="store_true", help="print the model names and exit")
    ap.add_argument("--generate-only", action="store_true", help="only make the TorchScript files")
    ap.add_argument("--dynamic-batch", type=int, metavar="N",
                    help="export with --dynamic-batch and also check onnxruntime against LibTorch at "
                         "batch N (results in OUT/results_dynamic_batch.json, table in "
                         "docs/DYNAMIC_BATCH.md for a full run)")
    ap.add_argument("--generate-batch", help=argparse.SUPPRESS)
    ap.add_argument("--batch-io", help=argparse.SUPPRESS)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return serve_worker()
    if args.batch_io:
        pt_path, io_dir, out_dir, batch = args.batch_io.split(",")
        make_batch_io(pt_path, io_dir, out_dir, int(batch))
        return 0
    args.out = os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)

    specs = zoo_specs(args.out)
    if args.generate_batch:
        generate_batch(args.generate_batch.split(","), specs, args.out, args.timeout)
        return 0
    if args.list:
        print("\n".join(ordered(specs, specs)))
        return 0
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in specs]
        if unknown:
            ap.error("unknown model(s) %s (see --list)" % ", ".join(unknown))
    else:
        names = [n for n in specs if not (args.skip_huge and specs[n]["huge"])]
    names = ordered(names, specs)
    if args.generate_only:
        generator = start_generator(names, specs, args.out, args.force, args.timeout)
        return generator.wait() if generator else 0
    args.binary = os.path.abspath(args.binary)
    if not os.access(args.binary, os.X_OK):
        ap.error("no modelexport binary at %s (give --binary)" % args.binary)

    results_path = os.path.join(args.out, "results_dynamic_batch.json" if args.dynamic_batch else "results.json")
    results = {}
    if os.path.exists(results_path):
        with open(results_path) as f:
            results = json.load(f)
    doc_name = "DYNAMIC_BATCH.md" if args.dynamic_batch else "COVERAGE.md"
    doc = None if args.no_doc else (args.doc or (None if args.only else os.path.join(ROOT, "docs", doc_name)))

    t_start = time.time()
    failed = []
    args.worker = LineServer([sys.executable, os.path.abspath(__file__), "--out", args.out, "--worker"], args.timeout)
    args.ort_server = LineServer([args.node, ORT_CHECK, "--server"], args.timeout)
    generator = start_generator(names, specs, args.out, args.force, args.timeout)
    for i, name in enumerate(names):
        spec = specs[name]
        info, error = wait_for_model(name, spec, args.out, generator)
        if info is None and error is None:
            error = "no TorchScript file was made"
        if error:
            row = {"name": name, "kind": spec["kind"], "status": "FAIL", "stage": "generate",
                   "error": error, "tolerance": spec["tolerance"],
                   "tolerance_reason": spec["tolerance_reason"]}
        else:
            row = run_model(name, spec, info, args)
        results[name] = row
        if row["status"] not in ("PASS", "SKIP"):
            failed.append(name)
        print("zoo: [%d/%d] %-28s %s%s" % (
            i + 1, len(names), name, row["status"],
            (" %d nodes, max_err %.2e, %.1fs" % (row.get("nodes") or 0, row.get("max_error") or 0.0,
                                                 row.get("export_seconds") or 0.0))
            if row["status"] == "PASS" else " [%s] %s" % (row.get("stage"), row.get("error"))),
            flush=True)
        tmp = results_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(results, f, indent=1, sort_keys=True)
        os.replace(tmp, results_path)
        if doc:
            write_doc(doc, results, specs, args.dynamic_batch)
    if generator is not None:
        generator.wait()
    args.worker.close()
    args.ort_server.close()
    print("zoo: %d models, %d passed, %d failed in %.0fs%s" % (
        len(names), len(names) - len(failed), len(failed), time.time() - t_start,
        (": " + ", ".join(failed)) if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

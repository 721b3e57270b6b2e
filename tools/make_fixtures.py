#!/usr/bin/python3
"""Write the TorchScript test fixtures of modelexport into a build directory.

Usage:
    /usr/bin/python3 tools/make_fixtures.py OUTDIR [--only NAME[,NAME...]] [--force]
        [--gpt2 NAME=LAYERSxHIDDENxHEADS ...]
        [--gpt2-layers N --gpt2-hidden H --gpt2-heads K --gpt2-name NAME]
    /usr/bin/python3 tools/make_fixtures.py --list

Writes OUTDIR/NAME.pt for each fixture and the manifest OUTDIR/fixtures.json:

    {"bert_tiny": {"file": "bert_tiny.pt", "kind": "trace", "cli_args": ["--output-names", "last_hidden_state,pooler_output"],
                   "inputs": [{"name": "input_ids", "dtype": "int64", "shape": [1, 128]}, ...],
                   "outputs": ["last_hidden_state", "pooler_output"],
                   "parameters": 4385920, "weight_bytes": 17547776},
     "gpt2_tiny": {..., "config": {"gpt2": {"n_layer": 2, "n_embd": 64, "n_head": 2}}}, ...}

"kind" is "trace" (torch.jit.trace) or "script" (torch.jit.script); "cli_args" are the
modelexport options the fixture needs (the default --input-shape is 1,128); "outputs"
names the flattened outputs in order; GPT-2 entries carry their "config".
"parameters" counts the elements of the saved module's parameters; "weight_bytes" is
the tensor data the .pt file holds (parameters and buffers, each storage once).

Fixtures (model code in tools/fixture_models.py):
    bert_tiny        traced; inputs input_ids, attention_mask, token_type_ids (int64 1x128);
                     outputs last_hidden_state [1,128,128], pooler_output [1,128]
    gpt2_tiny        traced; input input_ids (int64 1x128); output last_hidden_state [1,128,64]
    resnet18         traced; input x (float32 1x3x224x224); output logits [1,1000]
    mobilenet_v2     traced; input x (float32 1x3x224x224); output logits [1,1000]
    custom_scripted  torch.jit.script; input x (float32 1x128); output logits [1,10]
    q_mobilenet_v2   torchvision's quantizable MobileNetV2, quantized (torch.ao eager mode,
                     "fbgemm" qconfig, weights packed by torch 1.13's onednn engine), traced;
                     input x (float32 1x3x224x224); output logits [1,1000]

Opt-in fixtures (fixture_models.extra_specs()), written only when named in --only
(tools/bench.sh uses them; the tests do not):
    resnet50         torchvision resnet50, traced like resnet18 (1x3x224x224)
    gpt2_l2, gpt2_l6, gpt2_124m, gpt2_l24
                     GPT-2 mirror with hidden 768 and 12 heads at 2, 6, 12 and 24
                     layers (12 layers = the 124M shape); input input_ids (int64 1x128)
    big_mlp          9 x nn.Linear(8192, 8192): 2.4 GB of float32 weights (over the
                     2 GiB protobuf limit); input x (float32 1x8192); output y [1,8192]

--gpt2 NAME=LAYERSxHIDDENxHEADS (repeatable) adds a GPT-2 fixture of any other
shape, e.g. --gpt2 gpt2_l48=48x768x12; the older --gpt2-layers/--gpt2-hidden/
--gpt2-heads/--gpt2-name options add one. These are written in addition to the
--only selection (give --only NAME to write just them). --list prints the names.

Fast when up to date: OUTDIR/fixtures.stamp.json keeps, per fixture, a hash of this
script, fixture_models.py, the torch/torchvision versions and the fixture's config;
a fixture whose file exists with a matching stamp is not rebuilt, and in that case
torch is not even imported. The manifest lists every fixture in OUTDIR that is up to
date; it is rewritten only when its content changes.

Every model is built after torch.manual_seed(0), put in eval() mode, traced or
scripted, saved atomically, loaded back and checked against the eager model.
"""

import argparse
import hashlib
import importlib.metadata
import json
import multiprocessing
import multiprocessing.connection
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS_FILE = os.path.join(HERE, "fixture_models.py")
STAMP_FILE = "fixtures.stamp.json"
MANIFEST_FILE = "fixtures.json"

# Must match fixture_models.standard_specs() and extra_specs() (checked when torch is
# imported). STANDARD is what is built by default; EXTRA only when named in --only.
STANDARD = ["bert_tiny", "gpt2_tiny", "resnet18", "mobilenet_v2", "custom_scripted", "q_mobilenet_v2"]
EXTRA = ["resnet50", "gpt2_l2", "gpt2_l6", "gpt2_124m", "gpt2_l24", "big_mlp"]


def _version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "none"


def base_stamp():
    h = hashlib.sha256()
    for path in (os.path.abspath(__file__), MODELS_FILE):
        with open(path, "rb") as f:
            h.update(f.read())
    h.update(("torch=%s;torchvision=%s" % (_version("torch"), _version("torchvision"))).encode())
    return h.hexdigest()


def fixture_stamp(base, name, config):
    payload = json.dumps({"base": base, "name": name, "config": config}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def read_json(path, default):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def write_if_changed(path, text):
    try:
        with open(path) as f:
            if f.read() == text:
                return False
    except OSError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    return True


def is_up_to_date(outdir, stamps, base, name, config):
    rec = stamps.get(name)
    if not rec or rec.get("stamp") != fixture_stamp(base, name, config):
        return False
    path = os.path.join(outdir, rec["entry"]["file"])
    return os.path.isfile(path) and os.path.getsize(path) == rec.get("size")


def _child(conn, threads, outdir, name, config):
    try:
        import torch
        torch.set_num_threads(threads)
        conn.send((True, generate(outdir, name, config)))
    except BaseException:
        conn.send((False, traceback.format_exc()))
    finally:
        conn.close()


def _start_child(ctx, threads, outdir, name, config):
    parent_end, child_end = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child_end, threads, outdir, name, config))
    proc.start()
    child_end.close()
    return parent_end, proc


def _run_in_children(workers, outdir, names, configs):
    """Yield (name, ok, result) for each fixture, built in forked children."""
    ctx = multiprocessing.get_context("fork")
    threads = max(1, (os.cpu_count() or 1) // min(workers, len(names)))
    pending = list(names)
    running = {}
    while pending or running:
        while pending and len(running) < workers:
            name = pending.pop(0)
            conn, proc = _start_child(ctx, threads, outdir, name, configs[name])
            running[conn] = (name, proc)
        for conn in multiprocessing.connection.wait(list(running)):
            name, proc = running.pop(conn)
            try:
                ok, result = conn.recv()
            except EOFError:
                ok, result = False, "worker died"
            conn.close()
            proc.join()
            if ok and proc.exitcode not in (0, None):
                ok, result = False, "worker exited with %s" % proc.exitcode
            yield name, ok, result


def generate(outdir, name, config):
    """Build, trace/script, save, reload and check one fixture.

    Returns (size of the .pt file, manifest entry)."""
    import torch
    import fixture_models as fm

    spec = fm.spec_for(name, config)
    t0 = time.time()
    model = fm.build_eager(spec)
    inputs = fm.example_inputs(spec)
    with torch.no_grad():
        expected = model(*inputs)
        if spec.kind == "trace":
            module = torch.jit.trace(model, inputs)
        elif spec.kind == "script":
            module = torch.jit.script(model)
        else:
            raise ValueError("unknown fixture kind %r" % spec.kind)
    module.eval()

    path = os.path.join(outdir, spec.name + ".pt")
    tmp = path + ".tmp"
    torch.jit.save(module, tmp)

    # Check the saved file: argument names, outputs equal to the eager model's.
    loaded = torch.jit.load(tmp, map_location="cpu")
    arg_names = [a.name for a in loaded.forward.schema.arguments][1:]  # drop self
    want = [i.name for i in spec.inputs]
    if arg_names != want:
        raise RuntimeError("%s: forward arguments are %s, expected %s"
                           % (spec.name, arg_names, want))
    with torch.no_grad():
        got = loaded(*inputs)
    exp_list = list(expected) if isinstance(expected, tuple) else [expected]
    got_list = list(got) if isinstance(got, tuple) else [got]
    if len(exp_list) != len(spec.outputs) or len(got_list) != len(exp_list):
        raise RuntimeError("%s: %d outputs, manifest says %d"
                           % (spec.name, len(got_list), len(spec.outputs)))
    for e, g in zip(exp_list, got_list):
        if e.shape != g.shape or not torch.allclose(e, g, rtol=1e-4, atol=1e-5):
            raise RuntimeError("%s: TorchScript output differs from the eager model" % spec.name)
    entry = spec.manifest_entry()
    entry["parameters"], entry["weight_bytes"] = weight_stats(loaded)
    os.replace(tmp, path)
    shapes = ", ".join("%s%s" % (n, list(e.shape)) for n, e in zip(spec.outputs, exp_list))
    print("make_fixtures: wrote %s (%.1f MB, %.1fs; %d parameters; outputs %s)"
          % (os.path.basename(path), os.path.getsize(path) / 1e6, time.time() - t0,
             entry["parameters"], shapes),
          flush=True)
    return os.path.getsize(path), entry


def weight_stats(module):
    """(parameter count, bytes of parameter and buffer data, each storage counted once)."""
    params = sum(p.numel() for p in module.parameters())
    seen = set()
    nbytes = 0
    for t in list(module.parameters()) + list(module.buffers()):
        storage = t.storage()
        if storage.data_ptr() in seen:
            continue
        seen.add(storage.data_ptr())
        nbytes += storage.nbytes()
    return params, nbytes


def parse_gpt2(text):
    """NAME=LAYERSxHIDDENxHEADS -> (name, config)."""
    name, sep, shape = text.partition("=")
    parts = shape.lower().split("x")
    if not sep or not name or len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise argparse.ArgumentTypeError(
            "expected NAME=LAYERSxHIDDENxHEADS (e.g. gpt2_l48=48x768x12), got %r" % text)
    layers, hidden, heads = (int(p) for p in parts)
    if not (layers and hidden and heads) or hidden % heads:
        raise argparse.ArgumentTypeError(
            "%r: need positive sizes with HIDDEN divisible by HEADS" % text)
    return name, {"gpt2": {"n_layer": layers, "n_embd": hidden, "n_head": heads}}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", nargs="?")
    ap.add_argument("--only", help="comma-separated fixture names, standard or opt-in "
                    "(default: all standard ones)")
    ap.add_argument("--force", action="store_true", help="regenerate even when up to date")
    ap.add_argument("--list", action="store_true", help="print the known fixture names")
    ap.add_argument("--gpt2", action="append", type=parse_gpt2, default=[],
                    metavar="NAME=LxHxK",
                    help="add a GPT-2 fixture with L layers, hidden H, K heads (repeatable)")
    ap.add_argument("--gpt2-layers", type=int)
    ap.add_argument("--gpt2-hidden", type=int)
    ap.add_argument("--gpt2-heads", type=int)
    ap.add_argument("--gpt2-name", help="name of the extra GPT-2 fixture (default gpt2_LxHxK)")
    args = ap.parse_args(argv)

    if args.list:
        print("standard: %s\nopt-in:   %s" % (" ".join(STANDARD), " ".join(EXTRA)))
        return 0
    if not args.outdir:
        ap.error("OUTDIR is required")

    t_start = time.time()
    outdir = os.path.abspath(args.outdir)
    os.makedirs(outdir, exist_ok=True)

    # name -> config; the config goes into the stamp and tells how to build a variant.
    # Named fixtures (standard or opt-in) have the config {}: their spec is in
    # fixture_models, whose source is in the stamp already.
    wanted = {}
    extras = dict(args.gpt2)  # GPT-2 variants given on the command line
    if len(extras) != len(args.gpt2):
        ap.error("--gpt2 names must be distinct")
    gpt2_opts = (args.gpt2_layers, args.gpt2_hidden, args.gpt2_heads)
    if any(v is not None for v in gpt2_opts) or args.gpt2_name:
        if any(v is None for v in gpt2_opts):
            ap.error("--gpt2-layers, --gpt2-hidden and --gpt2-heads go together")
        if args.gpt2_hidden % args.gpt2_heads:
            ap.error("--gpt2-hidden must be divisible by --gpt2-heads")
        name = args.gpt2_name or "gpt2_%dx%dx%d" % gpt2_opts
        if name in extras:
            ap.error("GPT-2 fixture %r given twice" % name)
        extras[name] = {"gpt2": {"n_layer": args.gpt2_layers, "n_embd": args.gpt2_hidden,
                                 "n_head": args.gpt2_heads}}
    for name in extras:
        if name in STANDARD or name in EXTRA:
            ap.error("GPT-2 fixture name %r is taken by a named fixture (--list)" % name)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        for n in names:
            if n not in STANDARD and n not in EXTRA and n not in extras:
                ap.error("unknown fixture %r (standard: %s; opt-in: %s)"
                         % (n, ", ".join(STANDARD), ", ".join(EXTRA)))
        for n in names:
            if n not in extras:
                wanted[n] = {}
    else:
        wanted = {n: {} for n in STANDARD}
    wanted.update(extras)

    exit_code = 0
    base = base_stamp()
    stamp_path = os.path.join(outdir, STAMP_FILE)
    stamps = read_json(stamp_path, {})
    if not isinstance(stamps, dict):
        stamps = {}

    todo = [n for n, c in wanted.items()
            if args.force or not is_up_to_date(outdir, stamps, base, n, c)]

    if todo:
        if os.environ.get("PYTHONHASHSEED") != "0":
            # torch.jit.script writes a module's constants (Final attributes) in
            # set order, which follows string hashing: fix the seed so that
            # scripted fixtures are byte-identical from run to run.
            env = dict(os.environ, PYTHONHASHSEED="0")
            sys.stdout.flush()
            os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)]
                      + list(sys.argv[1:] if argv is None else argv), env)
        sys.path.insert(0, HERE)
        import torch  # noqa: F401  (imported only when something is built)
        import fixture_models as fm

        if sorted(fm.standard_specs()) != sorted(STANDARD):
            raise SystemExit("make_fixtures: STANDARD list out of sync with fixture_models")
        if sorted(fm.extra_specs()) != sorted(EXTRA):
            raise SystemExit("make_fixtures: EXTRA list out of sync with fixture_models")
        for n in todo:
            stamps.pop(n, None)
        write_if_changed(stamp_path, json.dumps(stamps, indent=1, sort_keys=True) + "\n")

        # Each fixture is built in its own freshly forked process, always started
        # from the same call site: TorchScript's global compilation unit then starts
        # empty for every file, so the saved type names (___torch_mangle_N) do not
        # depend on which other fixtures were built in the same run, and the Python
        # stacks the tracer records in code/*.debug_pkl are the same too. Result:
        # byte-identical files whether built alone (--only) or together (for a given
        # checkout path: the stacks hold absolute paths). Two cores: two at a time.
        workers = max(1, min(2, os.cpu_count() or 1))
        failed = []
        for n, ok, result in _run_in_children(workers, outdir, todo, wanted):
            if not ok:
                print("make_fixtures: FAILED %s:\n%s" % (n, result), file=sys.stderr)
                failed.append(n)
                continue
            size, entry = result
            stamps[n] = {"stamp": fixture_stamp(base, n, wanted[n]), "config": wanted[n],
                         "size": size, "entry": entry}
            write_if_changed(stamp_path, json.dumps(stamps, indent=1, sort_keys=True) + "\n")
        if failed:
            exit_code = 1

    # Manifest: every fixture in OUTDIR whose stamp is current.
    manifest = {}
    for n in sorted(stamps):
        rec = stamps[n]
        if is_up_to_date(outdir, stamps, base, n, rec.get("config", {})):
            manifest[n] = rec["entry"]
    changed = write_if_changed(os.path.join(outdir, MANIFEST_FILE),
                               json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    print("make_fixtures: %d built, %d up to date, manifest %s (%d fixtures) in %.2fs"
          % (len(todo), len(wanted) - len(todo), "updated" if changed else "unchanged",
             len(manifest), time.time() - t_start))
    return exit_code


if __name__ == "__main__":
    sys.exit(main())

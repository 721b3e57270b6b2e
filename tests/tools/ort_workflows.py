#!/usr/bin/env python3
"""onnxruntime sides of the profile / restamp / quantize workflows, for the e2e tests.

Runs with the repo's .venv (onnxruntime, onnx and onnxscript from PyPI). Every command
prints one JSON object on stdout.

  --server
      one command per input line (its arguments tab-separated), one answer line each:
      "0<TAB>JSON" (what the command prints), or "1<TAB>TYPE: MESSAGE" (its error's first
      line; the caller runs the command as its own process again for the whole output).
      Ends at the end of its input. Python, onnx and onnxruntime load once per test
      process instead of once per command.

  profile MODEL PROFILE_PREFIX --level disable|basic|extended|all [--runs N] [--optimized OUT]
      runs MODEL N times with SessionOptions.enable_profiling at that optimisation level
      (and optimized_model_filepath = OUT); prints the profile's path, the runs and the
      sum of its kernel events' durations.
  optimize MODEL OUT --tool ort-basic|ort-extended|ort-all|onnxscript
      writes MODEL optimised by onnxruntime at that level (offline, optimized_model_filepath)
      or by onnxscript's optimizer (constant folding, dead code, rewrite rules).
  compare A B
      runs both on the same inputs; prints the largest absolute difference per output.
  quantize MODEL OUT --exclude NAMES_FILE
      onnxruntime.quantization.quantize_dynamic(MODEL, OUT, nodes_to_exclude=NAMES); prints,
      per node of MODEL, whether it is in OUT unchanged (same name, op type and inputs: still
      float) and whether it reads a float weight (what quantization replaces).
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort

LEVELS = {
    "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}
NUMPY_TYPES = {"tensor(float)": np.float32, "tensor(int64)": np.int64, "tensor(int32)": np.int32,
               "tensor(bool)": np.bool_, "tensor(float16)": np.float16}


def make_inputs(session):
    """Fixed-seed inputs: floats normal, integers ones (a valid token id, type id and mask)."""
    rng = np.random.default_rng(0)
    feeds = {}
    for i in session.get_inputs():
        shape = [d if isinstance(d, int) and d > 0 else 1 for d in i.shape]
        dtype = NUMPY_TYPES[i.type]
        if np.issubdtype(dtype, np.floating):
            feeds[i.name] = rng.standard_normal(shape).astype(dtype)
        else:
            feeds[i.name] = np.ones(shape, dtype=dtype)
    return feeds


def session(model, level="all", profile_prefix=None, optimized=None):
    options = ort.SessionOptions()
    options.graph_optimization_level = LEVELS[level]
    options.log_severity_level = 3
    if profile_prefix:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    if optimized:
        options.optimized_model_filepath = optimized
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def cmd_profile(args):
    s = session(args.model, args.level, args.prefix, args.optimized)
    feeds = make_inputs(s)
    for _ in range(args.runs):
        s.run(None, feeds)
    path = s.end_profiling()
    with open(path) as f:
        events = json.load(f)
    kernels = [e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")]
    return {"profile": path, "runs": sum(1 for e in events if e.get("name") == "model_run"),
            "kernel_events": len(kernels), "kernel_us_sum": sum(e["dur"] for e in kernels)}


def cmd_optimize(args):
    if args.tool == "onnxscript":
        import onnxscript.optimizer
        model = onnx.load(args.model)
        optimized = onnxscript.optimizer.optimize(model)
        onnx.save(optimized, args.out)
    else:
        session(args.model, args.tool.split("-", 1)[1], optimized=args.out)
    model = onnx.load(args.out)
    return {"out": args.out, "nodes": len(model.graph.node),
            "op_types": sorted({f"{n.domain + '.' if n.domain else ''}{n.op_type}" for n in model.graph.node})}


def cmd_compare(args):
    a, b = session(args.a, "disable"), session(args.b, "disable")
    feeds = make_inputs(a)
    out_a, out_b = a.run(None, feeds), b.run(None, feeds)
    names = [o.name for o in a.get_outputs()]
    diffs = {n: float(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64)))) for n, x, y in zip(names, out_a, out_b)}
    return {"outputs": names, "max_abs_diff": diffs}


def cmd_quantize(args):
    from onnxruntime.quantization import QuantType, quantize_dynamic
    with open(args.exclude) as f:
        exclude = [line.strip() for line in f if line.strip()]
    quantize_dynamic(args.model, args.out, nodes_to_exclude=exclude, weight_type=QuantType.QInt8)
    session(args.out, "disable")  # it still loads
    original, quantized = onnx.load(args.model).graph, onnx.load(args.out).graph
    weights = {i.name for i in original.initializer if i.data_type == onnx.TensorProto.FLOAT}
    after = {n.name: (n.op_type, list(n.input)) for n in quantized.node}
    # The float weight quantization would replace: a Gather's table, a MatMul's matrix.
    reads_weight = lambda n: (n.input[0] in weights) if n.op_type == "Gather" else any(i in weights for i in n.input)
    nodes = [{"name": n.name, "op_type": n.op_type, "reads_weight": reads_weight(n),
              "unchanged": after.get(n.name) == (n.op_type, list(n.input))} for n in original.node]
    return {"excluded": len(exclude), "nodes": nodes,
            "quantized_op_types": sorted({n.op_type for n in quantized.node})}


def parser():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("profile")
    p.add_argument("model")
    p.add_argument("prefix")
    p.add_argument("--level", choices=LEVELS, default="all")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--optimized")
    p = sub.add_parser("optimize")
    p.add_argument("model")
    p.add_argument("out")
    p.add_argument("--tool", choices=["ort-basic", "ort-extended", "ort-all", "onnxscript"], required=True)
    p = sub.add_parser("compare")
    p.add_argument("a")
    p.add_argument("b")
    p = sub.add_parser("quantize")
    p.add_argument("model")
    p.add_argument("out")
    p.add_argument("--exclude", required=True)
    return parser


def run(argv):
    args = parser().parse_args(argv)
    return {"profile": cmd_profile, "optimize": cmd_optimize, "compare": cmd_compare,
            "quantize": cmd_quantize}[args.command](args)


def serve():
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    sys.stdout = sys.stderr  # whatever a library prints stays out of the answers
    for line in sys.stdin:
        try:
            status, text = 0, json.dumps(run(line.rstrip("\n").split("\t")))
        except (Exception, SystemExit) as error:  # argparse exits: the caller runs it again alone
            lines = str(error).strip().splitlines()
            status, text = 1, f"{type(error).__name__}: {lines[0] if lines else ''}"
        answers.write(f"{status}\t{text.replace(chr(10), ' ')}\n")
    return 0


def main():
    if sys.argv[1:] == ["--server"]:
        return serve()
    json.dump(run(sys.argv[1:]), sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Export a fixture with PyTorch's own ONNX exporter, as a reference for modelexport.

Usage:
    /usr/bin/python3 tools/torch_onnx_reference.py --fixture NAME --pt PATH.pt --out OUT.onnx
        [--opset 14] [--manifest fixtures.json] [--quiet] [--stages] [--no-scope-check]

Rebuilds the eager Python model of fixture NAME (tools/fixture_models.py or
torchvision), loads the weights of PATH.pt into it (torch.jit.load(pt).state_dict()),
and exports it with torch.onnx.export: the example inputs of the fixture (same names,
dtypes and shapes as fixtures.json), input_names/output_names from the manifest,
do_constant_folding=True, the eager model in eval() mode. A GPT-2 variant made with
make_fixtures.py --gpt2-* is found through its "config" entry in fixtures.json (by
default the one next to PATH.pt; --manifest to name another). Any fixture that
fixture_models.spec_for() knows works, the opt-in ones (resnet50, gpt2_124m, big_mlp,
...) included.

Models over 2 GiB (big_mlp): torch.onnx.export (torch 1.13) switches to external data
by itself ("Exporting model exceed maximum protobuf size of 2GB"): every initializer
goes to its own file, named after it, in OUT's directory, so give such a model a
directory of its own. The check below then reads OUT without the external data.

--stages prints one line per stage with the time and the process's peak RSS so far,
like modelexport -v: [  import] (Python, torch, onnx), [   build] (eager model with
random initial weights), [ weights] (torch.jit.load of PATH.pt, copied in),
[  export] (the torch.onnx.export call), [   check] (the scope count below).
--no-scope-check skips that check (it loads OUT again; tools/bench.sh times the
export without it).

Node names and module scopes (checked on torch 1.13, Debian's build):
    torch 1.13's TorchScript-based exporter names every node after the module scope it
    was traced in, with no option needed: torch.onnx.export (utils._model_to_graph)
    registers a scope name for each submodule (_setup_trace_module_map; the tracer
    records it on each node) and then runs
    torch._C._jit_pass_onnx_assign_scoped_names_for_node_and_value. Example names:
        /embeddings/word_embeddings/Gather
        /encoder/layer.0/attention/self/query/MatMul
        /encoder/layer.0/attention/self/Softmax
        /pooler/activation/Tanh
        /Constant_1                (root scope: no module segment)
    The scopes come from tracing the eager nn.Module, which is why this script
    rebuilds it rather than exporting the TorchScript fixture. (torch.onnx.export of
    the loaded ScriptModule also names nodes by scope, from the TorchScript call
    stacks, but less faithfully: same names for bert_tiny/gpt2_tiny, while resnet18
    gets "/layer1/0/conv1/Conv" and loses the scope of the second call of
    BasicBlock.relu (traced code calls it as relu.forward1), and in the scripted
    custom model only blocks.0 keeps its norm/fc/act scopes: blocks.1 and .2 share
    the ResidualBlock type with blocks.0 and their ops land in "/blocks.1/Gemm".)
    No flag is needed to turn the names on; export_modules_as_functions
    (opset >= 15) is a different feature (ONNX local functions), left off here.

    Scope segment format: one segment per module whose forward ran, each the module's
    *unqualified* name: the last non-numeric attribute atom plus any numeric atoms
    after it. So a ModuleList element is "layer.0" (the ModuleList has no forward and
    no segment of its own), and a Sequential element repeats the Sequential's name:
    resnet's layer1.0.conv1 is "/layer1/layer1.0/conv1/Conv", mobilenet_v2's
    features.1.conv.0.0 is "/features/features.1/conv/conv.0/conv.0.0/Conv".
    hierarchy_agreement.py turns such names back into attribute paths.

    A module called twice in one forward gets a suffixed scope for the second call:
    resnet's BasicBlock.relu is "/layer1/layer1.0/relu_1/Relu". Nodes that torch.onnx
    creates after tracing (Identity nodes of deduplicated initializers) carry no
    scope, e.g. "Identity_0".

The script prints how many nodes carry a module scope and exits 1 if none does.
"""

import time

T_START = time.time()  # before the heavy imports: --stages reports their time

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import onnx  # noqa: E402
import torch  # noqa: E402

import fixture_models as fm  # noqa: E402


def load_manifest_entry(path, name):
    if not path or not os.path.isfile(path):
        return None
    with open(path) as f:
        return json.load(f).get(name)


def scoped(name):
    """True if an ONNX node name carries at least one module scope segment."""
    parts = name.split("/")
    return name.startswith("/") and len(parts) >= 3


class Stages:
    """Prints "[   stage] 1.234 s  peak RSS 345 MiB" lines when enabled."""

    def __init__(self, enabled, start):
        self.enabled = enabled
        self.last = start

    def done(self, name):
        now = time.time()
        if self.enabled:
            peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
            print("[%8s] %.3f s  peak RSS %.0f MiB" % (name, now - self.last, peak_mib),
                  flush=True)
        self.last = now


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fixture", required=True, help="fixture name (bert_tiny, gpt2_tiny, ...)")
    ap.add_argument("--pt", required=True, help="the TorchScript fixture to take weights from")
    ap.add_argument("--out", required=True, help="ONNX file to write")
    ap.add_argument("--opset", type=int, default=14)
    ap.add_argument("--manifest", help="fixtures.json (default: next to --pt)")
    ap.add_argument("--quiet", action="store_true", help="print only the summary line")
    ap.add_argument("--stages", action="store_true",
                    help="print each stage's time and the peak RSS so far")
    ap.add_argument("--no-scope-check", action="store_true",
                    help="do not load OUT again to count module scopes")
    args = ap.parse_args(argv)

    t0 = time.time()
    stages = Stages(args.stages, T_START)
    stages.done("import")
    manifest = args.manifest or os.path.join(os.path.dirname(os.path.abspath(args.pt)),
                                             "fixtures.json")
    entry = load_manifest_entry(manifest, args.fixture)
    try:
        spec = fm.spec_for(args.fixture, (entry or {}).get("config"))
    except KeyError as e:
        print("torch_onnx_reference: %s" % e.args[0], file=sys.stderr)
        return 2

    model = fm.build_eager(spec)
    stages.done("build")
    fm.load_fixture_weights(model, args.pt)
    model.eval()
    inputs = fm.example_inputs(spec)
    stages.done("weights")

    input_names = [i.name for i in spec.inputs]
    output_names = list(spec.outputs)
    if entry:  # the manifest is what other tools read: follow it if it differs
        input_names = [i["name"] for i in entry["inputs"]]
        output_names = list(entry["outputs"])
        for t, i in zip(inputs, entry["inputs"]):
            if list(t.shape) != list(i["shape"]) or str(t.dtype).replace("torch.", "") != i["dtype"]:
                print("torch_onnx_reference: example input %s is %s %s, manifest says %s %s"
                      % (i["name"], t.dtype, list(t.shape), i["dtype"], i["shape"]),
                      file=sys.stderr)
                return 2

    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    tmp = args.out + ".tmp"
    with torch.no_grad():
        torch.onnx.export(
            model, inputs, tmp,
            input_names=input_names, output_names=output_names,
            opset_version=args.opset, do_constant_folding=True,
            training=torch.onnx.TrainingMode.EVAL)
    os.replace(tmp, args.out)
    stages.done("export")
    if args.no_scope_check:
        print("torch_onnx_reference: %s -> %s (opset %d, %.1fs; scopes not checked)"
              % (args.fixture, args.out, args.opset, time.time() - t0))
        return 0

    proto = onnx.load(args.out, load_external_data=False)
    nodes = list(proto.graph.node)
    considered = [n for n in nodes if n.op_type not in ("Constant", "Identity")]
    with_scope = [n for n in considered if scoped(n.name)]
    if not args.quiet:
        examples = [n.name for n in with_scope if re.search(r"/(MatMul|Conv|Gemm|Gather)", n.name)]
        for name in (examples or [n.name for n in with_scope])[:5]:
            print("  e.g. %s" % name)
    print("torch_onnx_reference: %s -> %s: %d nodes, %d of %d non-Constant/Identity nodes "
          "carry a module scope (opset %d, %.1fs)"
          % (args.fixture, args.out, len(nodes), len(with_scope), len(considered),
             args.opset, time.time() - t0))
    stages.done("check")
    if not with_scope:
        print("torch_onnx_reference: no node name carries a module scope", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

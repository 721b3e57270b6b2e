#!/usr/bin/python3
"""Write an IO directory for ort_check.js by running a TorchScript file in LibTorch.

Usage:
    /usr/bin/python3 tests/tools/make_io.py MODEL.pt IO_DIR --fixture NAME [--manifest fixtures.json]
    /usr/bin/python3 tests/tools/make_io.py MODEL.pt IO_DIR --input NAME:DTYPE:SHAPE [--input ...]
        [--output-names a,b] [--seed 0]

IO_DIR gets io.json plus input_<i>.bin / output_<i>.bin (raw little-endian, C order):
    {"inputs":  [{"name": "input_ids", "dtype": "int64", "shape": [1, 128], "file": "input_0.bin"}],
     "outputs": [{"name": "last_hidden_state", "dtype": "float32", "shape": [1, 128, 128],
                  "file": "output_0.bin"}]}

--fixture NAME: inputs and output names from fixtures.json (default: next to MODEL.pt),
    input values = the fixture's own example inputs (tools/fixture_models.py), i.e. the
    ones it was traced with.
--input NAME:DTYPE:SHAPE (e.g. input_ids:int64:1,128): random values from --seed;
    float -> standard normal, int -> [0, --int-high), an int input whose name contains
    "mask" -> ones, bool -> random 0/1. Order = forward argument order.
Outputs: the model's result flattened in order (tuples/lists/dicts recursively), named
    from the manifest, --output-names, or output_<i>.
"""

import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(os.path.dirname(os.path.dirname(HERE)), "tools")

TORCH_DTYPES = {
    "float32": torch.float32, "float64": torch.float64, "float16": torch.float16,
    "int64": torch.int64, "int32": torch.int32, "int8": torch.int8, "uint8": torch.uint8,
    "bool": torch.bool,
}
NUMPY_DTYPES = {
    "float32": "<f4", "float64": "<f8", "float16": "<f2", "int64": "<i8", "int32": "<i4",
    "int8": "i1", "uint8": "u1", "bool": "u1",
}


def dtype_name(t):
    for k, v in TORCH_DTYPES.items():
        if t.dtype == v:
            return k
    raise ValueError("unsupported output dtype %s" % t.dtype)


def parse_input(spec):
    try:
        name, dtype, shape = spec.split(":")
        dims = [int(d) for d in shape.split(",") if d.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("--input wants NAME:DTYPE:SHAPE, got %r" % spec)
    if dtype not in TORCH_DTYPES:
        raise argparse.ArgumentTypeError("dtype %r not one of %s" % (dtype, ", ".join(TORCH_DTYPES)))
    return name, dtype, dims


def random_input(name, dtype, shape, gen, int_high):
    if dtype.startswith("float"):
        return torch.randn(shape, generator=gen).to(TORCH_DTYPES[dtype])
    if dtype == "bool":
        return torch.randint(0, 2, shape, generator=gen).to(torch.bool)
    if "mask" in name.lower():
        return torch.ones(shape, dtype=TORCH_DTYPES[dtype])
    return torch.randint(0, int_high, shape, generator=gen).to(TORCH_DTYPES[dtype])


def flatten(value):
    if value is None:
        return []  # an optional output left empty is not a graph output
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in flatten(v)]
    if isinstance(value, dict):
        return [t for k in value for t in flatten(value[k])]
    raise TypeError("model output of type %s is not a tensor" % type(value).__name__)


def write_tensor(io_dir, fname, t, dtype):
    arr = t.detach().cpu().contiguous().numpy()
    arr = np.ascontiguousarray(arr.astype(NUMPY_DTYPES[dtype], copy=False))
    with open(os.path.join(io_dir, fname), "wb") as f:
        f.write(arr.tobytes(order="C"))


def write_io_dir(io_dir, inputs, outputs):
    """inputs/outputs: lists of (name, tensor). Writes io.json and the .bin files."""
    os.makedirs(io_dir, exist_ok=True)
    doc = {"inputs": [], "outputs": []}
    for key, items in (("inputs", inputs), ("outputs", outputs)):
        prefix = "input" if key == "inputs" else "output"
        for i, (name, t) in enumerate(items):
            dtype = dtype_name(t)
            fname = "%s_%d.bin" % (prefix, i)
            write_tensor(io_dir, fname, t, dtype)
            doc[key].append({"name": name, "dtype": dtype, "shape": list(t.shape), "file": fname})
    with open(os.path.join(io_dir, "io.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pt")
    ap.add_argument("io_dir")
    ap.add_argument("--fixture", help="take inputs and output names from this fixture")
    ap.add_argument("--manifest", help="fixtures.json (default: next to the .pt)")
    ap.add_argument("--input", action="append", type=parse_input, default=[],
                    help="NAME:DTYPE:SHAPE, e.g. x:float32:1,3,224,224 (repeatable)")
    ap.add_argument("--output-names", help="comma-separated output names")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--int-high", type=int, default=100,
                    help="upper bound (exclusive) of random integer inputs")
    args = ap.parse_args(argv)

    output_names = None
    if args.fixture:
        if args.input:
            ap.error("give either --fixture or --input")
        sys.path.insert(0, TOOLS)
        import fixture_models as fm
        manifest = args.manifest or os.path.join(os.path.dirname(os.path.abspath(args.pt)),
                                                 "fixtures.json")
        entry = None
        if os.path.isfile(manifest):
            with open(manifest) as f:
                entry = json.load(f).get(args.fixture)
        spec = fm.spec_for(args.fixture, (entry or {}).get("config"))
        names = [i["name"] for i in entry["inputs"]] if entry else [i.name for i in spec.inputs]
        inputs = list(zip(names, fm.example_inputs(spec)))
        output_names = list(entry["outputs"]) if entry else list(spec.outputs)
    elif args.input:
        gen = torch.Generator().manual_seed(args.seed)
        inputs = [(n, random_input(n, d, s, gen, args.int_high)) for n, d, s in args.input]
    else:
        ap.error("give --fixture NAME or at least one --input NAME:DTYPE:SHAPE")
    if args.output_names:
        output_names = [n.strip() for n in args.output_names.split(",")]

    module = torch.jit.load(args.pt, map_location="cpu")
    module.eval()
    with torch.no_grad():
        result = flatten(module(*[t for _, t in inputs]))
    if output_names is None:
        output_names = ["output_%d" % i for i in range(len(result))]
    if len(output_names) != len(result):
        print("make_io: the model returned %d tensors, %d output names given"
              % (len(result), len(output_names)), file=sys.stderr)
        return 2
    write_io_dir(args.io_dir, inputs, list(zip(output_names, result)))
    print("make_io: wrote %s (%d inputs, %d outputs)" % (args.io_dir, len(inputs), len(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

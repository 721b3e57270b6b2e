#!/usr/bin/python3
"""Embed example inputs in a TorchScript archive, for modelexport to export with.

Usage:
    /usr/bin/python3 tools/embed_inputs.py IN.pt OUT.pt SPEC [SPEC ...]

SPEC is name:dtype:shape[=v1,v2,...], e.g. input_ids:int64:1x4=101,7592,2088,102 or
x:float32:1x3x224x224 (dtypes float32, float16, int64, int32, bool; shape dims joined
by 'x', or "scalar"). Values are optional and row-major; without them modelexport
generates the input as it would for an inferred one.

Writes OUT.pt: the same module, saved with torch.jit.save and the extra file
modelexport/inputs.json = {"inputs": [{"name", "dtype", "shape", "values"?}, ...]}.
`modelexport export OUT.pt ...` uses these inputs when no input option is given.
"""

import argparse
import json
import math
import sys

DTYPES = ("float32", "float16", "int64", "int32", "bool")


def parse_spec(text):
    spec, _, values = text.partition("=")
    parts = spec.split(":")
    if len(parts) != 3:
        raise ValueError("%r: expected name:dtype:shape[=values]" % text)
    name, dtype, shape_text = parts
    if dtype not in DTYPES:
        raise ValueError("%r: dtype must be one of %s" % (text, ", ".join(DTYPES)))
    shape = [] if shape_text == "scalar" else [int(d) for d in shape_text.split("x")]
    if any(d <= 0 for d in shape):
        raise ValueError("%r: dims must be positive" % text)
    entry = {"name": name, "dtype": dtype, "shape": shape}
    if values:
        convert = float if dtype.startswith("float") else int
        entry["values"] = [convert(v) for v in values.split(",")]
        if len(entry["values"]) != math.prod(shape):
            raise ValueError("%r: %d values for %d elements" % (text, len(entry["values"]), math.prod(shape)))
    return entry


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("specs", nargs="+", metavar="SPEC")
    args = ap.parse_args(argv)
    try:
        inputs = [parse_spec(s) for s in args.specs]
    except ValueError as e:
        ap.error(str(e))

    import torch

    module = torch.jit.load(args.input, map_location="cpu")
    names = [a.name for a in module.forward.schema.arguments][1:]  # drop self
    unknown = [i["name"] for i in inputs if i["name"] not in names]
    if unknown:
        sys.exit("embed_inputs: %s: forward takes %s, not %s" % (args.input, ", ".join(names), ", ".join(unknown)))
    payload = json.dumps({"inputs": inputs}, sort_keys=True)
    torch.jit.save(module, args.output, _extra_files={"modelexport/inputs.json": payload})
    print("embed_inputs: wrote %s with %s" % (args.output, ", ".join(i["name"] for i in inputs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

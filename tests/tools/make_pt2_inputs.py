#!/usr/bin/env python3
"""Write the torch.export test files: one model as TorchScript and as .pt2, and .pt2
files that are not what they claim. Needs torch 2.x (the repository's .venv).

Usage: .venv/bin/python tests/tools/make_pt2_inputs.py OUTDIR

    OUTDIR/blocks.pt           torch.jit.trace of Blocks (ModuleList of Linear+LayerNorm,
                               a Sequential, a buffer, a constant tensor)
    OUTDIR/blocks.pt2          torch.export.save of the same model, static shapes
    OUTDIR/blocks_dynamic.pt2  the same with a symbolic batch dim (Dim "batch")
    OUTDIR/dict_output.pt      torch.jit.trace(strict=False) of a model returning a dict
    OUTDIR/future_schema.pt2   blocks.pt2 with its schema version set to 99.0
    OUTDIR/not_export.pt2      a zip archive of unrelated files
    OUTDIR/state_dict.pt2      torch.save(state_dict) under a .pt2 name
"""

import json
import os
import sys
import zipfile

import torch

from out_dir_argument import out_dir_argument
from torch import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(6, 6)
        self.norm = nn.LayerNorm(6)

    def forward(self, x):
        return torch.relu(self.norm(self.proj(x))) + x


class Blocks(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([Block(), Block()])
        self.head = nn.Sequential(nn.Linear(6, 4), nn.GELU(), nn.Linear(4, 3))
        self.register_buffer("scale", torch.tensor([0.5, 2.0, 1.0]))

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.head(x) * self.scale, x.mean(-1)


class DictOutput(nn.Module):
    """Returns a dict, as a Hugging Face ModelOutput traced with strict=False does."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(6, 4)

    def forward(self, x):
        h = self.proj(x)
        return {"hidden": h, "pooled": h.mean(1)}


def rewrite(source, target, edit):
    """Copies a zip, passing each entry's name and bytes through edit()."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            zout.writestr(item, edit(item.filename, zin.read(item.filename)))


def main(argv):
    out = out_dir_argument(argv, __doc__)
    torch.manual_seed(0)
    model = Blocks().eval()
    x = torch.randn(2, 5, 6)
    with torch.no_grad():
        torch.jit.trace(model, (x,)).save(os.path.join(out, "blocks.pt"))
        torch.export.save(torch.export.export(model, (x,)), os.path.join(out, "blocks.pt2"))
        torch.jit.trace(DictOutput().eval(), (x,), strict=False).save(os.path.join(out, "dict_output.pt"))
        batch = torch.export.Dim("batch")
        dynamic = torch.export.export(model, (x,), dynamic_shapes={"x": {0: batch}})
        torch.export.save(dynamic, os.path.join(out, "blocks_dynamic.pt2"))
        # What the Python front end and modelexport.export record beside the program:
        # the dims' and outputs' names, and the example inputs at batch 1.
        named = {"dynamic_axes": {"x": {"0": "batch_size"}}, "output_names": ["features", "mean"],
                 "source": {"inputs_from": "a test's own example"}}
        inputs = {"inputs": [{"name": "x", "dtype": "float32", "shape": [1, 5, 6],
                              "values": [round(0.1 * i, 1) for i in range(30)]}]}
        torch.export.save(dynamic, os.path.join(out, "blocks_named.pt2"),
                          extra_files={"modelexport/program.json": json.dumps(named),
                                       "modelexport/inputs.json": json.dumps(inputs)})

    def future(name, data):
        if name.endswith(".json") and "/models/" in name:
            program = json.loads(data)
            program["schema_version"] = {"major": 99, "minor": 0}
            return json.dumps(program).encode()
        return data

    rewrite(os.path.join(out, "blocks.pt2"), os.path.join(out, "future_schema.pt2"), future)
    with zipfile.ZipFile(os.path.join(out, "not_export.pt2"), "w") as z:
        z.writestr("notes/readme.txt", "not a model\n")
    torch.save(model.state_dict(), os.path.join(out, "state_dict.pt2"))
    print("make_pt2_inputs: wrote %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Write small models whose ops need different ONNX opsets (issue 23 item 8: the opset
chosen when --opset-version is not given), traced or scripted with the venv's torch 2.13
from random weights, for tests/e2e/opset_choice_test.cpp:

    grid_warp      a spatial warp: Conv2d features sampled at a given grid (F.grid_sample,
                   4-d: ONNX GridSample, opset 16)
    grid_warp_3d   the same on volumes (5-d grid_sample: GridSample from opset 20, beyond
                   the opsets written)
    plain          Conv2d, ReLU, average pooling, Linear (opset 14 has all)
    gate_bf16      a bfloat16 Linear whose result goes through an if on its data (scripted;
                   ONNX's If has bfloat16 outputs from opset 16), torch.where in the branch

OUT_DIR/models.json: {NAME: {"input_spec": "x:float32:1x3x16x16,grid:float32:1x12x12x2"}}.

  make_opset_choice_models.py OUT_DIR    (run with the venv's torch 2.x)
"""
import json
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn


class Warp(nn.Module):
    def forward(self, features, grid):
        return F.grid_sample(features, grid, mode="bilinear", padding_mode="border", align_corners=False)


class GridWarp(nn.Module):
    def __init__(self, conv=nn.Conv2d):
        super().__init__()
        self.encoder = conv(3, 4, 3, padding=1)
        self.warp = Warp()

    def forward(self, x, grid):
        return self.warp(torch.relu(self.encoder(x)), torch.tanh(grid) * 1.1)


class Plain(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.head = nn.Linear(8, 5)

    def forward(self, x):
        return self.head(F.adaptive_avg_pool2d(torch.relu(self.conv(x)), 1).flatten(1))


class Gate(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(8, 8)

    def forward(self, x):
        y = self.proj(x)
        if bool(y.sum() > 0):
            y = torch.where(y > 0, y, y * 0.5)
        else:
            y = y * 2.0
        return y


def spec(inputs):
    names = {torch.float32: "float32", torch.bfloat16: "bfloat16"}
    return ",".join("%s:%s:%s" % (name, names[t.dtype], "x".join(str(d) for d in t.shape)) for name, t in inputs)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    manifest = {}
    torch.manual_seed(0)
    with torch.no_grad():
        made = {
            "grid_warp": (GridWarp().eval(), [("x", torch.randn(1, 3, 16, 16)), ("grid", torch.randn(1, 12, 12, 2))]),
            "grid_warp_3d": (GridWarp(nn.Conv3d).eval(), [("x", torch.randn(1, 3, 4, 6, 6)), ("grid", torch.randn(1, 3, 5, 5, 3))]),
            "plain": (Plain().eval(), [("x", torch.randn(2, 3, 16, 16))]),
        }
        for name, (model, inputs) in made.items():
            torch.jit.trace(model, tuple(t for _, t in inputs)).save(os.path.join(out, name + ".pt"))
            manifest[name] = {"input_spec": spec(inputs)}
        gate = Gate().eval().to(torch.bfloat16)
        torch.jit.script(gate).save(os.path.join(out, "gate_bf16.pt"))
        manifest["gate_bf16"] = {"input_spec": spec([("x", torch.randn(2, 8).to(torch.bfloat16))])}
    with open(os.path.join(out, "models.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()

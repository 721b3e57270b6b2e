"""Writes a model with an operator no converter handles (torch.linalg.det), traced to
TorchScript (unsupported_traced.pt) and exported with torch.export (unsupported.pt2), and
where.json with the file and line of the call, which the error must name.

  make_unsupported_models.py OUT_DIR    (run with the venv's torch 2.x)
"""
import inspect
import json
import os
import sys

import torch


class Solver(torch.nn.Module):
    def forward(self, x):
        return torch.linalg.det(x)  # the unsupported call


class Root(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.solver = Solver()

    def forward(self, x):
        return self.solver(x) * 2.0


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    model = Root().eval()
    x = torch.randn(4, 4)
    with torch.no_grad():
        torch.jit.trace(model, (x,)).save(os.path.join(out, "unsupported_traced.pt"))
        torch.export.save(torch.export.export(model, (x,)), os.path.join(out, "unsupported.pt2"))
    lines, first = inspect.getsourcelines(Solver.forward)
    line = first + next(i for i, text in enumerate(lines) if "linalg.det" in text)
    with open(os.path.join(out, "where.json"), "w") as f:
        json.dump({"file": os.path.abspath(__file__), "line": line}, f)


if __name__ == "__main__":
    main()

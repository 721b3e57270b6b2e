#!/usr/bin/env python3
"""Writes OUT_DIR/idle_weights.pt2 for tests/unit/torch_export_loader_test.cpp: a program
whose forward reads one parameter (`kept`) of 33 weights, so the .pt2 loader's parameter
paths can be checked to name only what the graph still holds.

    make_idle_weights_program.py OUT_DIR
"""
import os
import sys

import torch

from out_dir_argument import out_dir_argument


class IdleWeights(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.kept = torch.nn.Parameter(torch.full((4,), 100.0))
        for i in range(16):
            self.register_parameter(f"unused{i}", torch.nn.Parameter(torch.full((4,), float(i))))
            self.register_buffer(f"idle{i}", torch.full((4,), float(i) + 0.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.kept


def main() -> None:
    out = out_dir_argument(sys.argv[1:], __doc__)
    program = torch.export.export(IdleWeights().eval(), (torch.ones(2, 4),))
    torch.export.save(program, os.path.join(out, "idle_weights.pt2"))


if __name__ == "__main__":
    main()

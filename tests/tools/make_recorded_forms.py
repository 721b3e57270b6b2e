#!/usr/bin/env python3
"""Writes models whose op forms Module::define cannot write, for the converter tests of
tests/unit/recorded_forms_converters_test.cpp.

    make_recorded_forms.py OUT_DIR

- aliases.pt2: torch.export keeps ATen's alias ops (clip, concat, fix, true_divide,
  rsub, moveaxis, swapaxes, swapdims), which TorchScript's compiler renames to their
  canonical ops when a .pt file is loaded.
- size_as_tensor.pt: a trace records a size used as a tensor as prim::NumToTensor.
- size_arithmetic.pt2: Python operators on a dynamic batch size (SymInt), which
  torch.export records as _operator.* / torch.sym_* calls (mod, neg, floordiv, truediv,
  pow, sym_max, sym_min, sym_float), one of them (n // 3) equal at the batch exported
  at and at that batch plus one.
"""
import os
import sys

import torch

from out_dir_argument import out_dir_argument


class Aliases(torch.nn.Module):
    def forward(self, x, y):
        return (torch.clip(x, -0.5, 0.5), torch.concat([x, y], 1), torch.fix(x * 3.0),
                torch.true_divide(x, y.abs() + 1.0), torch.rsub(x, y, alpha=2.0),
                torch.moveaxis(x, 0, 1), torch.swapaxes(x, 0, 1), torch.swapdims(x, 1, 0))


class SizeAsTensor(torch.nn.Module):
    def forward(self, x):
        return x * x.size(0) + x.size(1)


class SizeArithmetic(torch.nn.Module):
    # n // 3 is the same at the batch the test exports at (4) and that batch plus one;
    # the program's own symbols say it follows the batch all the same.
    def forward(self, x):
        n = x.size(0)
        return (x * (n % 3) + x * (-n) + (n + 1) // 2 + x * (n / 4) + n ** 2 + torch.sym_max(n, 3)
                - torch.sym_min(n, 5) + x * (n // 3), x.new_ones(()) * torch.sym_float(n) * 0.5)


def main(argv):
    out = out_dir_argument(argv, __doc__)
    with torch.no_grad():
        pair = (torch.randn(2, 3), torch.randn(2, 3))
        torch.export.save(torch.export.export(Aliases().eval(), pair), os.path.join(out, "aliases.pt2"))
        batch = torch.export.Dim("batch", min=2)
        program = torch.export.export(SizeArithmetic().eval(), (torch.randn(4, 3),),
                                      dynamic_shapes=({0: batch},)).run_decompositions({})
        torch.export.save(program, os.path.join(out, "size_arithmetic.pt2"))
        torch.jit.trace(SizeAsTensor().eval(), (torch.randn(2, 3),)).save(os.path.join(out, "size_as_tensor.pt"))
    print("make_recorded_forms: wrote %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

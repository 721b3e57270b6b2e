#!/usr/bin/python3
"""Write files that look like models but are not TorchScript, for the CLI error tests.

Usage: /usr/bin/python3 tests/tools/make_bad_inputs.py OUTDIR

    OUTDIR/state_dict.pt     torch.save(model.state_dict()) (zip archive without code/)
    OUTDIR/legacy_pickle.pt  the same with _use_new_zipfile_serialization=False
    OUTDIR/torchvision_nms.pt  TorchScript calling torchvision::nms (the binary registers it)
    OUTDIR/library_op.pt     the same calling boxlib::nms (an operator of a library it does not register)
    OUTDIR/unknown_op.pt     TorchScript whose code calls aten::frobnicate (no such operator)
"""

import os
import sys
import zipfile

import torch

from out_dir_argument import out_dir_argument


def rewrite(source, target, old, new):
    """A copy of a TorchScript archive with `old` replaced by `new` in its code."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.endswith(".py"):
                data = data.replace(old, new)
            zout.writestr(item, data)


def main(argv):
    out = out_dir_argument(argv, __doc__)
    torch.manual_seed(0)
    state = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU()).state_dict()
    torch.save(state, os.path.join(out, "state_dict.pt"))
    torch.save(state, os.path.join(out, "legacy_pickle.pt"), _use_new_zipfile_serialization=False)
    import torchvision

    class Nms(torch.nn.Module):
        def forward(self, boxes, scores):
            return torchvision.ops.nms(boxes, scores, 0.5)

    class Relu(torch.nn.Module):
        def forward(self, x):
            return torch.relu(x) * 2

    nms = os.path.join(out, "torchvision_nms.pt")
    torch.jit.script(Nms()).save(nms)
    rewrite(nms, os.path.join(out, "library_op.pt"), b"ops.torchvision.nms", b"ops.boxlib.nms")
    relu = os.path.join(out, "relu.pt")
    torch.jit.script(Relu()).save(relu)
    # The same archive with its code calling an operator no LibTorch has (as a file from
    # a newer torch calls one this LibTorch lacks).
    rewrite(relu, os.path.join(out, "unknown_op.pt"), b"torch.relu", b"torch.frobnicate")
    os.remove(relu)
    print("make_bad_inputs: wrote %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

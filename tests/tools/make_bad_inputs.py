#!/usr/bin/python3
"""Write files that look like models but are not TorchScript, for the CLI error tests.

Usage: /usr/bin/python3 tests/tools/make_bad_inputs.py OUTDIR

    OUTDIR/state_dict.pt     torch.save(model.state_dict()) (zip archive without code/)
    OUTDIR/legacy_pickle.pt  the same with _use_new_zipfile_serialization=False
"""

import os
import sys

import torch


def main(argv):
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = argv[0]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    state = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU()).state_dict()
    torch.save(state, os.path.join(out, "state_dict.pt"))
    torch.save(state, os.path.join(out, "legacy_pickle.pt"), _use_new_zipfile_serialization=False)
    print("make_bad_inputs: wrote %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

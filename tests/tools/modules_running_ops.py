#!/usr/bin/python3
"""Which modules of a fixture's eager model run ATen ops, found in eager PyTorch alone.

Usage:
    /usr/bin/python3 tests/tools/modules_running_ops.py --fixture NAME [--manifest fixtures.json]

Rebuilds the eager model of fixture NAME (tools/fixture_models.py), runs it once on the
fixture's example inputs with forward pre-hooks/hooks that keep a stack of the modules
whose forward is running, and a TorchDispatchMode that charges every ATen op that
reaches the dispatcher to the module on top of that stack (its own op) and to every
module on the stack (ops its forward ran, directly or through submodules).

Prints JSON: {"modules": [{"path": "encoder.layer.0", "class": "BertLayer",
    "called": true, "own_ops": 0, "total_ops": 123}, ...]} for every module of
named_modules() ("" is the root). This uses neither modelexport nor TorchScript, so a
test can compare modelexport's hierarchy against it.
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "tools"))

import torch  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

import fixture_models as fm  # noqa: E402


class ChargeOps(TorchDispatchMode):
    def __init__(self, stack, own, total):
        super().__init__()
        self.stack, self.own, self.total = stack, own, total

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if self.stack:
            self.own[self.stack[-1]] += 1
            for path in set(self.stack):
                self.total[path] += 1
        return func(*args, **(kwargs or {}))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--manifest")
    args = ap.parse_args(argv)

    config = None
    if args.manifest and os.path.isfile(args.manifest):
        with open(args.manifest) as f:
            config = (json.load(f).get(args.fixture) or {}).get("config")
    spec = fm.spec_for(args.fixture, config)
    model = fm.build_eager(spec)
    inputs = fm.example_inputs(spec)

    stack, called = [], set()
    own = {p: 0 for p, _ in model.named_modules()}
    total = dict(own)

    def enter(path):
        def hook(_module, _inputs):
            stack.append(path)
            called.add(path)
        return hook

    def leave(path):
        def hook(_module, _inputs, _output):
            assert stack and stack[-1] == path, (stack, path)
            stack.pop()
        return hook

    for path, module in model.named_modules():
        module.register_forward_pre_hook(enter(path))
        module.register_forward_hook(leave(path))

    with torch.no_grad(), ChargeOps(stack, own, total):
        model(*inputs)

    out = [{"path": p, "class": type(m).__name__, "called": p in called,
            "own_ops": own[p], "total_ops": total[p]} for p, m in model.named_modules()]
    json.dump({"fixture": args.fixture, "modules": out}, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

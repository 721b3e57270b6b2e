"""Write plain torch.export programs (torch.export.export, no run_decompositions) that hold
higher-order regions (issue 23 item 3): wrap_with_set_grad_enabled (torch.no_grad(),
torch.set_grad_enabled) and wrap_with_autocast (torch.autocast), with the venv's torch
2.13, for tests/e2e/region_programs_test.cpp:

    regions          float32: a disabled CPU autocast region, torch.no_grad(),
                     torch.set_grad_enabled(False), a no_grad region inside a disabled
                     autocast region
    autocast_bf16    an enabled CPU autocast region (bfloat16): Linear, matmul, Conv2d, a
                     cat of a bfloat16 and a float32 tensor (widest), prod over a dim
                     (float32 by autocast), LayerNorm and softmax (left alone), a
                     disabled region inside (its Linear stays float32); a float32 result
    autocast_fp16    the same region with dtype=torch.float16
    autocast_pad     a replicate pad in an autocast region (autocast casts inside aten.pad's
                     decomposition: refused)
    modernbert       transformers' ModernBertForMaskedLM, tiny config (its rotary embedding:
                     a no_grad region around a disabled autocast region)
    falcon           transformers' FalconForCausalLM, tiny config, use_cache=False (the same
                     regions; x @ weight.T)

Each NAME.pt2 carries its example inputs (modelexport/inputs.json, the values modelexport
exports with); NAME.expected.bin holds the program's first output on them as PyTorch runs
it (ExportedProgram.module(), the regions run under their own autocast), float32.
OUT_DIR/programs.json: {NAME: {"regions": [the higher-order targets in the program]}}.

  make_region_programs.py OUT_DIR [--without-transformers]    (the venv's torch 2.x)

--without-transformers writes the first four only (the unit tests' programs).

Cached: OUT_DIR/programs.stamp holds a hash of this script, out_dir_argument.py, the
torch and transformers versions and the arguments; the programs are made again only when
it differs (under a lock: the suites that call this may run in parallel).
"""
import fcntl
import hashlib
import importlib.metadata
import json
import os
import sys
import warnings

import torch
from torch import nn

from out_dir_argument import out_dir_argument


class Regions(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(8, 8)
        self.b = nn.Linear(8, 8)
        self.c = nn.Linear(8, 4)

    def forward(self, x):
        with torch.autocast("cpu", enabled=False):
            y = torch.relu(self.a(x))
            with torch.no_grad():
                y = y * 2.0
        with torch.no_grad():
            z = self.b(y) + x
        with torch.set_grad_enabled(False):
            w = self.c(torch.tanh(z))
        return w


class AutocastBlock(nn.Module):
    def __init__(self, dtype):
        super().__init__()
        self.dtype = dtype
        self.proj = nn.Linear(8, 8)
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.norm = nn.LayerNorm(8)
        self.kept = nn.Linear(8, 8)

    def forward(self, x, img):
        with torch.autocast("cpu", dtype=self.dtype):
            h = self.proj(x)                                    # lower precision
            scores = torch.softmax(h @ x.transpose(-1, -2), -1)  # matmul lower, softmax alone
            h = self.norm(scores @ h)                           # matmul lower, LayerNorm alone
            with torch.autocast("cpu", enabled=False):
                kept = self.kept(x)                             # float32
            h = torch.cat([h, kept], -1)                        # widest: float32
            c = self.conv(img)                                  # lower precision
            c = torch.prod(torch.sigmoid(c), 1)                 # float32
        return h.float().sum(-1) + c.float().mean((1, 2)).unsqueeze(-1)


class AutocastPad(nn.Module):
    """A replicate pad in an autocast region: aten.pad, whose decomposition's
    replication_pad2d autocast runs in float32; modelexport refuses it."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)

    def forward(self, img):
        with torch.autocast("cpu"):
            return nn.functional.pad(self.conv(img), (1, 1, 1, 1), mode="replicate").float()


def hf_models():
    from transformers import FalconConfig, FalconForCausalLM, ModernBertConfig, ModernBertForMaskedLM

    modernbert = ModernBertForMaskedLM(ModernBertConfig(
        vocab_size=100, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        max_position_embeddings=128, global_attn_every_n_layers=2, local_attention=8, pad_token_id=0,
        bos_token_id=1, eos_token_id=2, cls_token_id=1, sep_token_id=2, reference_compile=False)).eval()
    falcon = FalconForCausalLM(FalconConfig(
        vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, multi_query=True,
        parallel_attn=True, bias=False, max_position_embeddings=128, bos_token_id=1, eos_token_id=1)).eval()
    ids = torch.randint(3, 100, (2, 7))
    mask = torch.ones(2, 7, dtype=torch.long)
    mask[1, 5:] = 0
    return [("modernbert", modernbert, {"input_ids": ids, "attention_mask": mask}, {}),
            ("falcon", falcon, {"input_ids": ids, "attention_mask": mask}, {"use_cache": False})]


def region_targets(program):
    """The higher-order calls of a program, its regions' bodies included."""
    found = set()

    def walk(module):
        for node in module.graph.nodes:
            if isinstance(node.target, torch._ops.HigherOrderOperator):
                found.add(node.target.name())
        for child in module.children():
            if isinstance(child, torch.fx.GraphModule):
                walk(child)

    walk(program.graph_module)
    return sorted(found)


def embedded_inputs(inputs):
    entries = []
    for name, t in inputs.items():
        entries.append({"name": name, "dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
                        "values": t.flatten().tolist()})
    return json.dumps({"inputs": entries})


def write(out, name, model, inputs, constants, manifest):
    program = torch.export.export(model, (), {**inputs, **constants})
    with torch.no_grad():
        result = program.module()(**inputs, **constants)
    first = result if isinstance(result, torch.Tensor) else next(
        t for t in torch.utils._pytree.tree_leaves(result) if isinstance(t, torch.Tensor))
    first.detach().float().contiguous().numpy().tofile(os.path.join(out, name + ".expected.bin"))
    torch.export.save(program, os.path.join(out, name + ".pt2"),
                      extra_files={"modelexport/inputs.json": embedded_inputs(inputs)})
    manifest[name] = {"regions": region_targets(program), "output_shape": list(first.shape)}


def stamp(with_transformers):
    """What the programs are made of: a change to any of it makes them again."""
    h = hashlib.sha256(("%s %s %s" % (torch.__version__, importlib.metadata.version("transformers"),
                                      with_transformers)).encode())
    here = os.path.dirname(os.path.abspath(__file__))
    for name in (os.path.abspath(__file__), os.path.join(here, "out_dir_argument.py")):
        with open(name, "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def main(argv):
    with_transformers = "--without-transformers" not in argv
    out = out_dir_argument([a for a in argv if a != "--without-transformers"], __doc__)
    with open(os.path.join(out, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp_path = os.path.join(out, "programs.stamp")
        wanted = stamp(with_transformers)
        if os.path.exists(stamp_path) and open(stamp_path).read() == wanted:
            print("make_region_programs: kept %s (made by the same script and versions)" % out)
            return 0
        if os.path.exists(stamp_path):
            os.remove(stamp_path)
        make(out, with_transformers)
        with open(stamp_path, "w") as f:
            f.write(wanted)
    return 0


def make(out, with_transformers):
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    manifest = {}
    x = torch.randn(2, 5, 8)
    img = torch.randn(2, 2, 6, 6)
    write(out, "regions", Regions().eval(), {"x": x}, {}, manifest)
    write(out, "autocast_bf16", AutocastBlock(torch.bfloat16).eval(), {"x": x, "img": img}, {}, manifest)
    write(out, "autocast_fp16", AutocastBlock(torch.float16).eval(), {"x": x, "img": img}, {}, manifest)
    write(out, "autocast_pad", AutocastPad().eval(), {"img": img}, {}, manifest)
    for name, model, inputs, constants in hf_models() if with_transformers else []:
        write(out, name, model, inputs, constants, manifest)
    with open(os.path.join(out, "programs.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print("make_region_programs: wrote %s" % out)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

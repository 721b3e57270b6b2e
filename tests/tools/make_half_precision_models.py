"""Write small float16 and bfloat16 models (weights and activations; issue 23 item 9),
each traced (NAME_DTYPE.pt) and torch.export-ed (NAME_DTYPE.pt2) with the venv's torch
2.13, for tests/e2e/half_precision_test.cpp:

    block    a pre-norm transformer block: LayerNorm, nn.MultiheadAttention, GELU MLP
    hand     attention written out: fused qkv Linear, softmax(q k^T / sqrt(d)) v, causal
             scaled_dot_product_attention, LayerNorm, a constant made in the model's dtype
    cnn      Conv2d, BatchNorm2d, ReLU, max pooling, grouped Conv2d, SiLU, a residual add,
             nearest upsampling, adaptive average pooling, Linear, softmax

OUT_DIR/models.json: {NAME_DTYPE: {"input_spec": "x:float16:2x8x32"}}.

  make_half_precision_models.py OUT_DIR    (run with the venv's torch 2.x)
"""
import json
import os
import sys

import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, d=32, heads=4):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x):
        y = self.ln1(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))


class HandAttention(nn.Module):
    def __init__(self, d=32, heads=4):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.o = nn.Linear(d, d)
        self.norm = nn.LayerNorm(d)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        a = torch.softmax(q @ k.transpose(-1, -2) / (d // self.heads) ** 0.5, dim=-1)
        y = (a @ v).transpose(1, 2).reshape(b, t, d)
        causal = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        y = y + causal.transpose(1, 2).reshape(b, t, d)
        return self.norm(x + self.o(y)) * 0.5 + torch.rsqrt(torch.tensor(2.0, dtype=x.dtype))


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 3, padding=1)
        self.bn = nn.BatchNorm2d(16)
        self.c2 = nn.Conv2d(16, 16, 3, padding=1, groups=4)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)
        with torch.no_grad():
            self.bn.running_mean.uniform_(-0.2, 0.2)
            self.bn.running_var.uniform_(0.5, 1.5)
            self.bn.weight.uniform_(0.5, 1.5)
            self.bn.bias.uniform_(-0.2, 0.2)

    def forward(self, x):
        x = torch.relu(self.bn(self.c1(x)))
        x = nn.functional.max_pool2d(x, 2)
        x = nn.functional.silu(self.c2(x)) + x
        x = nn.functional.interpolate(x, scale_factor=2.0, mode="nearest")
        return torch.softmax(self.fc(self.pool(x).flatten(1)), -1)


MODELS = {"block": (Block, (2, 8, 32)), "hand": (HandAttention, (2, 8, 32)), "cnn": (Cnn, (2, 3, 16, 16))}
DTYPES = {"fp16": (torch.float16, "float16"), "bf16": (torch.bfloat16, "bfloat16")}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    manifest = {}
    for name, (cls, shape) in MODELS.items():
        for tag, (dtype, dtype_name) in DTYPES.items():
            torch.manual_seed(0)
            model = cls().eval().to(dtype)
            x = torch.randn(shape).to(dtype)
            stem = "%s_%s" % (name, tag)
            with torch.no_grad():
                torch.jit.trace(model, x).save(os.path.join(out, stem + ".pt"))
                torch.export.save(torch.export.export(model, (x,)), os.path.join(out, stem + ".pt2"))
            manifest[stem] = {"input_spec": "x:%s:%s" % (dtype_name, "x".join(str(d) for d in shape))}
    with open(os.path.join(out, "models.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()

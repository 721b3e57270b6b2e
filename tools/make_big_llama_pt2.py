#!/usr/bin/env python3
"""Writes a Llama-shaped torch.export archive (.pt2) with random weights, of any size, in
bounded memory: the weights are never all in RAM (not even once).

Usage (the repository's .venv: torch 2.13, transformers):
    .venv/bin/python tools/make_big_llama_pt2.py OUT.pt2 [--preset 7b|672m|100m|20m|small]
        [--dtype float16|float32|bfloat16] [--seq 8] [--check]
    .venv/bin/python tools/make_big_llama_pt2.py OUT.onnx --preset P --dynamo
    .venv/bin/python tools/make_big_llama_pt2.py - --preset P --info

How:
  1. LlamaForCausalLM (transformers, use_cache=False, SDPA attention, return_dict=False)
     is built on the meta device, then given uninitialized CPU storage (to_empty): the
     pages are not touched, so they take no memory; the rotary inv_freq buffer is
     computed again (it is no weight);
  2. torch.export.export on example inputs (input_ids and attention_mask of 1 x SEQ, as
     tools/hf_models.py) traces with fake tensors, then run_decompositions({}), and
     torch.export.save writes the archive; its weight records hold those untouched pages
     (zeros), a tensor at a time;
  3. every parameter's record is overwritten in place with seeded random values
     (normal(0, 0.02); ones for the RMSNorm weights), 64 MiB at a time, and its CRC-32
     is set again in the zip's central directory and data descriptor. The archive is
     written as OUT's stem + ".partial.pt2" and renamed when complete.
Measured for 7b (float16, 13.5 GB): 3 min 50 s, peak RSS 0.9 GiB.
--check (for small presets) loads the result with torch.export.load, compares each
parameter with the values written, and runs it.

--info prints the preset's parameter count. --dynamo instead runs the bench's peer: the
same model (random weights, in memory) through torch.onnx.export(model, (), kwargs,
dynamo=True), saved to OUT.onnx with external data.

Presets (vocabulary 32000):
    7b     hidden 4096, 32 layers, 32 heads, intermediate 11008: 6.74 G parameters
    672m   hidden 2048, 12 layers, 16 heads (4 kv), intermediate 5632: 672 M
    100m   hidden 768, 8 layers, 12 heads (4 kv), intermediate 2048: 99 M
    20m    hidden 256, 4 layers, 4 heads (2 kv), intermediate 688: 19 M
    small  hidden 256, 2 layers, 4 heads (2 kv), intermediate 688 (for --check)
"""

import argparse
import functools
import json
import os
import struct
import sys
import zlib

PRESETS = {
    "20m": dict(hidden_size=256, intermediate_size=688, num_hidden_layers=4, num_attention_heads=4,
                num_key_value_heads=2, max_position_embeddings=512),
    "100m": dict(hidden_size=768, intermediate_size=2048, num_hidden_layers=8, num_attention_heads=12,
                 num_key_value_heads=4, max_position_embeddings=1024),
    "7b": dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
               num_key_value_heads=32, max_position_embeddings=4096),
    "672m": dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=12, num_attention_heads=16,
                 num_key_value_heads=4, max_position_embeddings=2048),
    "small": dict(hidden_size=256, intermediate_size=688, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=256),
}
CHUNK = 64 << 20


def build(preset, dtype):
    import torch
    import transformers as tf

    cfg = tf.LlamaConfig(vocab_size=32000, use_cache=False, attn_implementation="sdpa", **PRESETS[preset])
    with torch.device("meta"):
        model = tf.LlamaForCausalLM(cfg).to(dtype)
    model.to_empty(device="cpu")  # uninitialized: no page is touched
    rotary = model.model.rotary_emb
    inv_freq, _ = rotary.rope_init_fn(cfg, torch.device("cpu"))
    rotary.inv_freq = inv_freq
    rotary.original_inv_freq = inv_freq
    model.eval()
    return model


def export(model, path, seq):
    import torch
    import transformers.masking_utils as masking

    # As tools/hf_models.py: the mask builder without vmap, tuple outputs.
    masking.ALL_MASK_ATTENTION_FUNCTIONS._global_mapping["sdpa"] = masking.sdpa_mask_older_torch
    g = torch.Generator().manual_seed(0)
    kwargs = {"input_ids": torch.randint(0, 32000, (1, seq), generator=g),
              "attention_mask": torch.ones(1, seq, dtype=torch.long)}
    model.forward = functools.partial(model.forward, return_dict=False)  # keeps the signature
    with torch.no_grad():
        program = torch.export.export(model, (), kwargs)
        program = program.run_decompositions({})
    torch.export.save(program, path)


def le(data, at, size):
    return int.from_bytes(data[at:at + size], "little")


def zip_entries(f):
    """name -> (data offset, size, central directory entry offset), from the zip's directory."""
    f.seek(0, os.SEEK_END)
    end = f.tell()
    f.seek(max(0, end - 65536 - 22))
    tail = f.read()
    base = end - len(tail)
    eocd = tail.rfind(b"PK\x05\x06")
    count, dir_offset = le(tail, eocd + 10, 2), le(tail, eocd + 16, 4)
    if (count == 0xFFFF or dir_offset == 0xFFFFFFFF) and tail[eocd - 20:eocd - 16] == b"PK\x06\x07":
        f.seek(le(tail, eocd - 20 + 8, 8))
        z64 = f.read(56)
        count, dir_offset = le(z64, 32, 8), le(z64, 48, 8)
    f.seek(dir_offset)
    directory = f.read(base + eocd - dir_offset)
    entries, at = {}, 0
    for _ in range(count):
        assert directory[at:at + 4] == b"PK\x01\x02", "not a zip central directory entry"
        name_len, extra_len, comment_len = le(directory, at + 28, 2), le(directory, at + 30, 2), le(directory, at + 32, 2)
        size, local = le(directory, at + 24, 4), le(directory, at + 42, 4)
        name = directory[at + 46:at + 46 + name_len].decode()
        e, extra_end = at + 46 + name_len, at + 46 + name_len + extra_len
        while e + 4 <= extra_end:  # zip64 extra field: 64-bit sizes and offset
            tag, length = le(directory, e, 2), le(directory, e + 2, 2)
            if tag == 1:
                p = e + 4
                if size == 0xFFFFFFFF:
                    size, p = le(directory, p, 8), p + 8
                if le(directory, at + 20, 4) == 0xFFFFFFFF:
                    p += 8
                if local == 0xFFFFFFFF:
                    local = le(directory, p, 8)
            e += 4 + length
        assert le(directory, at + 10, 2) == 0, f"{name} is compressed"
        f.seek(local)
        header = f.read(30)
        data = local + 30 + le(header, 26, 2) + le(header, 28, 2)
        entries[name] = (data, size, dir_offset + at)
        at = extra_end + comment_len
    return entries


def fill(path, seed):
    """Overwrites each parameter's record with random values; fixes its CRC-32s."""
    import torch

    with open(path, "r+b") as f:
        entries = zip_entries(f)
        configs = [n for n in entries if n.endswith("_weights_config.json")]
        assert len(configs) == 1, "one weights config expected"
        f.seek(entries[configs[0]][0])
        config = json.loads(f.read(entries[configs[0]][1]))["config"]
        prefix = configs[0].rsplit("/", 1)[0] + "/"
        g = torch.Generator().manual_seed(seed)
        for name, meta in config.items():
            if not meta["is_param"]:
                continue
            data, size, central = entries[prefix + meta["path_name"]]
            serde_dtypes = {6: torch.float16, 7: torch.float32, 13: torch.bfloat16}  # torch._export.serde ScalarType
            dtype = serde_dtypes[meta["tensor_meta"]["dtype"]]
            elements = size // torch.tensor([], dtype=dtype).element_size()
            crc, done = 0, 0
            f.seek(data)
            while done < elements:
                n = min(elements - done, CHUNK // 4)
                values = torch.ones(n) if "norm" in name else torch.randn(n, generator=g) * 0.02
                raw = values.to(dtype).view(torch.uint8).numpy().tobytes()
                f.write(raw)
                crc = zlib.crc32(raw, crc)
                done += n
            f.seek(central + 16)
            f.write(struct.pack("<I", crc))
            f.seek(data + size)  # the data descriptor: optional signature, then the CRC
            sig = f.read(4)
            f.seek(data + size + (4 if sig == b"PK\x07\x08" else 0))
            f.write(struct.pack("<I", crc))
    return config


def check(path, config, dtype, seq):
    """torch.export.load gives the values fill() wrote (drawn again in its order), and runs."""
    import torch

    program = torch.export.load(path)
    state = program.state_dict
    gen = torch.Generator().manual_seed(0)
    for name, meta in config.items():
        if not meta["is_param"]:
            continue
        flat = state[name].reshape(-1)
        done = 0
        while done < flat.numel():
            n = min(flat.numel() - done, CHUNK // 4)
            expected = torch.ones(n) if "norm" in name else torch.randn(n, generator=gen) * 0.02
            assert torch.equal(flat[done:done + n], expected.to(dtype)), name
            done += n
    ids = torch.randint(0, 32000, (1, seq), generator=torch.Generator().manual_seed(1))
    out = program.module()(input_ids=ids, attention_mask=torch.ones(1, seq, dtype=torch.long))
    assert torch.isfinite(out[0]).all()
    print(f"check: {len(state)} parameters as written; the program runs: logits {tuple(out[0].shape)}")


def dynamo(preset, dtype, seq, out):
    """The peer: torch.onnx.export(dynamo=True) of the eager model, random weights."""
    import torch
    import transformers.masking_utils as masking

    model = build(preset, dtype)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.ones_like(p) if "norm" in name else torch.randn(p.shape, generator=g).to(dtype) * 0.02)
    masking.ALL_MASK_ATTENTION_FUNCTIONS._global_mapping["sdpa"] = masking.sdpa_mask_older_torch
    model.forward = functools.partial(model.forward, return_dict=False)
    kwargs = {"input_ids": torch.randint(0, 32000, (1, seq), generator=g),
              "attention_mask": torch.ones(1, seq, dtype=torch.long)}
    with torch.no_grad():
        program = torch.onnx.export(model, (), kwargs=kwargs, dynamo=True)
    program.save(out, external_data=True)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--preset", default="7b", choices=sorted(PRESETS))
    ap.add_argument("--dtype", default="float16", choices=["float16", "float32", "bfloat16"])
    ap.add_argument("--seq", type=int, default=8)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--dynamo", action="store_true", help="OUT is an .onnx written by the dynamo exporter")
    ap.add_argument("--info", action="store_true", help="print the parameter count and exit (OUT unused)")
    args = ap.parse_args()
    import torch

    if args.info:
        import transformers as tf

        with torch.device("meta"):
            model = tf.LlamaForCausalLM(tf.LlamaConfig(vocab_size=32000, **PRESETS[args.preset]))
        print(sum(p.numel() for p in model.parameters()))
        return 0

    dtype = getattr(torch, args.dtype)
    torch.manual_seed(0)
    if args.dynamo:
        return dynamo(args.preset, dtype, args.seq, args.out)
    tmp = os.path.splitext(args.out)[0] + ".partial.pt2"
    model = build(args.preset, dtype)
    params = sum(p.numel() for p in model.parameters())
    print(f"{args.preset}: {params / 1e9:.2f} G parameters, {args.dtype}", file=sys.stderr)
    export(model, tmp, args.seq)
    del model
    config = fill(tmp, seed=0)
    os.replace(tmp, args.out)
    if args.check:
        check(args.out, config, dtype, args.seq)
    return 0


if __name__ == "__main__":
    sys.exit(main())

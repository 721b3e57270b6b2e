#!/usr/bin/env python3
"""torch 2.13's own ONNX exporters on the tools/hf_models.py models: the peers of the bench.

Usage (with the repository's .venv: torch 2.13, transformers, onnx, onnxscript):
    .venv/bin/python tools/torch2_onnx_reference.py --model NAME --out OUT.onnx
        (--dynamo | --torchscript) [--opset N] [--stages]
    .venv/bin/python tools/torch2_onnx_reference.py --make NAME FORMAT PATH
    .venv/bin/python tools/torch2_onnx_reference.py --info NAME

NAME is a tools/hf_models.py model (bert, gpt2, llama, t5, vit, whisper_encoder: tiny
configs) or one of the bigger configs below (random weights, seeded, nothing from a hub):
    bert_h512_l8   BertModel,        hidden 512, 8 layers, 8 heads, vocab 30522
    gpt2_h512_l8   GPT2Model,        hidden 512, 8 layers, 8 heads, vocab 50257
    llama_h512_l8  LlamaForCausalLM, hidden 512, 8 layers, 8 heads (4 kv), vocab 32000
    llama_672m     LlamaForCausalLM, hidden 2048, 12 layers, 16 heads (4 kv), intermediate 5632,
                   vocab 32000: 672M parameters, 2.7 GB of float32 (the scaling bench)
The model is built exactly as hf_models.py builds it (torch.manual_seed(0) first), with
the same example inputs (hf_models.example(..., 0)), the same mask builder
(sdpa_mask_older_torch) and return_dict=False (TupleOutputs for dynamo; for the TorchScript
exporter, which binds kwargs to positions, a wrapper module taking them by position).

--dynamo:      torch.onnx.export(model, (), kwargs=inputs, dynamo=True[, opset_version=N]),
               then ONNXProgram.save(OUT);
--torchscript: torch.onnx.export(model, (), OUT, kwargs=inputs, dynamo=False,
               opset_version=N or 14, do_constant_folding=True, input_names=...).
--stages prints [  import] [   build] [  export] lines (seconds, peak RSS so far).
--make writes the .pt (torch.jit.trace) or .pt2 (torch.export) of NAME the way
hf_models.py --generate does (its generate(), with this file's builder), for
modelexport. --info prints the parameter count, weight bytes and modelexport's --input-spec for the
.pt as JSON.
"""

import argparse
import json
import os
import resource
import sys
import time

T0 = time.time()
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

HF_BUILD = []  # hf_models.build, kept when --make replaces it
BIG = {
    "bert_h512_l8": ("bert", dict(hidden_size=512, num_hidden_layers=8, num_attention_heads=8,
                                  intermediate_size=2048, max_position_embeddings=512, vocab_size=30522)),
    "gpt2_h512_l8": ("gpt2", dict(n_embd=512, n_layer=8, n_head=8, n_positions=512, vocab_size=50257)),
    "llama_h512_l8": ("llama", dict(hidden_size=512, intermediate_size=1408, num_hidden_layers=8,
                                    num_attention_heads=8, num_key_value_heads=4,
                                    max_position_embeddings=512, vocab_size=32000)),
    "llama_672m": ("llama", dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=12,
                                 num_attention_heads=16, num_key_value_heads=4,
                                 max_position_embeddings=2048, vocab_size=32000)),
}


def stage(name, start, enabled):
    if enabled:
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print("[%8s] %.3f s  peak RSS %.0f MiB" % (name, time.time() - start, rss), flush=True)
    return time.time()


def build(name):
    """(model, input names): hf_models.build for its models, the BIG configs otherwise."""
    import hf_models

    if name not in BIG:
        return HF_BUILD[0](name) if HF_BUILD else hf_models.build(name)
    import torch
    import transformers as tf

    family, cfg = BIG[name]
    torch.manual_seed(0)
    if family == "bert":
        model = tf.BertModel(tf.BertConfig(attn_implementation="sdpa", **cfg))
        inputs = ["input_ids", "attention_mask", "token_type_ids"]
    elif family == "gpt2":
        model = tf.GPT2Model(tf.GPT2Config(use_cache=False, attn_implementation="sdpa", **cfg))
        inputs = ["input_ids", "attention_mask"]
    else:
        model = tf.LlamaForCausalLM(tf.LlamaConfig(use_cache=False, attn_implementation="sdpa", **cfg))
        inputs = ["input_ids", "attention_mask"]
    model.eval()
    return model, inputs


def Positional(model, names):
    """nn.Module calling model(**dict(zip(names, inputs)), return_dict=False)."""
    import torch

    class Wrapper(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *inputs):
            return self.model(**dict(zip(names, inputs)), return_dict=False)

    return Wrapper()


def family(name):
    return BIG[name][0] if name in BIG else name


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model")
    ap.add_argument("--out")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--dynamo", action="store_true")
    mode.add_argument("--torchscript", action="store_true")
    ap.add_argument("--opset", type=int)
    ap.add_argument("--stages", action="store_true")
    ap.add_argument("--make", nargs=3, metavar=("NAME", "FORMAT", "PATH"))
    ap.add_argument("--info", metavar="NAME")
    args = ap.parse_args()

    import torch
    import transformers.masking_utils as masking

    import hf_models

    if args.make:
        name, fmt, path = args.make
        HF_BUILD.append(hf_models.build)
        hf_models.build = lambda _n: build(name)  # generate() builds through this name
        hf_models.generate(family(name), fmt, path)
        return 0
    if args.info:
        model, _ = build(args.info)
        params = sum(p.numel() for p in model.state_dict().values())
        nbytes = sum(p.numel() * p.element_size() for p in model.state_dict().values())
        spec = hf_models.spec_args(family(args.info), _)
        print(json.dumps({"parameters": params, "weight_bytes": nbytes, "spec": spec}))
        return 0
    if not (args.model and args.out and (args.dynamo or args.torchscript)):
        ap.error("give --model, --out and --dynamo or --torchscript (or --make / --info)")

    t = stage("import", T0, args.stages)
    model, input_names = build(args.model)
    kwargs = hf_models.example(family(args.model), input_names, 0)
    masking.ALL_MASK_ATTENTION_FUNCTIONS._global_mapping["sdpa"] = masking.sdpa_mask_older_torch
    t = stage("build", t, args.stages)
    with torch.no_grad():
        if args.dynamo:
            extra = {"opset_version": args.opset} if args.opset else {}
            with hf_models.TupleOutputs(model):
                program = torch.onnx.export(model, (), kwargs=kwargs, dynamo=True, verbose=False, **extra)
            program.save(args.out)
        else:
            # The TorchScript exporter binds kwargs to positions, which clashes with
            # TupleOutputs' keyword: a wrapper takes the inputs by position instead.
            torch.onnx.export(Positional(model, list(kwargs)), tuple(kwargs.values()), args.out,
                              dynamo=False, opset_version=args.opset or 14,
                              do_constant_folding=True, input_names=list(kwargs))
    stage("export", t, args.stages)
    return 0


if __name__ == "__main__":
    sys.exit(main())

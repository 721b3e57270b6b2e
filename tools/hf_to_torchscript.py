#!/usr/bin/env python3
"""Make a TorchScript model directory from a Hugging Face model, for modelexport.

Usage:
    python3 tools/hf_to_torchscript.py MODEL_ID OUT_DIR [--text TEXT] [--max-length N]
        [--revision REV]

Needs torch and transformers (pip install transformers). transformers is not installed
where modelexport's tests run, so this script is not run by the tests; it uses only
transformers' documented API (AutoTokenizer/AutoModel.from_pretrained with
torchscript=True, calling the tokenizer with return_tensors="pt", save_pretrained).
from_pretrained downloads the model unless it is in the local cache; modelexport itself
never downloads.

Writes to OUT_DIR:
    model.pt        torch.jit.trace of the model on the tokenized text, with the example
                    inputs embedded as modelexport/inputs.json
    config.json     the model's config
    tokenizer files tokenizer.save_pretrained (vocab.txt, tokenizer.json, vocab.json +
                    merges.txt, tokenizer_config.json, ... as the tokenizer has them)

Then: modelexport export OUT_DIR model.onnx [--input-text "..."]

Tracing passes inputs by position, so the traced inputs are the longest prefix of the
model's forward parameters that the tokenizer produces: input_ids, attention_mask,
token_type_ids for BERT; input_ids alone for GPT-2 (whose second parameter is
past_key_values).
"""

import argparse
import inspect
import json
import os
import sys


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_id", help="Hugging Face model id (ORG/NAME) or a local model directory")
    ap.add_argument("out_dir")
    ap.add_argument("--text", default="Hello world", help="example text to trace with (default: %(default)s)")
    ap.add_argument("--max-length", type=int, help="pad/truncate the example to this many tokens")
    ap.add_argument("--revision", help="model revision (branch, tag or commit)")
    args = ap.parse_args(argv)

    try:
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError as e:
        sys.exit("hf_to_torchscript: needs torch and transformers (pip install transformers): %s" % e)

    tokenizer = AutoTokenizer.from_pretrained(args.model_id, revision=args.revision)
    model = AutoModel.from_pretrained(args.model_id, revision=args.revision, torchscript=True)
    model.eval()

    call = {"return_tensors": "pt"}
    if args.max_length:
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token  # GPT-2 has no padding token
        call.update(padding="max_length", truncation=True, max_length=args.max_length)
    encoded = tokenizer(args.text, **call)

    names = []
    for parameter in inspect.signature(model.forward).parameters:
        if parameter not in encoded:
            break
        names.append(parameter)
    if not names:
        sys.exit("hf_to_torchscript: %s.forward does not start with any of the tokenizer's outputs (%s)"
                 % (type(model).__name__, ", ".join(encoded.keys())))
    example = tuple(encoded[name] for name in names)

    with torch.no_grad():
        traced = torch.jit.trace(model, example)

    os.makedirs(args.out_dir, exist_ok=True)
    inputs = {"inputs": [{"name": name, "dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
                          "values": t.flatten().tolist()} for name, t in zip(names, example)]}
    path = os.path.join(args.out_dir, "model.pt")
    torch.jit.save(traced, path, _extra_files={"modelexport/inputs.json": json.dumps(inputs)})
    tokenizer.save_pretrained(args.out_dir)
    model.config.save_pretrained(args.out_dir)
    print("hf_to_torchscript: wrote %s (inputs %s) with its tokenizer and config; export it with:\n"
          "  modelexport export %s model.onnx" % (path, ", ".join(names), args.out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())

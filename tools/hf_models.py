#!/usr/bin/env python3
"""Real Hugging Face model classes, as TorchScript and as torch.export archives, exported
with modelexport and checked against PyTorch.

Usage (with the repository's .venv: torch 2.13, transformers, onnx, onnxruntime):
    .venv/bin/python tools/hf_models.py --out build/hf-models --binary build/modelexport
        [--only bert,llama] [--formats pt,pt2] [--json OUT.json]

Each model is a transformers class built from a small config with random weights (seeded;
nothing comes from a hub): BertModel (SDPA attention), GPT2Model, LlamaForCausalLM
(RMSNorm, rotary embeddings, grouped-query attention), OPT, BLOOM and Falcon causal LMs
(causal masks written in place through views; Falcon's rotary under autocast), T5Model,
ViTModel and Whisper's encoder. For each model and format:
  1. OUT/NAME.KEY.pt (torch.jit.trace) or OUT/NAME.KEY.pt2 (torch.export.export + save; for
     the causal LMs after run_decompositions({})), made in a child process and kept while
     this file and the torch/transformers versions stay (KEY);
  2. `modelexport export FILE OUT/NAME_FORMAT/NAME.onnx` (inputs: --input-spec for .pt;
     a .pt2 records its own);
  3. onnx.checker.check_model(full_check=True); every node has a hierarchy_path stamp;
  4. onnxruntime on fresh inputs (not the export's: other ids, a mask with padding)
     against the eager PyTorch model: max |a-b|/(1+|b|) <= 1e-4.
The eager model's outputs on those inputs depend on what the model files depend on (this
file, the versions): they are made once per KEY, for all models in one child process, and
kept beside them (OUT/NAME.KEY.reference.npz), so a run that finds every file kept imports
neither torch nor transformers (~4 s).
Prints one line per model and format; exit status 0 when all passed.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOL = 1e-4
SEQ = 8
# Their causal-mask builders run vmap, which a raw torch.export program keeps as functorch
# calls; run_decompositions({}) (what torch.onnx's dynamo exporter does too) lowers them
# to ATen ops.
VMAP_MASKS = {"gpt2", "llama"}


def build(name):
    """(model, {input name: tensor}) with seeded random weights and inputs."""
    import torch
    import transformers as tf

    torch.manual_seed(0)
    small = dict(vocab_size=100)
    if name == "bert":
        cfg = tf.BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                            max_position_embeddings=64, attn_implementation="sdpa", **small)
        model = tf.BertModel(cfg)
        inputs = ["input_ids", "attention_mask", "token_type_ids"]
    elif name == "gpt2":
        cfg = tf.GPT2Config(n_embd=32, n_layer=2, n_head=4, n_positions=64, use_cache=False,
                            attn_implementation="sdpa", **small)
        model = tf.GPT2Model(cfg)
        inputs = ["input_ids", "attention_mask"]
    elif name == "llama":
        cfg = tf.LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                             num_key_value_heads=2, max_position_embeddings=64, use_cache=False,
                             attn_implementation="sdpa", **small)
        model = tf.LlamaForCausalLM(cfg)
        inputs = ["input_ids", "attention_mask"]
    elif name == "opt":  # its causal mask is written into a slice (copy_ in a raw program)
        cfg = tf.OPTConfig(hidden_size=32, ffn_dim=64, num_hidden_layers=2, num_attention_heads=4,
                           word_embed_proj_dim=32, max_position_embeddings=64, use_cache=False,
                           attn_implementation="sdpa", **small)
        model = tf.OPTForCausalLM(cfg)
        inputs = ["input_ids", "attention_mask"]
    elif name == "bloom":  # ALiBi, masked_fill on the scores
        cfg = tf.BloomConfig(hidden_size=32, n_layer=2, n_head=4, use_cache=False, **small)
        model = tf.BloomForCausalLM(cfg)
        inputs = ["input_ids", "attention_mask"]
    elif name == "falcon":  # rotary under autocast(enabled=False), parallel attention + MLP
        cfg = tf.FalconConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, use_cache=False,
                              max_position_embeddings=64, attn_implementation="sdpa", **small)
        model = tf.FalconForCausalLM(cfg)
        inputs = ["input_ids", "attention_mask"]
    elif name == "t5":
        cfg = tf.T5Config(d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2, num_heads=4,
                          use_cache=False, **small)
        model = tf.T5Model(cfg)
        inputs = ["input_ids", "attention_mask", "decoder_input_ids"]
    elif name == "vit":
        cfg = tf.ViTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                           intermediate_size=64, attn_implementation="sdpa")
        model = tf.ViTModel(cfg)
        inputs = ["pixel_values"]
    elif name == "whisper_encoder":
        cfg = tf.WhisperConfig(d_model=32, encoder_layers=2, encoder_attention_heads=4, encoder_ffn_dim=64,
                               decoder_layers=1, decoder_attention_heads=4, decoder_ffn_dim=64, num_mel_bins=16,
                               max_source_positions=15, attn_implementation="sdpa", pad_token_id=1,
                               bos_token_id=2, eos_token_id=2, decoder_start_token_id=3, **small)
        model = tf.WhisperModel(cfg).get_encoder()
        inputs = ["input_features"]
    else:
        raise SystemExit(f"hf_models: unknown model {name}")
    model.eval()
    return model, inputs


def example(name, input_names, seed):
    """Inputs: ids below the vocabulary, a mask with padding at the end, images, features."""
    import torch

    g = torch.Generator().manual_seed(seed)
    out = {}
    for n in input_names:
        if n in ("input_ids", "decoder_input_ids"):
            out[n] = torch.randint(0, 100, (1, SEQ), generator=g)
        elif n == "attention_mask":
            out[n] = torch.ones(1, SEQ, dtype=torch.long)
            if seed:
                out[n][0, -2:] = 0
        elif n == "token_type_ids":
            out[n] = torch.zeros(1, SEQ, dtype=torch.long)
        elif n == "pixel_values":
            out[n] = torch.randn(1, 3, 32, 32, generator=g)
        elif n == "input_features":
            out[n] = torch.randn(1, 16, 30, generator=g)
    return out


def flat_outputs(result):
    import torch

    if isinstance(result, torch.Tensor):
        return [result]
    if isinstance(result, dict):  # a ModelOutput: its tensors in field order
        result = [v for v in result.values() if v is not None]
    flat = []
    for item in result:
        flat.extend(flat_outputs(item) if not isinstance(item, torch.Tensor) else [item])
    return flat


class TupleOutputs:
    """Calls the model with return_dict=False, so traces and programs return tuples."""

    def __init__(self, model):
        self.model = model

    def __enter__(self):
        import functools

        self.forward = self.model.forward
        self.model.forward = functools.partial(self.forward, return_dict=False)  # keeps the signature

    def __exit__(self, *exc):
        self.model.forward = self.forward


def generate(name, fmt, path):
    """Child process: writes the model file."""
    import torch

    model, input_names = build(name)
    kwargs = example(name, input_names, 0)
    # transformers' mask builder for torch >= 2.6 uses vmap, which neither torch.jit.trace
    # nor torch.export's serializer can keep; its builder for older torch makes the same
    # mask without it.
    import transformers.masking_utils as masking

    masking.ALL_MASK_ATTENTION_FUNCTIONS._global_mapping["sdpa"] = masking.sdpa_mask_older_torch
    with torch.no_grad(), TupleOutputs(model):
        if fmt == "pt":
            traced = torch.jit.trace(model, example_kwarg_inputs=kwargs, strict=False)
            traced.save(path)
        else:
            program = torch.export.export(model, (), kwargs)
            if name in VMAP_MASKS:
                program = program.run_decompositions({})
            torch.export.save(program, path)


def write_references(names, key, out):
    """Child process: OUT/NAME.KEY.reference.npz for each name, the eager model's inputs
    (seed 1, in build()'s order: in.0, in.1, ... named by input_names) and outputs (out.0,
    ...); a name that fails leaves OUT/NAME.KEY.reference.err with its error line."""
    import numpy as np
    import torch

    for name in names:
        path = reference_path(out, name, key)
        try:
            model, input_names = build(name)
            feed_t = example(name, input_names, 1)
            with torch.no_grad():
                expected = [t.numpy() for t in flat_outputs(model(**feed_t))]
            arrays = {f"in.{i}": t.numpy() for i, t in enumerate(feed_t.values())}
            arrays.update({f"out.{i}": a for i, a in enumerate(expected)})
            with open(path + ".tmp", "wb") as f:
                np.savez(f, input_names=np.array(list(feed_t)), **arrays)
            os.replace(path + ".tmp", path)
        except Exception as e:
            with open(error_path(out, name, key), "w") as f:
                f.write(str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__)


def reference_path(out, name, key):
    return os.path.join(out, f"{name}.{key}.reference.npz")


def error_path(out, name, key):
    """Where write_references leaves the error line of a model it could not run."""
    return os.path.join(out, f"{name}.{key}.reference.err")


def load_reference(path):
    """({input name: array} in build()'s order, [expected output arrays]) of write_references."""
    import numpy as np

    with np.load(path, allow_pickle=False) as data:
        names = [str(n) for n in data["input_names"]]
        feed = {n: data[f"in.{i}"] for i, n in enumerate(names)}
        expected = [data[f"out.{i}"] for i in range(sum(1 for f in data.files if f.startswith("out.")))]
    return feed, expected


def spec_args(feed):
    """--input-spec of the export's inputs: the reference inputs' names, dtypes and shapes
    (example()'s seeds differ in values only)."""
    specs = []
    for n, a in feed.items():
        dtype = {"int64": "int64", "float32": "float32"}[str(a.dtype)]
        specs.append(f"{n}:{dtype}:{'x'.join(str(d) for d in a.shape)}")
    return ["--input-spec", ",".join(specs)]


def check(onnx_path, feed, expected):
    """checker + stamps + onnxruntime on FEED against the eager model's outputs EXPECTED
    (load_reference); returns (ok, detail)."""
    import numpy as np
    import onnx
    import onnxruntime as ort

    proto = onnx.load(onnx_path)
    onnx.checker.check_model(proto, full_check=True)
    nodes = list(proto.graph.node)
    stamped = sum(1 for n in nodes if any(p.key == "hierarchy_path" and p.value for p in n.metadata_props))
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    if sorted(i.name for i in session.get_inputs()) != sorted(feed):
        return False, f"inputs {[i.name for i in session.get_inputs()]}, expected {sorted(feed)}"
    feed = {i.name: feed[i.name] for i in session.get_inputs()}
    got = session.run(None, feed)
    if len(got) != len(expected):
        return False, f"{len(got)} outputs, PyTorch has {len(expected)}"
    worst = 0.0
    for a, b in zip(got, expected):
        if a.shape != b.shape:
            return False, f"output shape {a.shape}, PyTorch {b.shape}"
        worst = max(worst, float(np.max(np.abs(a - b) / (1 + np.abs(b)))) if b.size else 0.0)
    ok = worst <= TOL and stamped == len(nodes)
    return ok, f"{len(nodes)} nodes, {stamped} stamped, max rel err {worst:.1e}"


MODELS = ["bert", "gpt2", "llama", "opt", "bloom", "falcon", "t5", "vit", "whisper_encoder"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--only", default=",".join(MODELS))
    parser.add_argument("--formats", default="pt,pt2")
    parser.add_argument("--json")
    parser.add_argument("--generate", nargs=3, metavar=("NAME", "FORMAT", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--write-references", nargs=2, metavar=("NAMES", "KEY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(*args.generate)
        return 0
    if args.write_references:
        write_references(args.write_references[0].split(","), args.write_references[1], args.out)
        return 0

    from importlib.metadata import version  # the same strings as torch's and transformers' __version__

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.abspath(__file__), "rb") as f:
        key = hashlib.sha256(f.read() + version("torch").encode() + version("transformers").encode()).hexdigest()[:16]
    names = args.only.split(",")
    missing = [n for n in names if not os.path.exists(reference_path(args.out, n, key))]
    reference_status = 0
    if missing:
        for n in missing:
            if os.path.exists(error_path(args.out, n, key)):
                os.remove(error_path(args.out, n, key))
        reference_status = subprocess.run([sys.executable, os.path.abspath(__file__), "--out", args.out, "--binary",
                                           args.binary, "--write-references", ",".join(missing), key]).returncode
    results, failed = [], 0
    for name in names:
        for fmt in args.formats.split(","):
            model_path = os.path.join(args.out, f"{name}.{key}.{fmt}")
            row = {"model": name, "format": fmt}
            start = time.time()
            try:
                if not os.path.exists(model_path):
                    subprocess.run([sys.executable, os.path.abspath(__file__), "--out", args.out, "--binary",
                                    args.binary, "--generate", name, fmt, model_path + ".tmp"],
                                   check=True, capture_output=True, text=True)
                    os.replace(model_path + ".tmp", model_path)
                out_dir = os.path.join(args.out, f"{name}_{fmt}")
                os.makedirs(out_dir, exist_ok=True)
                onnx_path = os.path.join(out_dir, f"{name}.onnx")
                reference = reference_path(args.out, name, key)
                if not os.path.exists(reference):
                    why = f"its process exited with status {reference_status}"
                    if os.path.exists(error_path(args.out, name, key)):
                        with open(error_path(args.out, name, key)) as f:
                            why = f.read()
                    raise RuntimeError("could not compute the eager model's outputs: " + why)
                feed, expected = load_reference(reference)
                command = [args.binary, "export", model_path, onnx_path]
                if fmt == "pt":
                    command += spec_args(feed)
                run = subprocess.run(command, capture_output=True, text=True)
                if run.returncode != 0:
                    raise RuntimeError(run.stderr.strip().splitlines()[-1] if run.stderr.strip() else "export failed")
                ok, detail = check(onnx_path, feed, expected)
            except subprocess.CalledProcessError as e:
                ok, detail = False, "could not make the model: " + (e.stderr.strip().splitlines() or ["?"])[-1]
            except Exception as e:  # one line per failure, the run goes on
                ok, detail = False, str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            row.update(ok=ok, detail=detail, seconds=round(time.time() - start, 1))
            results.append(row)
            failed += 0 if ok else 1
            print(f"{'PASS' if ok else 'FAIL'} {name:16} {fmt:4} {detail}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    print(f"hf_models: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

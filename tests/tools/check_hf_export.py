#!/usr/bin/env python3
"""Check an ONNX file exported from a Hugging Face repo id against transformers itself.

Usage:
    check_hf_export.py --cache HUB_CACHE --repo ORG/NAME --onnx FILE.onnx
        [--batch 2] [--length 11] [--decoder-length 7] [--audio-samples 5600]
        [--tolerance 1e-4] [--model-class NAME] [--references DIR]
    check_hf_export.py --cache HUB_CACHE --write-references DIR [--repo ORG/NAME ...]

Checks, one line each:
  1. onnx.checker.check_model(FILE, full_check=True);
  2. every node (subgraphs too) has a `hierarchy_path` in its metadata_props, and every
     path is "/" + the model's class (config.architectures[0], or --model-class) or below it;
     the model's `modelexport.source` is REPO (what the user named, not the program file);
  3. onnxruntime on fresh inputs, made with the repo's own preprocessor from the cache, of
     another batch and length than an export would use (text: BATCH rows of LENGTH tokens,
     row 1 padded at its end; images of other sizes, which the image processor resizes;
     audio of AUDIO_SAMPLES samples; decoder_input_ids of DECODER_LENGTH), against the
     transformers model from the same cache (eval, use_cache=False, SDPA attention where
     the class supports it). Only the inputs the graph declares are fed. Each ONNX output is
     compared with the model output of the same name (ModelOutput keys; a nested output as
     "outer.inner", a tuple element as "name.0"): max |onnx - torch| / (1 + |torch|) must be
     at most TOLERANCE.
Ends with `PASS REPO (max err X)` or `FAIL REPO: reason`; exit status 0 or 1.

Cached references. Check 3's inputs and transformers' outputs depend only on the repo's
files in the cache, this file, the input plan and the versions of the libraries that make
them, not on the ONNX file. `--write-references DIR` computes them for the given repos (all
of the cache's manifest.json by default; for the inputs the manifest lists) in one process
and keeps them in DIR (REPO.json + REPO.npz), each under a key of all of those (the repo's
snapshot commit, sha256 of this file, the plan, --model-class, Python's and torch's,
transformers', tokenizers', numpy's and Pillow's versions); a repo whose key is unchanged
is skipped. A check given `--references DIR` uses a reference only when its key is the
one computed now and its inputs are the ones the graph declares; otherwise (or without
DIR) it makes them as above. Either way it says which (`reference: ...`): the comparison
is the same, the cached one skips importing torch and transformers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

# Text for the inputs: the first row fills LENGTH tokens (truncated), the second is short
# enough to be padded.
LONG_TEXT = ("Exported graphs keep the module hierarchy on every node, so a profile can be read "
             "layer by layer and block by block without guessing from the names of the operators.")
SHORT_TEXT = "Hello world"
SEED = 1234


@dataclass
class Report:
    """The lines printed so far and the reasons of the failed checks."""

    repo: str
    failures: list[str] = field(default_factory=list)
    max_error: Optional[float] = None

    def line(self, text: str) -> None:
        print(text, flush=True)

    def check(self, number: int, title: str, problem: Optional[str], detail: str = "") -> None:
        """One check's line: ok, or FAILED with the problem (remembered for the last line)."""
        status = "ok" if problem is None else f"FAILED: {problem}"
        self.line(f"check {number} {title}: {status}{' (' + detail + ')' if detail else ''}")
        if problem is not None:
            self.failures.append(f"{title}: {problem}")

    def finish(self) -> int:
        if self.failures:
            self.line(f"FAIL {self.repo}: {'; '.join(self.failures)}")
            return 1
        self.line(f"PASS {self.repo} (max err {self.max_error:.3g})")
        return 0


# ---------------------------------------------------------------------------------------
# Checks 1 and 2: the file itself
# ---------------------------------------------------------------------------------------

def check_checker(path: Path) -> Optional[str]:
    """The ONNX checker's complaint with full_check (shape inference too), or None."""
    import onnx

    try:
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as error:  # onnx raises ValidationError, InferenceError, ...
        return f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
    return None


def all_nodes(graph: Any) -> Iterator[Any]:
    """The nodes of a graph and of the subgraphs in their attributes (If, Loop, Scan)."""
    import onnx

    for node in graph.node:
        yield node
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                yield from all_nodes(attribute.g)
            elif attribute.type == onnx.AttributeProto.GRAPHS:
                for subgraph in attribute.graphs:
                    yield from all_nodes(subgraph)


def check_stamps(model: Any, class_name: str, repo: str) -> tuple[Optional[str], str]:
    """(problem or None, detail): every node has hierarchy_path, all under /class_name, and
    the model's modelexport.source is the repo id."""
    sources = [entry.value for entry in model.metadata_props if entry.key == "modelexport.source"]
    if sources != [repo]:
        return f"modelexport.source is {sources!r}, not [{repo!r}]", ""
    root = "/" + class_name
    nodes = list(all_nodes(model.graph))
    unstamped: list[str] = []
    outside: list[str] = []
    for node in nodes:
        paths = [entry.value for entry in node.metadata_props if entry.key == "hierarchy_path"]
        if not paths:
            unstamped.append(f"{node.op_type} {node.name!r}")
        elif not (paths[0] == root or paths[0].startswith(root + "/")):
            outside.append(f"{node.op_type} {node.name!r} at {paths[0]!r}")
    detail = f"{len(nodes) - len(unstamped)}/{len(nodes)} nodes stamped, root {root}"
    if not nodes:
        return "the graph has no nodes", detail
    if unstamped:
        return (f"{len(unstamped)} of {len(nodes)} nodes have no hierarchy_path (first: "
                f"{', '.join(unstamped[:3])})"), detail
    if outside:
        return f"{len(outside)} nodes are not under {root} (first: {', '.join(outside[:3])})", detail
    return None, detail


# ---------------------------------------------------------------------------------------
# Check 3: inputs
# ---------------------------------------------------------------------------------------

TEXT_INPUTS = {"input_ids", "attention_mask", "token_type_ids", "position_ids"}
ONNX_TO_NUMPY = {"tensor(int64)": "int64", "tensor(int32)": "int32", "tensor(float)": "float32",
                 "tensor(double)": "float64", "tensor(float16)": "float16", "tensor(bool)": "bool"}


@dataclass
class InputPlan:
    """What to make the inputs with."""

    repo: str
    config: Any
    batch: int
    length: int
    decoder_length: int
    audio_samples: int
    references: Optional[Path] = None
    model_class: Optional[str] = None
    cached: Optional[dict[str, Any]] = None  # the --references entry whose key is today's


def text_inputs(plan: InputPlan) -> dict[str, Any]:
    """The tokenizer's input_ids / attention_mask (/ token_type_ids) for BATCH rows of LENGTH
    tokens, padded on the right; row 1 (the short text) ends in padding."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(plan.repo)
    tokenizer.padding_side = "right"
    if tokenizer.pad_token is None:  # GPT-2 and others have none; what pipelines do
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    texts = [SHORT_TEXT if row % 2 else LONG_TEXT for row in range(plan.batch)]
    encoded = tokenizer(texts, padding="max_length", truncation=True, max_length=plan.length, return_tensors="np")
    mask = encoded["attention_mask"]
    if plan.batch > 1 and not (mask[0].all() and mask[1][-1] == 0 and mask[1][0] == 1):
        raise ValueError(f"the tokenizer did not give a full row 0 and a right-padded row 1 at length "
                         f"{plan.length}: attention_mask {mask.tolist()}")
    return dict(encoded)


def image_inputs(plan: InputPlan) -> dict[str, Any]:
    """pixel_values of BATCH random images of assorted sizes through the image processor."""
    import numpy as np
    from transformers import AutoImageProcessor

    processor = AutoImageProcessor.from_pretrained(plan.repo)
    rng = np.random.default_rng(SEED)
    images = [rng.integers(0, 256, (40 + 8 * row, 48 + 4 * row, 3), dtype=np.uint8) for row in range(plan.batch)]
    return dict(processor(images=images, return_tensors="np"))


def audio_inputs(plan: InputPlan) -> dict[str, Any]:
    """input_values or input_features of BATCH random waveforms of AUDIO_SAMPLES samples
    through the feature extractor."""
    import numpy as np
    from transformers import AutoFeatureExtractor

    extractor = AutoFeatureExtractor.from_pretrained(plan.repo)
    rng = np.random.default_rng(SEED)
    waves = [(0.1 * rng.standard_normal(plan.audio_samples)).astype(np.float32) for _ in range(plan.batch)]
    return dict(extractor(waves, sampling_rate=extractor.sampling_rate, return_tensors="np"))


def decoder_start(config: Any) -> int:
    """The decoder's first token: config.decoder_start_token_id, else its bos/pad token."""
    for name in ("decoder_start_token_id", "bos_token_id", "pad_token_id"):
        value = getattr(config, name, None)
        if value is not None:
            return int(value)
    return 0


def make_inputs(plan: InputPlan, declared: list[str]) -> dict[str, Any]:
    """Arrays for the graph's declared inputs (by name), made with the repo's preprocessor."""
    import numpy as np

    made: dict[str, Any] = {}
    if "input_ids" in declared:
        made.update(text_inputs(plan))
    if "pixel_values" in declared:
        made.update(image_inputs(plan))
    if {"input_values", "input_features"} & set(declared):
        audio = audio_inputs(plan)
        if "input_ids" in made:  # a text mask wins over an audio one
            audio.pop("attention_mask", None)
        made.update(audio)
    rng = np.random.default_rng(SEED + 1)
    vocab = int(getattr(plan.config, "vocab_size", None) or 100)
    for name in declared:
        if name in made:
            continue
        if name == "decoder_input_ids":
            ids = rng.integers(0, vocab, (plan.batch, plan.decoder_length))
            ids[:, 0] = decoder_start(plan.config)
            made[name] = ids.astype(np.int64)
        elif name == "decoder_attention_mask":
            made[name] = np.ones((plan.batch, plan.decoder_length), dtype=np.int64)
        elif name == "token_type_ids" and "input_ids" in made:
            made[name] = np.zeros_like(made["input_ids"])
        elif name == "position_ids" and "input_ids" in made:
            made[name] = np.broadcast_to(np.arange(made["input_ids"].shape[1]), made["input_ids"].shape).copy()
        elif name == "attention_mask" and "input_values" in made:
            made[name] = np.ones(made["input_values"].shape, dtype=np.int64)
        else:
            raise ValueError(f"cannot make the graph's input {name!r} (no preprocessor gives it)")
    return {name: made[name] for name in declared}


def shape_problems(session_inputs: list[Any], arrays: dict[str, Any]) -> list[str]:
    """Inputs whose fixed (non-symbolic) dims differ from the fresh inputs' dims."""
    problems = []
    for spec in session_inputs:
        shape = arrays[spec.name].shape
        if len(spec.shape) != len(shape):
            problems.append(f"{spec.name} has rank {len(spec.shape)} in the graph, {len(shape)} here")
            continue
        for axis, (dim, size) in enumerate(zip(spec.shape, shape)):
            if isinstance(dim, int) and dim != size:
                problems.append(f"{spec.name} dim {axis} is fixed at {dim} in the graph (fed {size})")
    return problems


# ---------------------------------------------------------------------------------------
# Check 3: the reference and the comparison
# ---------------------------------------------------------------------------------------

def load_config(repo: str) -> Any:
    """transformers' AutoConfig of the repo (transformers imported here, quiet)."""
    import transformers

    transformers.logging.set_verbosity_error()
    return transformers.AutoConfig.from_pretrained(repo)


def load_reference(repo: str, class_name: str) -> Any:
    """The transformers model, eval, no cache, SDPA attention where the class has it."""
    import transformers

    cls = getattr(transformers, class_name)
    attention = "sdpa" if getattr(cls, "_supports_sdpa", False) else "eager"
    model = cls.from_pretrained(repo, attn_implementation=attention).eval()
    if hasattr(model.config, "use_cache"):
        model.config.use_cache = False
    return model


def run_reference(model: Any, arrays: dict[str, Any]) -> dict[str, Any]:
    """The model's outputs, flattened to {name: array}."""
    import inspect

    import torch

    kwargs: dict[str, Any] = {name: torch.from_numpy(array) for name, array in arrays.items()}
    parameters = inspect.signature(model.forward).parameters
    if "use_cache" in parameters:
        kwargs["use_cache"] = False
    if "return_dict" in parameters:
        kwargs["return_dict"] = True
    with torch.no_grad():
        outputs = model(**kwargs)
    return dict(flatten_outputs(outputs, ""))


def flatten_outputs(value: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    """(name, array) for every tensor in a ModelOutput: its keys, "outer.inner" for nested
    outputs, "name.i" for tuple elements; None values are left out."""
    import torch

    if value is None:
        return
    if isinstance(value, torch.Tensor):
        yield prefix, value.detach().float().numpy() if value.is_floating_point() else value.numpy()
    elif isinstance(value, dict):  # ModelOutput is an OrderedDict of its non-None fields
        for key, item in value.items():
            yield from flatten_outputs(item, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, (tuple, list)):
        for index, item in enumerate(value):
            yield from flatten_outputs(item, f"{prefix}.{index}")
    # anything else (a Cache object) is no tensor output


def relative_error(got: Any, want: Any) -> float:
    """max |got - want| / (1 + |want|); NaN where only one side is NaN counts as infinite."""
    import numpy as np

    got = got.astype(np.float64)
    want = want.astype(np.float64)
    both_nan = np.isnan(got) & np.isnan(want)
    error = np.abs(got - want) / (1.0 + np.abs(want))
    error = np.where(both_nan, 0.0, np.nan_to_num(error, nan=np.inf))
    return float(error.max()) if error.size else 0.0


def match_name(onnx_name: str, reference: dict[str, Any]) -> Optional[str]:
    """The reference output an ONNX output name stands for ("a.b", "a/b" or "a::b")."""
    for candidate in (onnx_name, onnx_name.replace("/", "."), onnx_name.replace("::", ".")):
        if candidate in reference:
            return candidate
    return None


def compare(report: Report, got: dict[str, Any], reference: dict[str, Any], tolerance: float) -> Optional[str]:
    """Per-output lines; the problem (unmatched name, shape, error) or None."""
    problems: list[str] = []
    worst = 0.0
    compared: list[str] = []
    for name, array in got.items():
        key = match_name(name, reference)
        if key is None:
            problems.append(f"ONNX output {name!r} is no model output (model has {', '.join(reference)})")
            continue
        want = reference[key]
        if tuple(array.shape) != tuple(want.shape):
            problems.append(f"{name}: shape {list(array.shape)}, the model's {list(want.shape)}")
            continue
        error = relative_error(array, want)
        worst = max(worst, error)
        compared.append(key)
        report.line(f"  {name} {list(array.shape)}: max err {error:.3g}")
        if not error <= tolerance:
            problems.append(f"{name}: max err {error:.3g} > {tolerance:g}")
    missing = [key for key in reference if key not in compared and not key.startswith("past_key_values")]
    if missing:
        report.line(f"  not in the ONNX file: {', '.join(missing)}")
    first = next(iter(reference), None)
    if not compared:
        problems.append("no ONNX output matches a model output")
    elif first is not None and first not in compared:
        problems.append(f"the model's first output {first!r} is not in the ONNX file")
    report.max_error = worst if report.max_error is None else max(report.max_error, worst)
    return "; ".join(problems) if problems else None


def check_numerics(report: Report, path: Path, plan: InputPlan, class_name: str, tolerance: float) -> None:
    """Check 3: onnxruntime against the transformers model on fresh inputs."""
    import numpy as np
    import onnxruntime

    title = f"onnxruntime vs transformers {class_name} (batch {plan.batch}, length {plan.length})"
    try:
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only: not its notes on unused initializers
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        declared = [spec.name for spec in session.get_inputs()]
        cached = cached_reference(plan, class_name, declared)
        if cached is not None:
            arrays, cached_outputs = cached
            report.line(f"  reference: cached in {plan.references} (inputs and {class_name}'s outputs, same key)")
        else:
            if plan.config is None:  # a cached entry for other inputs than these
                plan.config = load_config(plan.repo)
            arrays, cached_outputs = make_inputs(plan, declared), None
            report.line(f"  reference: transformers {class_name}, computed now")
        report.line("  inputs: " + ", ".join(f"{name} {list(array.shape)}" for name, array in arrays.items()))
        problems = shape_problems(session.get_inputs(), arrays)
        if problems:
            report.check(3, title, "; ".join(problems))
            return
        fed = {spec.name: arrays[spec.name].astype(ONNX_TO_NUMPY.get(spec.type, arrays[spec.name].dtype))
               for spec in session.get_inputs()}
        names = [spec.name for spec in session.get_outputs()]
        got = dict(zip(names, session.run(names, fed)))
        if cached_outputs is not None:
            reference = cached_outputs
        else:
            reference = run_reference(load_reference(plan.repo, class_name), arrays)
    except Exception as error:
        report.check(3, title, f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}")
        return
    got = {name: np.asarray(value) for name, value in got.items()}
    problem = compare(report, got, reference, tolerance)
    report.check(3, title, problem, f"max err {report.max_error:.3g}, tolerance {tolerance:g}")


# ---------------------------------------------------------------------------------------
# Cached references (--write-references DIR, --references DIR)
# ---------------------------------------------------------------------------------------

KEYED_DISTRIBUTIONS = ("torch", "transformers", "tokenizers", "numpy", "Pillow")


def reference_file(directory: Path, repo: str, suffix: str) -> Path:
    return directory / (repo.replace("/", "--") + suffix)


def reference_key(plan: InputPlan, cache: Path) -> str:
    """What check 3's inputs and reference outputs are made from, hashed (without importing
    torch): the repo's snapshot commit in the cache (its files), this file, the plan,
    --model-class, and the versions of Python and of the libraries that make them."""
    from importlib import metadata

    refs = cache / "--".join(["models", *plan.repo.split("/")]) / "refs" / "main"
    versions = {}
    for name in KEYED_DISTRIBUTIONS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    facts = {
        "repo": plan.repo,
        "commit": refs.read_text().strip() if refs.is_file() else None,
        "checker": hashlib.sha256(Path(__file__).read_bytes()).hexdigest(),
        "plan": [plan.batch, plan.length, plan.decoder_length, plan.audio_samples],
        "model_class": plan.model_class,
        "python": sys.version,
        "versions": versions,
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def cached_entry(plan: InputPlan, cache: Path) -> Optional[dict[str, Any]]:
    """The reference entry of plan.repo in plan.references if its key is today's, else None."""
    if plan.references is None:
        return None
    try:
        entry = json.loads(reference_file(plan.references, plan.repo, ".json").read_text())
    except (OSError, ValueError):
        return None
    if entry.get("key") != reference_key(plan, cache):
        return None
    return entry


def cached_reference(plan: InputPlan, class_name: str,
                     declared: list[str]) -> Optional[tuple[dict[str, Any], dict[str, Any]]]:
    """(inputs by declared name, reference outputs in the model's order) from the cache, when
    it holds them for this class and exactly these inputs; else None."""
    entry = plan.cached
    if entry is None or entry.get("class_name") != class_name or sorted(entry["inputs"]) != sorted(declared):
        return None
    import numpy as np

    with np.load(reference_file(plan.references, plan.repo, ".npz"), allow_pickle=False) as data:
        inputs = {name: data[f"input_{i}"] for i, name in enumerate(entry["inputs"])}
        outputs = {name: data[f"output_{i}"] for i, name in enumerate(entry["outputs"])}
    return {name: inputs[name] for name in declared}, outputs


def write_references(cache: Path, directory: Path, repos: list[str], base: InputPlan) -> int:
    """Compute and keep check 3's inputs and reference outputs for each repo (the inputs its
    manifest entry lists); a repo whose kept key is today's is left alone. A repo whose
    reference cannot be made is reported and skipped: its check makes it, and fails, itself."""
    import numpy as np

    manifest = json.loads((cache / "manifest.json").read_text())
    directory.mkdir(parents=True, exist_ok=True)
    todo = []
    for repo in repos or list(manifest):
        plan = InputPlan(repo, None, base.batch, base.length, base.decoder_length, base.audio_samples,
                         directory, base.model_class)
        key = reference_key(plan, cache)
        if cached_entry(plan, cache) is None:
            todo.append((plan, key))
    print(f"check_hf_export: {len(repos or manifest) - len(todo)} references up to date, {len(todo)} to make "
          f"in {directory}", flush=True)
    if not todo:
        return 0
    for plan, key in todo:
        try:
            plan.config = load_config(plan.repo)
            class_name = plan.model_class or (plan.config.architectures or [None])[0]
            if class_name is None:
                raise ValueError("config.json names no architecture")
            declared = list(manifest[plan.repo]["inputs"])
            arrays = make_inputs(plan, declared)
            reference = run_reference(load_reference(plan.repo, class_name), arrays)
        except Exception as error:
            print(f"  {plan.repo}: no reference ({type(error).__name__}: {error}); its check makes it", flush=True)
            continue
        stored = {f"input_{i}": np.asarray(arrays[name]) for i, name in enumerate(declared)}
        stored.update({f"output_{i}": np.asarray(value) for i, value in enumerate(reference.values())})
        npz = reference_file(directory, plan.repo, ".npz")
        entry = reference_file(directory, plan.repo, ".json")
        entry.unlink(missing_ok=True)  # the entry goes last: never an entry over another file's arrays
        with open(str(npz) + ".tmp", "wb") as out:
            np.savez(out, **stored)
        os.replace(str(npz) + ".tmp", npz)
        entry.with_suffix(".json.tmp").write_text(json.dumps(
            {"key": key, "repo": plan.repo, "class_name": class_name, "inputs": declared,
             "outputs": list(reference)}, indent=1) + "\n")
        os.replace(entry.with_suffix(".json.tmp"), entry)
        print(f"  {plan.repo}: {class_name}, inputs {', '.join(declared)}; {len(reference)} outputs", flush=True)
    return 0


# ---------------------------------------------------------------------------------------

def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", required=True, type=Path, help="the Hugging Face hub cache (HF_HUB_CACHE)")
    parser.add_argument("--repo", action="append",
                        help="the repo id the file was exported from (ORG/NAME or NAME); with --write-references, "
                             "each repo to make a reference for (default: all of the cache's manifest.json)")
    parser.add_argument("--onnx", type=Path, help="the exported ONNX file")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--length", type=int, default=11, help="text length in tokens")
    parser.add_argument("--decoder-length", type=int, default=7, help="decoder_input_ids length (seq2seq)")
    parser.add_argument("--audio-samples", type=int, default=5600, help="waveform length (audio models)")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--model-class", help="the transformers class (default: config.architectures[0])")
    parser.add_argument("--references", type=Path,
                        help="kept inputs and reference outputs (made by --write-references), used when their key matches")
    parser.add_argument("--write-references", type=Path, metavar="DIR",
                        help="make the references of --repo (default: every repo of the cache) in DIR, then exit")
    args = parser.parse_args(argv)

    # huggingface_hub reads these when imported.
    os.environ["HF_HUB_CACHE"] = str(args.cache.resolve())
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.write_references is not None:
        base = InputPlan("", None, args.batch, args.length, args.decoder_length, args.audio_samples,
                         None, args.model_class)
        return write_references(args.cache, args.write_references, args.repo or [], base)
    if not args.repo or len(args.repo) != 1 or args.onnx is None:
        parser.error("give one --repo and --onnx (or --write-references)")
    args.repo = args.repo[0]
    import onnx

    report = Report(args.repo)
    plan = InputPlan(args.repo, None, args.batch, args.length, args.decoder_length, args.audio_samples,
                     args.references, args.model_class)
    plan.cached = cached_entry(plan, args.cache)
    try:
        if plan.cached is not None:
            class_name = plan.cached["class_name"]
        else:
            plan.config = load_config(args.repo)
            class_name = args.model_class or (plan.config.architectures or [None])[0]
            if class_name is None:
                raise ValueError("config.json names no architecture; give --model-class")
        model = onnx.load(str(args.onnx), load_external_data=False)
    except Exception as error:
        report.line(f"FAIL {args.repo}: {type(error).__name__}: {error}")
        return 1

    report.check(1, "onnx.checker (full_check)", check_checker(args.onnx))
    problem, detail = check_stamps(model, class_name, args.repo)
    report.check(2, "hierarchy_path stamps", problem, detail)
    check_numerics(report, args.onnx, plan, class_name, args.tolerance)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())

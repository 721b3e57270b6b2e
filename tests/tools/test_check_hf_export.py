#!/usr/bin/env python3
"""Tests of check_hf_export.py on ONNX files made here with torch.onnx.export (TorchScript
exporter), stamped here with a hierarchy_path on every node, from a cache make_hf_cache.py
writes: the checker passes them, and fails a file with one node unstamped, a file under
another root class, and a file whose weights were changed.

Run: .venv/bin/python tests/tools/test_check_hf_export.py   (about a minute; unittest)
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPOS = {  # repo id -> the model inputs the export takes
    "modelexport-test/tiny-bert": ["input_ids", "attention_mask", "token_type_ids"],
    "tiny-gpt2": ["input_ids", "attention_mask"],
    "modelexport-test/tiny-vit": ["pixel_values"],
    "modelexport-test/tiny-bart": ["input_ids", "attention_mask", "decoder_input_ids"],
}
# The export's own shapes, unlike the checker's (batch 2, length 11, decoder length 7).
EXPORT_BATCH, EXPORT_LENGTH = 1, 5


def export_inputs(model: Any, names: list[str]) -> dict[str, Any]:
    """Example inputs for the export: batch 1, 5 tokens (images at the model's size)."""
    import torch

    config = model.config
    made: dict[str, Any] = {}
    for name in names:
        if name == "pixel_values":
            size = config.image_size
            made[name] = torch.rand(EXPORT_BATCH, 3, size, size)
        elif name in ("input_ids", "decoder_input_ids"):
            made[name] = torch.randint(3, config.vocab_size, (EXPORT_BATCH, EXPORT_LENGTH))
        elif name == "attention_mask":
            made[name] = torch.ones(EXPORT_BATCH, EXPORT_LENGTH, dtype=torch.long)
        elif name == "token_type_ids":
            made[name] = torch.zeros(EXPORT_BATCH, EXPORT_LENGTH, dtype=torch.long)
    return made


def dynamic_axes(names: list[str], outputs: list[str]) -> dict[str, dict[int, str]]:
    """Batch and sequence dims of every input and output symbolic."""
    axes: dict[str, dict[int, str]] = {}
    for name in names:
        axes[name] = {0: "batch"} if name == "pixel_values" else {0: "batch", 1: f"{name}_length"}
    for name in outputs:
        axes[name] = {0: "batch", 1: f"{name}_dim1"}
    return axes


def stamp(path: Path, class_name: str, repo: str) -> None:
    """hierarchy_path on every node: /class_name, then the scopes of the exporter's node
    name (/encoder/layer.0/.../MatMul -> /Bert/encoder/layer.0/...); the model's
    modelexport.source: the repo id, as modelexport records what the user named."""
    import onnx

    model = onnx.load(str(path))
    source = model.metadata_props.add()
    source.key, source.value = "modelexport.source", repo
    for node in model.graph.node:
        scopes = [part for part in node.name.split("/")[1:-1] if part]
        entry = node.metadata_props.add()
        entry.key, entry.value = "hierarchy_path", "/".join(["", class_name, *scopes])
    onnx.save(model, str(path))


def trace_friendly_masks() -> None:
    """transformers builds its causal/padding masks with torch.vmap, which the TorchScript
    tracer cannot record (nor the getitem-to-index mode around it); broadcast the index
    vectors against each other and index plainly instead."""
    import contextlib

    from transformers import masking_utils

    def broadcast_bhqkv(mask_function: Any, bh_indices: bool = True) -> Any:
        def apply(batch: Any, head: Any, q: Any, kv: Any) -> Any:
            if not bh_indices:
                return mask_function(None, None, q[:, None], kv[None, :]).expand(q.shape[0], kv.shape[0])
            mask = mask_function(batch[:, None, None, None], head[None, :, None, None], q[None, None, :, None],
                                 kv[None, None, None, :])
            return mask.expand(batch.shape[0], head.shape[0], q.shape[0], kv.shape[0])

        return apply

    masking_utils._vmap_for_bhqkv = broadcast_bhqkv
    masking_utils.TransformGetItemToIndex = contextlib.nullcontext


def export(cache: Path, repo: str, out: Path) -> None:
    """torch.onnx.export (dynamo=False) of the repo's model with outputs named by their
    ModelOutput keys, then stamp every node."""
    os.environ["HF_HUB_CACHE"], os.environ["HF_HUB_OFFLINE"] = str(cache), "1"
    import torch
    import transformers

    trace_friendly_masks()
    config = transformers.AutoConfig.from_pretrained(repo)
    class_name = config.architectures[0]
    model = getattr(transformers, class_name).from_pretrained(repo, attn_implementation="eager").eval()
    model.config.use_cache = False
    names = REPOS[repo]
    example = export_inputs(model, names)
    no_cache = {"use_cache": False} if "use_cache" in inspect.signature(model.forward).parameters else {}
    with torch.no_grad():
        keys = [key for key, value in model(**example, **no_cache).items() if isinstance(value, torch.Tensor)]

    class Flat(torch.nn.Module):
        """The model with positional inputs and a tuple of its tensor outputs."""

        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, *args: Any) -> tuple[Any, ...]:
            outputs = self.inner(**dict(zip(names, args)), **no_cache)
            return tuple(outputs[key] for key in keys)

    torch.onnx.export(Flat(), tuple(example[name] for name in names), str(out), input_names=names,
                      output_names=keys, dynamic_axes=dynamic_axes(names, keys), opset_version=17, dynamo=False)
    stamp(out, class_name, repo)


def run_checker(cache: Path, repo: str, onnx_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(HERE / "check_hf_export.py"), "--cache", str(cache), "--repo", repo,
                           "--onnx", str(onnx_path), *extra], capture_output=True, text=True, timeout=300)


class CheckHfExportTest(unittest.TestCase):
    tmp: tempfile.TemporaryDirectory[str]
    cache: Path

    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.TemporaryDirectory(prefix="check_hf_export-")
        cls.cache = Path(cls.tmp.name) / "hub"
        subprocess.run([sys.executable, str(HERE / "make_hf_cache.py"), str(cls.cache), "--only", ",".join(REPOS)],
                       check=True, capture_output=True)
        cls.files = {}
        for repo in REPOS:
            path = Path(cls.tmp.name) / (repo.replace("/", "--") + ".onnx")
            # A child process: the TorchScript exporter leaves global state behind.
            subprocess.run([sys.executable, __file__, "--export", str(cls.cache), repo, str(path)], check=True)
            cls.files[repo] = path

    @classmethod
    def tearDownClass(cls) -> None:
        cls.tmp.cleanup()

    def test_exports_pass(self) -> None:
        for repo, path in self.files.items():
            with self.subTest(repo=repo):
                result = run_checker(self.cache, repo, path)
                self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
                self.assertIn(f"PASS {repo} (max err", result.stdout)
                self.assertIn("check 2 hierarchy_path stamps: ok", result.stdout)

    def edited(self, repo: str, name: str, edit: Any) -> Path:
        """A copy of repo's file with edit(model) applied."""
        import onnx

        model = onnx.load(str(self.files[repo]))
        edit(model)
        path = Path(self.tmp.name) / name
        onnx.save(model, str(path))
        return path

    def test_unstamped_node_fails(self) -> None:
        def unstamp(model: Any) -> None:
            del model.graph.node[3].metadata_props[:]

        result = run_checker(self.cache, "modelexport-test/tiny-bert", self.edited("modelexport-test/tiny-bert",
                                                                                   "unstamped.onnx", unstamp))
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("1 of", result.stdout)
        self.assertIn("have no hierarchy_path", result.stdout)
        self.assertIn("FAIL modelexport-test/tiny-bert: hierarchy_path stamps", result.stdout)

    def test_other_root_fails(self) -> None:
        def reroot(model: Any) -> None:
            for node in model.graph.node:
                node.metadata_props[0].value = node.metadata_props[0].value.replace("/BertModel", "/BertModelX", 1)

        result = run_checker(self.cache, "modelexport-test/tiny-bert", self.edited("modelexport-test/tiny-bert",
                                                                                   "rerooted.onnx", reroot))
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("are not under /BertModel", result.stdout)

    def test_changed_weights_fail(self) -> None:
        import numpy as np
        from onnx import numpy_helper

        def perturb(model: Any) -> None:
            for index, initializer in enumerate(model.graph.initializer):
                array = numpy_helper.to_array(initializer)
                if array.dtype == np.float32 and array.ndim == 2:
                    model.graph.initializer[index].CopyFrom(numpy_helper.from_array(array * 1.01, initializer.name))
                    return

        result = run_checker(self.cache, "tiny-gpt2", self.edited("tiny-gpt2", "perturbed.onnx", perturb))
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertRegex(result.stdout, r"FAIL tiny-gpt2: onnxruntime vs transformers .*max err .* > 0.0001")

    def test_cached_references(self) -> None:
        """--write-references keeps check 3's inputs and outputs; a check given them prints the
        same lines as one that computes them, still fails changed weights, and computes its
        own when the key or the inputs differ."""
        import json

        refs = Path(self.tmp.name) / "refs"
        made = subprocess.run([sys.executable, str(HERE / "check_hf_export.py"), "--cache", str(self.cache),
                               "--write-references", str(refs)], capture_output=True, text=True, timeout=300)
        self.assertEqual(made.returncode, 0, made.stdout + made.stderr)
        self.assertIn(f"0 references up to date, {len(REPOS)} to make", made.stdout)
        again = subprocess.run([sys.executable, str(HERE / "check_hf_export.py"), "--cache", str(self.cache),
                                "--write-references", str(refs)], capture_output=True, text=True, timeout=300)
        self.assertIn(f"{len(REPOS)} references up to date, 0 to make", again.stdout)

        def lines(result: subprocess.CompletedProcess[str]) -> list[str]:
            return [line for line in result.stdout.splitlines() if "reference:" not in line]

        for repo, path in self.files.items():
            with self.subTest(repo=repo):
                live = run_checker(self.cache, repo, path)
                cached = run_checker(self.cache, repo, path, "--references", str(refs))
                self.assertEqual(cached.returncode, 0, cached.stdout + cached.stderr)
                self.assertIn("reference: cached in", cached.stdout)
                self.assertIn("reference: transformers", live.stdout)
                self.assertEqual(lines(cached), lines(live))

        perturbed = self.edited("tiny-gpt2", "perturbed-cached.onnx", perturb_first_matrix)
        result = run_checker(self.cache, "tiny-gpt2", perturbed, "--references", str(refs))
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("reference: cached in", result.stdout)
        self.assertRegex(result.stdout, r"FAIL tiny-gpt2: onnxruntime vs transformers .*max err .* > 0.0001")

        entry_path = refs / "modelexport-test--tiny-bert.json"
        entry = json.loads(entry_path.read_text())
        for name, changed in (("key", {**entry, "key": "0" * 64}),
                              ("inputs", {**entry, "inputs": entry["inputs"][:2]})):
            with self.subTest(changed=name):
                entry_path.write_text(json.dumps(changed))
                result = run_checker(self.cache, "modelexport-test/tiny-bert", self.files["modelexport-test/tiny-bert"],
                                     "--references", str(refs))
                self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
                self.assertIn("reference: transformers BertModel, computed now", result.stdout)
        entry_path.write_text(json.dumps(entry))


def perturb_first_matrix(model: Any) -> None:
    """Weights changed by 1%: the first float 2-D initializer."""
    import numpy as np
    from onnx import numpy_helper

    for index, initializer in enumerate(model.graph.initializer):
        array = numpy_helper.to_array(initializer)
        if array.dtype == np.float32 and array.ndim == 2:
            model.graph.initializer[index].CopyFrom(numpy_helper.from_array(array * 1.01, initializer.name))
            return


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--export":
        export(Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4]))
    else:
        unittest.main()

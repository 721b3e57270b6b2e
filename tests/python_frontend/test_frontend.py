#!/usr/bin/env python3
"""Tests of python -m modelexport.frontend on tiny offline models (BERT, GPT-2, ViT), of
its one-line errors and of the program it hands on; T5, Whisper, Wav2Vec2 and CLIP are in
test_frontend_models.py (a process of its own, so the two run side by side).

    .venv/bin/python tests/python_frontend/test_frontend.py [NAME_SUBSTRING ...]
"""

from __future__ import annotations

import os
import sys
from unittest import mock

from support import (
    check, export, exported, extra, inputs_by_name, last_line, load_program, main, model_dir, module_roots,
    run_frontend, run_frontend_process, test, work_dir,
)

PREFIX = "modelexport-frontend: error: "


@test
def test_import_does_not_load_torch() -> None:
    import subprocess

    code = "import sys, modelexport; print(sorted(m for m in ('torch', 'transformers', 'numpy') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), "..", "..", "python")))
    check(done.stdout.strip() == "[]", f"import modelexport loaded {done.stdout.strip()} {done.stderr}")


@test
def test_bert_default_inputs() -> None:
    archive, program, inputs = export("bert")
    axes = {"0": "batch_size", "1": "sequence_length"}
    check(program["dynamic_axes"] == {"input_ids": axes, "attention_mask": axes, "token_type_ids": axes},
          f"dynamic_axes {program['dynamic_axes']}")
    check(program["output_names"] == ["last_hidden_state", "pooler_output"], f"outputs {program['output_names']}")
    src = program["source"]
    check(src["class"] == "BertModel" and src["task"] == "feature-extraction", f"source {src}")
    check(src["resolved"] == os.path.abspath(model_dir("bert")), f"resolved {src['resolved']}")
    check("BertTokenizerFast on 'Hello world' (4 tokens)" in src["inputs_from"], src["inputs_from"])
    check(set(program["timings"]) == {"import", "load", "inputs", "export", "save"}, f"timings {program['timings']}")
    check(set(program["versions"]) == {"torch", "transformers", "python"}, f"versions {program['versions']}")
    # The user's batch (1) is what the binary runs; [CLS] hello world [SEP].
    by = inputs_by_name(inputs)
    check([i["name"] for i in inputs["inputs"]] == ["input_ids", "attention_mask", "token_type_ids"], "input order")
    check(by["input_ids"]["shape"] == [1, 4] and by["input_ids"]["dtype"] == "int64", f"{by['input_ids']}")
    check(by["attention_mask"]["values"] == [1, 1, 1, 1], f"{by['attention_mask']}")

    ep = load_program(archive)
    check(module_roots(ep) == {":BertModel"}, f"root frames {module_roots(ep)}")
    stacks = [n.meta["nn_module_stack"] for n in ep.graph.nodes if n.meta.get("nn_module_stack")]
    paths = {path for s in stacks for path, _ in s.values()}
    check("encoder.layer.0.attention.self.query" in paths, "module paths keep the model's own names")
    # One symbol per named dim, shared by the three inputs; the sequence bounded by the
    # position table (64), which torch.export's suggested fix added.
    shapes = {n.name: n.meta["val"].shape for n in ep.graph.nodes if n.name in ("input_ids", "attention_mask")}
    check(str(shapes["input_ids"][1]) == str(shapes["attention_mask"][1]), f"shapes {shapes}")
    seq = [r for s, r in ep.range_constraints.items() if str(s) == str(shapes["input_ids"][1])][0]
    check(int(seq.upper) == 64, f"sequence range {seq}")


@test
def test_first_attempt_exports_without_lowering() -> None:
    """The sequence Dim is bounded by the config up front, so torch.export's first
    attempt succeeds (BERT's position table refused an unbounded one); a program of
    ATen calls the binary reads as they are is not lowered again (run_decompositions
    traces the model a second time): ViT's flatten is read as it is too. BERT's and ViT's
    exports are the ones their tests below check (exported runs each once)."""
    for model, lowered in (("bert", None), ("gpt2", None), ("vit", None)):
        _, err = exported(model)
        check("attempt" not in err, f"{model}: a failed attempt: {err}")
        expected = f"run_decompositions: {lowered}" if lowered else "no run_decompositions needed"
        check(expected in err, f"{model}: {err}")


@test
def test_bert_input_shape_and_text() -> None:
    _, program, inputs = export("bert", "--input-shape", "3,10", "--input-text", "the lazy dog")
    by = inputs_by_name(inputs)
    check(by["input_ids"]["shape"] == [3, 10], f"{by['input_ids']['shape']}")
    mask = by["attention_mask"]["values"][:10]
    check(mask == [1] * 5 + [0] * 5, f"padded mask {mask}")
    check(by["input_ids"]["values"][5:10] == [0] * 5, "padded with [PAD] (0)")
    check("'the lazy dog' (5 tokens)" in program["source"]["inputs_from"], program["source"]["inputs_from"])
    check(program["dynamic_axes"]["input_ids"] == {"0": "batch_size", "1": "sequence_length"}, f"{program['dynamic_axes']}")


@test
def test_gpt2_lm_head_padded_with_eos() -> None:
    archive, program, inputs = export("gpt2", "--input-shape", "1,8")
    check(program["output_names"] == ["logits"], f"outputs {program['output_names']}")
    check(program["source"]["class"] == "GPT2LMHeadModel" and program["source"]["task"] == "text-generation", f"{program['source']}")
    axes = {"0": "batch_size", "1": "sequence_length"}
    check(program["dynamic_axes"] == {"input_ids": axes, "attention_mask": axes}, f"{program['dynamic_axes']}")
    by = inputs_by_name(inputs)
    check(sorted(by) == ["attention_mask", "input_ids"], "GPT-2 takes no token_type_ids from its tokenizer")
    check(by["input_ids"]["shape"] == [1, 8] and 0 in by["attention_mask"]["values"], "padded to 8")
    ep = load_program(archive)
    check(module_roots(ep) == {":GPT2LMHeadModel"}, f"root frames {module_roots(ep)}")
    # The mask is built without vmap or an index of the padding mask (export_patches).
    targets = {str(n.target) for n in ep.graph.nodes if n.op == "call_function"}
    check(not [t for t in targets if "higher_order" in t or "vmap" in t or "aten.index." in t], f"{sorted(targets)}")
    # ... and it is the model's own: another batch, length and padding give eager's logits.
    import torch
    from transformers import GPT2LMHeadModel

    model = GPT2LMHeadModel.from_pretrained(model_dir("gpt2")).eval()
    ids = torch.tensor([[5, 6, 7, 8, 9, 10], [11, 12, 13, 0, 0, 0], [14, 15, 16, 17, 0, 0]])
    mask = (torch.arange(6) < torch.tensor([[6], [3], [4]])).long()
    with torch.no_grad():
        want = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
        got = ep.module()(input_ids=ids, attention_mask=mask)["logits"]  # outputs saved as a dict
    check(torch.allclose(want, got, atol=1e-5), f"exported logits differ by {float((want - got).abs().max())}")


@test
def test_vit_image_processor() -> None:
    archive, program, inputs = export("vit")
    check(program["output_names"] == ["logits"], f"outputs {program['output_names']}")
    # ViT pins height and width to its position table: only the batch stays dynamic.
    check(program["dynamic_axes"] == {"pixel_values": {"0": "batch_size"}}, f"{program['dynamic_axes']}")
    px = inputs_by_name(inputs)["pixel_values"]
    check(px["shape"] == [1, 3, 32, 32] and px["dtype"] == "float32", f"{px['shape']}")
    # A gradient normalized with mean = std = 0.5: red runs from -1 (left) to 1 (right).
    check(abs(px["values"][0] + 1) < 1e-6 and abs(px["values"][31] - 1) < 1e-6, f"{px['values'][:32]}")
    check("ViTImageProcessor on a 32x32 synthetic gradient image" in program["source"]["inputs_from"], program["source"]["inputs_from"])
    check(module_roots(load_program(archive)) == {":ViTForImageClassification"}, "root frame")


@test
def test_vit_without_image_processor_backend() -> None:
    """Without Pillow the processor cannot be built: its settings give the same pixels."""
    import torch
    from transformers import AutoImageProcessor

    from modelexport import _hf

    source = _hf.resolve(model_dir("vit"), None)
    with_proc = _hf.Example(inputs={})
    _hf._vision(source, None, ["pixel_values"], with_proc)
    without = _hf.Example(inputs={})
    with mock.patch.object(AutoImageProcessor, "from_pretrained", side_effect=ImportError("needs PIL")):
        _hf._vision(source, [2], ["pixel_values"], without)
    a, b = with_proc.inputs["pixel_values"], without.inputs["pixel_values"]
    check(b.shape == (2, 3, 32, 32), f"{b.shape}")
    check(torch.allclose(a[0], b[1], atol=1e-6), "same pixels as the processor")
    check("settings of ViTImageProcessor" in without.described[0], without.described[0])


@test
def test_repo_id_from_the_hub_cache() -> None:
    """A repo id is looked up in HF_HUB_CACHE (the hub's layout: refs/main -> snapshot)."""
    import shutil

    cache = os.path.join(work_dir(), "hub")
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = os.path.join(cache, "models--tiny-org--tiny-bert")
    snapshot = os.path.join(repo, "snapshots", commit)
    if not os.path.isdir(snapshot):
        shutil.copytree(model_dir("bert"), snapshot)
        os.makedirs(os.path.join(repo, "refs"))
        with open(os.path.join(repo, "refs", "main"), "w") as f:
            f.write(commit)
    out = os.path.join(work_dir(), "repo-id.pt2")
    env = {"HF_HUB_CACHE": cache, "HF_HUB_OFFLINE": "1"}
    done = run_frontend_process("--model", "tiny-org/tiny-bert", "--output", out, env=env)
    check(done.returncode == 0, f"status {done.returncode}: {last_line(done.stderr)}")
    src = extra(out, "modelexport/program.json")["source"]
    check(src["model"] == "tiny-org/tiny-bert" and src["resolved"] == snapshot and src["class"] == "BertModel", f"{src}")
    # The missing repo in this process (a second process only started torch again):
    # huggingface_hub read HF_HUB_CACHE and HF_HUB_OFFLINE into its constants at import,
    # which both the cache lookup and the message read at the call, so they are patched
    # with the environment, as a process started with `env` has them.
    from huggingface_hub import constants

    with mock.patch.dict(os.environ, env), mock.patch.object(constants, "HF_HUB_CACHE", cache), \
            mock.patch.object(constants, "HF_HUB_OFFLINE", True):
        status, err = run_frontend("--model", "tiny-org/missing", "--output", out)
    line = last_line(err)
    check(status == 2 and f"is not in the Hugging Face cache ({cache})" in line and "HF_HUB_OFFLINE" in line, line)


@test
def test_task_picks_auto_class() -> None:
    _, program, _ = export("gpt2", "--task", "feature-extraction")
    check(program["source"]["class"] == "GPT2Model", f"{program['source']}")
    check(program["output_names"] == ["last_hidden_state"], f"{program['output_names']}")


@test
def test_errors_are_one_line() -> None:
    out = os.path.join(work_dir(), "never.pt2")
    cases = [
        (["--model", "/no/such/dir"], "no such directory"),
        (["--model", "nobody-here/no-model"], "is not in the Hugging Face cache ("),
        (["--model", model_dir("bert"), "--task", "automatic-speech-recognition"], "has no AutoModelForSpeechSeq2Seq/AutoModelForCTC class"),
        (["--model", model_dir("bert"), "--task", "dance"], "unknown task 'dance'"),
        (["--model", model_dir("vit"), "--input-text", "hi"], "--input-text given but ViTForImageClassification.forward takes no input_ids"),
        (["--model", model_dir("bert"), "--input-shape", "1,x"], "argument --input-shape"),
    ]
    unknown = os.path.join(work_dir(), "unknown-arch")
    os.makedirs(unknown, exist_ok=True)
    with open(os.path.join(unknown, "config.json"), "w") as f:
        f.write('{"model_type": "bert", "architectures": ["BertForTimeTravel"]}')
    cases.append((["--model", unknown], "architecture BertForTimeTravel is not in transformers"))
    strange = os.path.join(work_dir(), "unknown-type")
    os.makedirs(strange, exist_ok=True)
    with open(os.path.join(strange, "config.json"), "w") as f:
        f.write('{"model_type": "frobnicator"}')
    cases.append((["--model", strange], "does not know model type 'frobnicator'"))
    for args, expected in cases:
        status, err = run_frontend(*args, "--output", out)
        line = last_line(err)
        check(status == 2, f"{args}: status {status}")
        check(line.startswith(PREFIX) and expected in line, f"{args}: last line {line!r}")
    check(not os.path.exists(out), "no archive written on failure")


@test
def test_error_without_transformers() -> None:
    """A Python without transformers: one line naming the module and --python."""
    shadow = os.path.join(work_dir(), "shadow")
    os.makedirs(shadow, exist_ok=True)
    with open(os.path.join(shadow, "transformers.py"), "w") as f:
        f.write("raise ImportError('No module named transformers (shadowed for the test)')\n")
    done = run_frontend_process("--model", model_dir("bert"), "--output", os.path.join(work_dir(), "x.pt2"),
                                env={"PYTHONPATH": os.pathsep.join([shadow, os.path.join(os.path.dirname(__file__), "..", "..", "python")])})
    line = last_line(done.stderr)
    check(done.returncode == 2, f"status {done.returncode}: {done.stderr[-500:]}")
    check(line.startswith(PREFIX) and "cannot import transformers" in line and "MODELEXPORT_PYTHON" in line, line)


@test
def test_models_package_import_structure() -> None:
    """_import_models_package hands transformers.models the import structure `import
    transformers` computed, without its prefix: on this transformers it must be what
    transformers.models computes itself (a fresh interpreter: nothing imported yet)."""
    import subprocess

    code = """
import sys
from modelexport import frontend
frontend._import_libraries()
from pathlib import Path
import transformers
from transformers.utils import import_utils
models = Path(transformers.__file__).parent / "models"
misses = import_utils.create_import_structure_from_path.cache_info().misses
import_utils.define_import_structure.cache_clear()
import_utils.create_import_structure_from_path.cache_clear()
scanned = type(transformers.models)("transformers.models", str(models / "__init__.py"),
                                    import_utils.define_import_structure(str(models / "__init__.py")))
lazy = sys.modules["transformers.models"]
same = (lazy._class_to_module == scanned._class_to_module and lazy._modules == scanned._modules
        and sorted(lazy.__all__) == sorted(scanned.__all__) and lazy._object_missing_backend == scanned._object_missing_backend)
print(transformers.__version__.startswith(frontend._SCAN_ONCE_VERSIONS), misses, same)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), "..", "..", "python")))
    lines = done.stdout.split()
    check(len(lines) == 3, f"{done.stdout} {done.stderr[-2000:]}")
    applies, misses, same = lines[0] == "True", int(lines[1]), lines[2] == "True"
    check(same, "transformers.models' import structure differs from its own scan")
    if applies:  # one scan of the ~400 model directories, not two
        check(misses < 600, f"{misses} directory scans")


@test
def test_lowering_needed() -> None:
    import torch
    from torch.export import Dim

    from modelexport import _program

    class Plain(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = torch.nn.Linear(6, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.fc(x)
            y.add_(1)  # in place on a temporary nobody else reads: kept
            return torch.relu(y)

    class Flat(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.flatten(1)

    class Square(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.square(x)  # a composite the binary does not read as it is

    class Shared(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = x * 2
            z = y.view(-1)
            y.add_(1)  # seen through the view z
            return z + 0

    class Autocast(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return x @ x.transpose(0, 1)

    batch = {"x": {0: Dim("batch")}}
    cases = [(Plain(), torch.ones(2, 6), None), (Flat(), torch.ones(2, 3, 4), None),
             (Square(), torch.ones(2, 3), "composite aten.square.default"),
             (Shared(), torch.ones(2, 3), "aten.add_.Tensor on mul"), (Autocast(), torch.ones(2, 2), "get_attr")]
    for module, x, reason in cases:
        with torch.no_grad():
            raw = torch.export.export(module, (x,), dynamic_shapes=batch, strict=False)
        got = _program.lowering_needed(raw)
        check(got is None if reason is None else (got or "").startswith(reason), f"{type(module).__name__}: {got!r}")
        program = _program.export(module, (x,), {}, batch)  # lowered where needed, and the same results
        check(torch.equal(program.module()(x), module(x)), f"{type(module).__name__}: results differ")


@test
def test_auto_batch_keeps_traced_inputs() -> None:
    """The Dim.AUTO fallback's batch starts at 2 (the traced size): inputs.json then gets
    the traced inputs, which the program takes; named batches allow 1."""
    import torch

    from modelexport import _hf, _program, frontend

    class M(torch.nn.Module):
        def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
            return input_ids * 2

    example = {"input_ids": torch.ones(1, 5, dtype=torch.long)}
    traced = frontend._trace_batch(example)
    auto = _program.export(M(), (), traced, _hf.dynamic_shapes(traced, named=False))
    check(_program.refused_sizes(auto, example) == ["input_ids dim 0: 1 not in [2, int_oo]"], f"{_program.refused_sizes(auto, example)}")
    check(frontend._examples_for(auto, example, traced, False) is traced, "traced inputs recorded")
    named = _program.export(M(), (), traced, _hf.dynamic_shapes(traced, named=True, batch_only=True))
    check(_program.refused_sizes(named, example) == [], f"{_program.refused_sizes(named, example)}")
    check(frontend._examples_for(named, example, traced, False) is example, "the user's inputs recorded")


@test
def test_export_failure_names_the_module() -> None:
    import torch

    from modelexport import _program

    class Inner(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.sum() > 0:  # data-dependent: torch.export cannot trace it
                return x * 2
            return x

    class Outer(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block = Inner()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.block(x + 1)

    model = Outer()
    try:
        _program.export(model, (torch.ones(2, 3),), {}, None)
    except Exception as e:
        line = _program.failure_line(e, model)
    else:
        raise AssertionError("export should fail")
    check(line.startswith("torch.export failed: ") and "(in module block, Inner)" in line and "\n" not in line, line)


if __name__ == "__main__":
    main()

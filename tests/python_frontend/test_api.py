#!/usr/bin/env python3
"""Tests of the Python API (modelexport.export, export_pretrained): the program handed to
the binary, the mapping of options to flags, the result and ExportError. A stand-in
binary (MODELEXPORT_BINARY) records its arguments; with the real build/modelexport the
last test exports end to end.

    .venv/bin/python tests/python_frontend/test_api.py [NAME_SUBSTRING ...]
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from unittest import mock

from support import REPO, check, extra, load_program, main, model_dir, module_roots, test, work_dir

import modelexport
from modelexport import _api

FAKE = textwrap.dedent(
    """\
    #!{python}
    # Stand-in for the modelexport binary: records argv, keeps the program, prints a summary.
    import json, os, shutil, sys
    with open(os.environ["FAKE_LOG"], "w") as f:
        json.dump(sys.argv[1:], f)
    if os.environ.get("FAKE_FAIL"):
        print("some warning", file=sys.stderr)
        print("modelexport: error: " + os.environ["FAKE_FAIL"], file=sys.stderr)
        sys.exit(2)
    if sys.argv[2].endswith(".pt2"):
        shutil.copy(sys.argv[2], os.environ["FAKE_LOG"] + ".pt2")
    print("exported " + sys.argv[3] + ": 12 nodes, 11 stamped (91.7%), 5 modules; hierarchy in x_hierarchy.json")
    """
)


def fake_binary() -> dict[str, str]:
    path = os.path.join(work_dir(), "fake-modelexport")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(FAKE.format(python=sys.executable))
        os.chmod(path, 0o755)
    return {"MODELEXPORT_BINARY": path, "FAKE_LOG": os.path.join(work_dir(), "fake-log.json")}


def recorded_argv() -> list[str]:
    with open(os.path.join(work_dir(), "fake-log.json")) as f:
        return json.load(f)


def tiny_module():
    import torch

    class Block(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = torch.nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.proj(x))

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block = Block()
            self.head = torch.nn.Linear(4, 2)

        def forward(self, x: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
            h = self.block(x) * mask.unsqueeze(-1)
            return {"hidden": h, "scores": self.head(h)}

    return Net().eval()


@test
def test_option_flags() -> None:
    flags = _api.binary_flags(
        {"opset": 17, "strategy": "usage_based", "with_graphml": True, "with_report": False, "verbose": True,
         "external_data": True, "hierarchy_attrs": True, "temp_dir": "/tmp", "output_names": ["a", "b"]},
        "export",
    )
    check(flags == ["--opset-version", "17", "--strategy", "usage_based", "--with-graphml", "--verbose", "--external-data",
                    "--hierarchy-attrs", "--temp-dir", "/tmp", "--output-names", "a,b"], f"{flags}")
    check(_api.binary_flags({"opset_version": 12}, "export") == ["--opset-version", "12"], "opset_version")
    for bad in ({"opsett": 1}, {"opset": 11, "opset_version": 12}):
        try:
            _api.binary_flags(bad, "export")
        except TypeError as e:
            check("export()" in str(e), str(e))
        else:
            raise AssertionError(f"{bad} accepted")


@test
def test_find_binary() -> None:
    with mock.patch.dict(os.environ, fake_binary()):
        check(modelexport.find_binary() == os.environ["MODELEXPORT_BINARY"], "MODELEXPORT_BINARY first")
    with mock.patch.dict(os.environ, {"MODELEXPORT_BINARY": "/no/such/modelexport"}):
        try:
            modelexport.find_binary()
        except modelexport.ExportError as e:
            check("MODELEXPORT_BINARY" in e.message, e.message)
        else:
            raise AssertionError("a missing MODELEXPORT_BINARY accepted")


@test
def test_export_module_with_named_dims() -> None:
    import torch
    from torch.export import Dim

    model = tiny_module()
    x, mask = torch.randn(2, 5, 4), torch.ones(2, 5)
    batch, seq = Dim("batch"), Dim("tokens")
    out = os.path.join(work_dir(), "net.onnx")
    with mock.patch.dict(os.environ, fake_binary()):
        result = modelexport.export(
            model, (x,), {"mask": mask}, output=out,
            dynamic_shapes={"x": {0: batch, 1: seq}, "mask": {0: batch, 1: seq}}, opset=17, with_report=True,
        )
    argv = recorded_argv()
    check(argv[0] == "export" and argv[1].endswith(".pt2") and argv[2] == out, f"{argv}")
    check(argv[3:] == ["--opset-version", "17", "--with-report"], f"{argv}")
    check((result.output, result.nodes, result.stamped) == (out, 12, 11), f"{result}")
    check(result.summary.startswith("exported "), result.summary)
    check(not os.path.exists(argv[1]), "the temporary program is removed")

    archive = os.path.join(work_dir(), "fake-log.json.pt2")
    program = extra(archive, "modelexport/program.json")
    axes = {"0": "batch", "1": "tokens"}
    check(program["dynamic_axes"] == {"x": axes, "mask": axes}, f"{program['dynamic_axes']}")
    check(program["output_names"] == ["hidden", "scores"], f"{program['output_names']}")
    check(program["source"]["class"] == "Net", f"{program['source']}")
    inputs = extra(archive, "modelexport/inputs.json")["inputs"]
    check([(i["name"], i["shape"], i["dtype"]) for i in inputs] == [("x", [2, 5, 4], "float32"), ("mask", [2, 5], "float32")], f"{inputs}")
    check(abs(inputs[0]["values"][0] - float(x.flatten()[0])) < 1e-7, "values as given")
    check(module_roots(load_program(archive)) == {":Net"}, "the user's module is the root")


@test
def test_export_tuple_outputs_and_auto_dims() -> None:
    import torch
    from torch.export import Dim

    class Pair(torch.nn.Module):
        def forward(self, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return a + 1, a.sum(-1)

    with mock.patch.dict(os.environ, fake_binary()):
        modelexport.export(Pair(), (torch.ones(3, 4),), output=os.path.join(work_dir(), "pair.onnx"),
                           dynamic_shapes=({0: Dim.AUTO},), keep_program=True)
    program = extra(os.path.join(work_dir(), "fake-log.json.pt2"), "modelexport/program.json")
    check(program["output_names"] == ["output_0", "output_1"], f"{program['output_names']}")
    # Dim.AUTO has no name: the fallback <input>_dim<d>.
    check(program["dynamic_axes"] == {"a": {"0": "a_dim0"}}, f"{program['dynamic_axes']}")


@test
def test_export_errors() -> None:
    import torch

    model = tiny_module()
    env = dict(fake_binary(), FAKE_FAIL="model.onnx: cannot convert aten::frob")
    with mock.patch.dict(os.environ, env):
        try:
            modelexport.export(model, (torch.randn(2, 5, 4), torch.ones(2, 5)), output=os.path.join(work_dir(), "e.onnx"))
        except modelexport.ExportError as e:
            check(isinstance(e, RuntimeError), "ExportError is a RuntimeError")
            check(e.message == "model.onnx: cannot convert aten::frob", e.message)
            check("some warning" in e.stderr and e.returncode == 2, e.stderr)
        else:
            raise AssertionError("a failing binary raised nothing")
    try:
        modelexport.export(model, (torch.randn(2, 5, 4), torch.ones(2, 5)), bogus=1)
    except TypeError as e:
        check("bogus" in str(e), str(e))
    else:
        raise AssertionError("an unknown option accepted")

    class Branchy(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x if x.max() > 0 else -x

    with mock.patch.dict(os.environ, fake_binary()):
        try:
            modelexport.export(Branchy(), (torch.ones(2),))
        except modelexport.ExportError as e:
            check(e.message.startswith("torch.export failed: ") and "(in module (root), Branchy)" in e.message, e.message)
        else:
            raise AssertionError("a data-dependent branch exported")


@test
def test_export_pretrained_arguments() -> None:
    out = os.path.join(work_dir(), "bert.onnx")
    with mock.patch.dict(os.environ, fake_binary()):
        result = modelexport.export_pretrained("org/name", out, input_text="hi there", input_shape=(1, 16),
                                               task="fill-mask", strategy="htp", with_graphml=True)
    argv = recorded_argv()
    check(argv == ["export", "org/name", out, "--strategy", "htp", "--with-graphml", "--input-text", "hi there",
                   "--input-shape", "1,16", "--task", "fill-mask"], f"{argv}")
    check(result.nodes == 12, f"{result}")


@test
def test_end_to_end_with_the_binary() -> None:
    """Only when build/modelexport exists (the lead builds it)."""
    binary = os.path.join(REPO, "build", "modelexport")
    if not os.path.exists(binary):
        print("  (skipped: no build/modelexport)")
        return
    import onnx

    out = os.path.join(work_dir(), "bert-e2e.onnx")
    # The front end runs in this Python (which has torch and transformers), whatever the
    # binary would pick by itself.
    with mock.patch.dict(os.environ, {"MODELEXPORT_BINARY": binary, "MODELEXPORT_PYTHON": sys.executable}):
        result = modelexport.export_pretrained(model_dir("bert"), out)
    check(result.nodes and result.stamped == result.nodes, f"{result.summary}")
    graph = onnx.load(out).graph
    check([i.name for i in graph.input][:1] == ["input_ids"], f"{[i.name for i in graph.input]}")
    check([o.name for o in graph.output] == ["last_hidden_state", "pooler_output"], f"{[o.name for o in graph.output]}")
    dims = [d.dim_param for d in graph.input[0].type.tensor_type.shape.dim]
    check(dims == ["batch_size", "sequence_length"], f"input_ids dims {dims}")
    tags = [p.value for n in graph.node for p in n.metadata_props if p.key == "hierarchy_path"]
    check(len(tags) == len(graph.node) and all(t.startswith("/BertModel") for t in tags), f"tags {tags[:3]}")
    check("/BertModel/BertEncoder/BertLayer.0/BertAttention/BertSdpaSelfAttention/Linear.query" in tags
          or "/BertModel/BertEncoder/BertLayer.0/BertAttention/BertSelfAttention/Linear.query" in tags, "query's tag")
    check(not [t for t in tags if "_empty_nn_module_stack" in t], "torch's empty-stack marker is no module")

    import torch
    from torch.export import Dim

    out = os.path.join(work_dir(), "net-e2e.onnx")
    batch, seq = Dim("batch"), Dim("tokens")
    with mock.patch.dict(os.environ, {"MODELEXPORT_BINARY": binary}):
        result = modelexport.export(tiny_module(), (torch.randn(2, 5, 4), torch.ones(2, 5)), output=out,
                                    dynamic_shapes=({0: batch, 1: seq}, {0: batch, 1: seq}))
    graph = onnx.load(out).graph
    shapes = {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in [*graph.input, *graph.output]}
    check(shapes == {"x": ["batch", "tokens", 4], "mask": ["batch", "tokens"], "hidden": ["batch", "tokens", 4],
                     "scores": ["batch", "tokens", 2]}, f"{shapes}")
    check("/Net/Block/Linear/MatMul" in [n.name for n in graph.node], f"{[n.name for n in graph.node]}")


@test
def test_opset_chosen_by_default() -> None:
    """Without opset=, no --opset-version reaches the binary, which chooses the opset
    (issue 23 item 8): grid_sample needs 16, said in one note; opset=14 is refused."""
    check("--opset-version" not in _api.binary_flags({"strategy": "htp"}, "export"), "no opset flag by default")
    binary = os.path.join(REPO, "build", "modelexport")
    if not os.path.exists(binary):
        print("  (skipped: no build/modelexport)")
        return
    import onnx
    import torch
    import torch.nn.functional as F

    class Warp(torch.nn.Module):
        def forward(self, x, grid):
            return F.grid_sample(x, grid, align_corners=False)

    args = (torch.randn(1, 2, 6, 7), torch.rand(1, 4, 5, 2) * 2 - 1)
    out = os.path.join(work_dir(), "warp-opset.onnx")
    with mock.patch.dict(os.environ, {"MODELEXPORT_BINARY": binary}):
        result = modelexport.export(Warp(), args, output=out)
        check([o.version for o in onnx.load(out).opset_import if o.domain == ""] == [16], "opset 16 chosen")
        check(len(result.notes) == 1 and "ONNX opset 16 chosen (aten::grid_sampler" in result.notes[0]
              and "needs GridSample" in result.notes[0], f"{result.notes}")
        try:
            modelexport.export(Warp(), args, output=out + "-14.onnx", opset=14)
            check(False, "opset=14 exported")
        except modelexport.ExportError as e:
            check("needs ONNX opset 16 (GridSample), not in opset 14" in e.message, e.message)
        check(not os.path.exists(out + "-14.onnx"), "nothing written at opset 14")


if __name__ == "__main__":
    main()

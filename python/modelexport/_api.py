"""The Python API: export a module or a Hugging Face model through the modelexport binary.

Standard library only at import time; torch is imported inside export()."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ._errors import ExportError, FrontendError

_ERROR_PREFIX = "modelexport: error: "
_NOTE_PREFIX = "modelexport: note: "
_SUMMARY = re.compile(r"^exported (?P<path>.+): (?P<nodes>\d+) nodes, (?P<stamped>\d+) stamped")


@dataclass
class ExportResult:
    """What the binary made: the ONNX path, its summary line and the counts in it."""

    output: str
    summary: str
    nodes: int | None = None
    stamped: int | None = None
    stdout: str = ""
    stderr: str = ""
    # The binary's notes, e.g. the opset it chose when none was given ("modelexport: note:
    # ONNX opset 16 chosen (...)"); also printed to sys.stderr, as the command line shows them.
    notes: list[str] = field(default_factory=list)
    program: str | None = None  # the .pt2 handed to the binary (export() with keep_program=True)


def find_binary() -> str:
    """The modelexport binary: $MODELEXPORT_BINARY, beside this Python (a venv's bin/),
    on PATH, or the source tree's build/modelexport."""
    given = os.environ.get("MODELEXPORT_BINARY")
    if given:
        if not (os.path.isfile(given) and os.access(given, os.X_OK)):
            raise ExportError(f"MODELEXPORT_BINARY={given}: no such executable")
        return given
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [
        os.path.join(os.path.dirname(sys.executable), "modelexport"),
        shutil.which("modelexport"),
        os.path.normpath(os.path.join(here, "..", "..", "build", "modelexport")),  # python/modelexport in the sources
    ]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise ExportError(
        "the modelexport binary was not found (looked beside " + sys.executable + ", on PATH and in the source "
        "tree's build/); install it (pip install .) or set MODELEXPORT_BINARY to its path"
    )


# Keyword options -> the binary's export flags. bool: a flag given when true.
_FLAGS: dict[str, tuple[str, type]] = {
    "opset": ("--opset-version", int),
    "opset_version": ("--opset-version", int),
    "strategy": ("--strategy", str),
    "with_graphml": ("--with-graphml", bool),
    "with_report": ("--with-report", bool),
    "verbose": ("--verbose", bool),
    "external_data": ("--external-data", bool),
    "hierarchy_attrs": ("--hierarchy-attrs", bool),
    "no_hierarchy_attrs": ("--no-hierarchy-attrs", bool),
    "temp_dir": ("--temp-dir", str),
    "output_names": ("--output-names", list),
    "python": ("--python", str),
}


def binary_flags(options: Mapping[str, Any], caller: str) -> list[str]:
    """CLI flags for keyword options; an unknown option is a TypeError, as for any call."""
    if "opset" in options and "opset_version" in options:
        raise TypeError(f"{caller}() got both opset and opset_version")
    flags: list[str] = []
    for key, value in options.items():
        if key not in _FLAGS:
            known = ", ".join(sorted(_FLAGS))
            raise TypeError(f"{caller}() got an unexpected keyword argument {key!r} (options: {known})")
        flag, kind = _FLAGS[key]
        if value is None or value is False:
            continue
        if kind is bool:
            flags.append(flag)
        elif kind is list:
            flags += [flag, value if isinstance(value, str) else ",".join(str(v) for v in value)]
        else:
            flags += [flag, str(kind(value))]
    return flags


def run_binary(arguments: Sequence[str], output: str) -> ExportResult:
    """Run `modelexport export ...`; its one-line error becomes an ExportError."""
    command = [find_binary(), "export", *arguments]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        last = lines[-1] if lines else f"{command[0]} exited with status {done.returncode}"
        message = last[len(_ERROR_PREFIX):] if last.startswith(_ERROR_PREFIX) else last
        raise ExportError(message, stderr=done.stderr, returncode=done.returncode)
    notes = [line for line in done.stderr.splitlines() if line.startswith(_NOTE_PREFIX)]
    for note in notes:
        print(note, file=sys.stderr)
    summary = next((line for line in done.stdout.splitlines() if line.startswith("exported ")), "")
    m = _SUMMARY.match(summary)
    return ExportResult(
        output=output,
        summary=summary,
        nodes=int(m["nodes"]) if m else None,
        stamped=int(m["stamped"]) if m else None,
        stdout=done.stdout,
        stderr=done.stderr,
        notes=notes,
    )


def export(
    model: Any,
    args: tuple[Any, ...] | Any = (),
    kwargs: Mapping[str, Any] | None = None,
    output: str = "model.onnx",
    dynamic_shapes: Any = None,
    *,
    keep_program: bool = False,
    **options: Any,
) -> ExportResult:
    """Export an nn.Module to ONNX with its module hierarchy on every node.

    torch.export.export(model, args, kwargs, dynamic_shapes=..., strict=False) without
    gradients, then run_decompositions({}) where needed (_program.lowering_needed); the
    program (with the example inputs and the dim names of
    the Dims in `dynamic_shapes`) is saved to a temporary .pt2 that the binary exports.
    Options: opset / opset_version, strategy, with_graphml, with_report, verbose,
    external_data, hierarchy_attrs, no_hierarchy_attrs, output_names, temp_dir (also
    where the .pt2 goes); keep_program=True keeps the .pt2 (ExportResult.program).
    Raises ExportError (torch.export's failure, or the binary's one-line error)."""
    if not isinstance(args, tuple):
        args = (args,)
    flags = binary_flags(options, "export")  # before the slow part: a typo fails at once
    kwargs = dict(kwargs or {})
    from . import _program  # imports torch

    import torch

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"export() needs a torch.nn.Module, got {type(model).__name__}")
    timings: dict[str, float] = {}
    t = time.perf_counter()
    try:
        program = _program.export(model, args, kwargs, dynamic_shapes)
    except Exception as e:
        raise ExportError(_program.failure_line(e, model), stderr=str(e)) from e
    timings["export"] = time.perf_counter() - t
    names = _dim_names(model, args, kwargs, dynamic_shapes, program)
    info = {
        "dynamic_axes": _program.name_dims(_program.symbolic_dims(program), lambda i, d: names.get((i, d))),
        "output_names": _program.output_names(program),
        "source": {"model": None, "resolved": None, "class": type(model).__name__, "task": None, "inputs_from": "modelexport.export() arguments"},
        "versions": _program.versions(),
        "timings": timings,
    }
    tensors = _tensor_leaves((args, kwargs))
    inputs = [(name, value) for (name, _), value in zip(_tensor_inputs(program), tensors)]
    temp_dir = options.get("temp_dir")
    workdir = tempfile.mkdtemp(prefix="modelexport-", dir=temp_dir)
    path = os.path.join(workdir, "program.pt2")
    try:
        try:
            _program.save(program, path, _program.input_records(inputs), info)
        except FrontendError as e:
            raise ExportError(str(e)) from e
        result = run_binary([path, output, *flags], output)
    finally:
        if not keep_program:
            shutil.rmtree(workdir, ignore_errors=True)
    result.program = path if keep_program else None
    return result


def _tensor_leaves(tree: Any) -> list[Any]:
    """Tensors in torch.export's input order (pytree flattening of (args, kwargs))."""
    import torch
    from torch.utils import _pytree as pytree

    return [leaf for leaf in pytree.tree_leaves(tree) if isinstance(leaf, torch.Tensor)]


def _spec_leaves(value: Any, spec: Any) -> list[Any]:
    """Per tensor in `value` (pytree order), its part of `spec`: a {dim: Dim} dict, a
    sequence of Dims, or None."""
    import torch

    if isinstance(value, torch.Tensor):
        return [spec]
    leaves: list[Any] = []
    if isinstance(value, Mapping):
        for key in value:
            leaves += _spec_leaves(value[key], spec.get(key) if isinstance(spec, Mapping) else None)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            leaves += _spec_leaves(item, spec[i] if isinstance(spec, (list, tuple)) and i < len(spec) else None)
    else:  # another pytree node (a dataclass, ModelOutput) or a constant: no names
        leaves += [None] * len(_tensor_leaves(value))
    return leaves


def _dim_names(
    model: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any], dynamic_shapes: Any, program: Any
) -> dict[tuple[str, int], str]:
    """(input name, dim) -> the user's Dim name, for the dims given a named Dim."""
    import inspect

    if dynamic_shapes is None:
        return {}
    if isinstance(dynamic_shapes, Mapping):
        # Keyed by forward's argument names: positional args take the signature's names.
        params = list(inspect.signature(model.forward).parameters)
        per_arg = [(a, dynamic_shapes.get(params[i]) if i < len(params) else None) for i, a in enumerate(args)]
        per_arg += [(v, dynamic_shapes.get(k)) for k, v in kwargs.items()]
    else:  # a sequence over args, then kwargs
        flat = list(dynamic_shapes)
        values = list(args) + list(kwargs.values())
        per_arg = [(v, flat[i] if i < len(flat) else None) for i, v in enumerate(values)]
    specs: list[Any] = []
    for value, spec in per_arg:
        specs += _spec_leaves(value, spec)
    names: dict[tuple[str, int], str] = {}
    for (name, _), spec in zip(_tensor_inputs(program), specs):
        items = spec.items() if isinstance(spec, Mapping) else enumerate(spec) if isinstance(spec, (list, tuple)) else []
        for d, dim in items:
            label = getattr(dim, "__name__", None)
            if isinstance(label, str) and label.isidentifier():  # a named Dim (not AUTO/STATIC hints)
                names[(name, int(d))] = label
    return names


def _tensor_inputs(program: Any) -> list[tuple[str, Any]]:
    """The program's tensor user inputs (constants given as inputs have no placeholder
    value that is a tensor)."""
    import torch

    from . import _program

    return [(n, v) for n, v in _program.user_inputs(program) if isinstance(v, torch.Tensor)]


def export_pretrained(
    name_or_path: str,
    output: str,
    input_text: str | None = None,
    input_shape: Sequence[int] | str | None = None,
    task: str | None = None,
    **options: Any,
) -> ExportResult:
    """Export a Hugging Face model (repo id in the local cache, or a directory) to ONNX:
    `modelexport export NAME OUTPUT ...`, which runs the Python front end itself.
    Options as for export(). Raises ExportError with the binary's one-line error."""
    flags = binary_flags(options, "export_pretrained")
    if input_text is not None:
        flags += ["--input-text", input_text]
    if input_shape is not None:
        shape = input_shape if isinstance(input_shape, str) else ",".join(str(int(d)) for d in input_shape)
        flags += ["--input-shape", shape]
    if task is not None:
        flags += ["--task", task]
    return run_binary([os.fspath(name_or_path), os.fspath(output), *flags], os.fspath(output))

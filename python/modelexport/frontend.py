"""python -m modelexport.frontend: a Hugging Face model (repo id in the local cache, or a
save_pretrained / snapshot directory) to a torch.export archive for the modelexport
binary, which runs this when it is given such a name.

    python -m modelexport.frontend --model NAME_OR_DIR --output PROGRAM.pt2
        [--task TASK] [--input-text TEXT] [--input-shape 1,128] [--verbose]

The archive carries extra/modelexport/inputs.json (the example inputs at the user's
batch) and extra/modelexport/program.json (dim names, output names, source, versions,
timings). Any failure ends stderr with one line `modelexport-frontend: error: ...` and
exit status 2.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
import traceback
from typing import Any

from ._errors import FrontendError

PROG = "modelexport-frontend"


def _log(verbose: bool, message: str) -> None:
    if verbose:
        print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def _import_libraries() -> None:
    """torch and transformers, or say which is missing and how to choose another Python."""

    def missing(module: str, why: str) -> FrontendError:
        return FrontendError(
            f"the Python at {sys.executable} cannot import {module} ({why}); install torch and transformers "
            f"there, or point --python or MODELEXPORT_PYTHON to an interpreter that has them"
        )

    # Both looked up before either is imported: a Python without transformers is told so
    # at once, not after importing torch (1.5-2 s).
    for module in ("torch", "transformers"):
        if importlib.util.find_spec(module) is None:
            raise missing(module, f"No module named '{module}'")
    for module in ("torch", "transformers"):
        try:
            __import__(module)
        except ImportError as e:
            raise missing(module, str(e)) from e
    _import_models_package()
    import torch

    if not hasattr(getattr(torch, "export", None), "Dim") or not hasattr(torch.export.Dim, "AUTO"):
        raise FrontendError(
            f"torch {torch.__version__} at {sys.executable} is too old: the front end needs torch >= 2.6 "
            f"(torch.export with Dim.AUTO); upgrade it, or point --python or MODELEXPORT_PYTHON to another interpreter"
        )


# transformers versions whose models package _import_models_package was checked on
# (tests/python_frontend/test_frontend.py test_models_package_import_structure).
_SCAN_ONCE_VERSIONS = ("4.57.",)


def _import_models_package() -> None:
    """Import transformers.models without scanning its model directories a second time.

    `import transformers` reads the ~1400 files under transformers/models for their
    __all__ (define_import_structure(models, prefix="models")), and importing the
    transformers.models package reads them all again (define_import_structure of its
    __init__.py, unprefixed): the lru_cache under both holds 128 of the 400 directories.
    The second result is the first without its "models." prefix (define_import_structure
    adds the prefix and nothing else), which define_import_structure's own cache still
    holds: it is given to transformers.models while it imports (0.3-0.9 s saved). Only
    on the transformers versions this was checked on; anywhere else, or if the first
    result is not in the cache, transformers scans as it always does."""
    if "transformers.models" in sys.modules:
        return
    try:
        from pathlib import Path

        import transformers
        from transformers.utils import import_utils

        if not transformers.__version__.startswith(_SCAN_ONCE_VERSIONS):
            return
        original = import_utils.define_import_structure
        models = Path(transformers.__file__).parent / "models"
        hits = original.cache_info().hits
        prefixed = original(models, prefix="models")
        if original.cache_info().hits != hits + 1:
            return  # not what `import transformers` made (another layout): let it scan
    except Exception:  # another transformers: it does its own import
        return
    plain = {
        backends: {module[len("models."):]: set(names) for module, names in modules.items() if module.startswith("models.")}
        for backends, modules in prefixed.items()
    }
    plain = {backends: modules for backends, modules in plain.items() if modules}
    init = str(models / "__init__.py")

    def define_import_structure(module_path: Any, prefix: str | None = None) -> Any:
        if prefix is None and str(module_path) == init:
            return plain
        return original(module_path, prefix)

    import_utils.define_import_structure = define_import_structure
    try:
        import transformers.models  # noqa: F401
    finally:
        import_utils.define_import_structure = original


def _shape(text: str) -> list[int]:
    try:
        dims = [int(d) for d in text.split(",")]
    except ValueError:
        dims = []
    if not dims or any(d < 1 for d in dims):
        raise argparse.ArgumentTypeError(f"expected positive dims joined by commas, e.g. 1,128; got {text!r}")
    return dims


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="Hugging Face repo id (local cache) or model directory")
    p.add_argument("--output", required=True, help="torch.export archive (.pt2) to write, atomically")
    p.add_argument("--task", help="pipeline task choosing the Auto class (default: config.architectures)")
    p.add_argument("--input-text", help='text for the tokenizer (default "Hello world")')
    p.add_argument("--input-shape", type=_shape, help="B,L: batch B, text padded/truncated to L tokens")
    p.add_argument("--verbose", action="store_true", help="print progress and stage timings to stderr")
    return p.parse_args(argv)


def _trace_batch(inputs: dict[str, Any]) -> dict[str, Any]:
    """Batch 1 repeated to 2: torch.export specialises a dim traced at size 1."""
    import torch

    return {k: torch.cat([v, v]) if v.dim() > 0 and v.shape[0] == 1 else v for k, v in inputs.items()}


def _refine(message: str, shapes: dict[str, dict[int, Any]]) -> dict[str, dict[int, Any]]:
    """torch's refine_dynamic_shapes_from_suggested_fixes on the named Dims only (torch
    2.13's fails on a Dim.AUTO hint: it has no __name__); the hints are kept as they were."""
    from torch.export import Dim
    from torch.export.dynamic_shapes import refine_dynamic_shapes_from_suggested_fixes

    named = {k: {d: v for d, v in dims.items() if isinstance(v, Dim)} for k, dims in shapes.items()}
    refined = refine_dynamic_shapes_from_suggested_fixes(message, named)
    return {k: {**{d: v for d, v in dims.items() if not isinstance(v, Dim)}, **refined[k]} for k, dims in shapes.items()}


def _export(model: Any, inputs: dict[str, Any], verbose: bool, config: Any = None) -> Any:
    """Named, shared Dims first, so the ids and the mask keep one sequence symbol, the
    sequences bounded by the config's longest text (what a position table allows); when
    torch.export refuses them it suggests fixes (another max, a specialised dim), applied
    for up to two retries; then named batches and Dim.AUTO elsewhere; then Dim.AUTO
    everywhere, letting torch.export decide what stays dynamic (its batch then starts
    at 2, the traced size: see _examples_for)."""
    from . import _hf, _program

    def log(message: str) -> None:
        _log(verbose, message)

    shapes = _hf.dynamic_shapes(inputs, named=True, config=config)
    for attempt in range(3):
        try:
            return _program.export(model, (), inputs, shapes, log)
        except Exception as e:  # torch.export raises many kinds
            log(f"named dims, attempt {attempt + 1}: {_program.failure_line(e, model)}")
            message = str(getattr(e, "msg", e))  # UserError.msg: without the draft_export advice after it
            if "Suggested fixes:" not in message:
                break
            try:
                shapes = _refine(message, shapes)
            except Exception as fix_error:
                log(f"cannot apply torch.export's suggested fixes: {fix_error!r}")
                break
    try:
        return _program.export(model, (), inputs, _hf.dynamic_shapes(inputs, named=True, batch_only=True), log)
    except Exception as e:
        log(f"named batches, Dim.AUTO elsewhere: {_program.failure_line(e, model)}")
    try:
        return _program.export(model, (), inputs, _hf.dynamic_shapes(inputs, named=False), log)
    except Exception as e:
        raise FrontendError(_program.failure_line(e, model)) from e


def _examples_for(program: Any, example: dict[str, Any], traced: dict[str, Any], verbose: bool) -> dict[str, Any]:
    """The example inputs inputs.json records: the user's (batch 1 by default) when the
    program accepts their sizes, else the traced ones (batch 2), which it does (a
    Dim.AUTO batch starts at 2)."""
    from . import _program

    refused = _program.refused_sizes(program, example)
    if not refused:
        return example
    _log(verbose, f"the program does not take {refused}: inputs.json has the traced inputs")
    return traced


def run(args: argparse.Namespace) -> None:
    timings: dict[str, float] = {}
    start = time.perf_counter()
    _import_libraries()
    from . import _hf, _program

    timings["import"] = time.perf_counter() - start
    _log(args.verbose, f"imported torch and transformers in {timings['import']:.2f} s")

    t = time.perf_counter()
    source = _hf.resolve(args.model, args.task)
    _log(args.verbose, f"{args.model}: {source.cls.__name__} from {source.resolved}")
    model = _hf.load(source)
    timings["load"] = time.perf_counter() - t
    _log(args.verbose, f"loaded {source.cls.__name__} in {timings['load']:.2f} s")

    t = time.perf_counter()
    example = _hf.example_inputs(source, model, args.input_text, args.input_shape)
    timings["inputs"] = time.perf_counter() - t
    _log(args.verbose, "inputs: " + "; ".join(example.described))

    t = time.perf_counter()
    traced = _trace_batch(example.inputs)
    with _hf.export_patches():
        program = _export(model, traced, args.verbose, source.config)
    timings["export"] = time.perf_counter() - t
    _log(args.verbose, f"exported in {timings['export']:.2f} s")

    root = _program.module_root(program)
    if root is not None and root != source.cls.__name__:
        raise FrontendError(f"internal: the program's root module is {root}, not {source.cls.__name__}")
    recorded = _examples_for(program, example.inputs, traced, args.verbose)
    roles = {name: _hf.dim_roles(name, value.dim(), example.inputs) for name, value in example.inputs.items()}
    info = {
        "dynamic_axes": _program.name_dims(_program.symbolic_dims(program), lambda i, d: roles.get(i, {}).get(d)),
        "output_names": _program.output_names(program),
        "source": {
            "model": args.model,
            "resolved": source.resolved,
            "class": source.cls.__name__,
            "task": source.task,
            "inputs_from": "; ".join(example.described),
        },
        "versions": _program.versions(),
        "timings": timings,
    }
    _program.save(program, args.output, _program.input_records(recorded.items()), info)
    _log(args.verbose, f"wrote {args.output} in {timings['save']:.2f} s; dims {info['dynamic_axes']}, outputs {info['output_names']}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)  # usage errors: argparse prints "modelexport-frontend: error: ..." and exits 2
    try:
        run(args)
    except FrontendError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: error: interrupted", file=sys.stderr)
        return 2
    except Exception as e:  # a bug or an unforeseen library error: the trace, then the one line
        traceback.print_exc()
        first = next((line.strip() for line in str(e).splitlines() if line.strip()), "")
        print(f"{PROG}: error: {type(e).__name__}: {first}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    status = main()
    # The archive is written and renamed, the messages are out: leave without tearing
    # the interpreter down, which with torch and transformers loaded takes longer than
    # the rest of a small model's export after the imports (0.5-2 s).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)

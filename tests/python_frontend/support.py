"""A small test runner and helpers for the front end's tests (plain scripts, no pytest)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from typing import Any, Callable, NoReturn

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
PYTHON_DIR = os.path.join(REPO, "python")
sys.path.insert(0, PYTHON_DIR)
sys.path.insert(0, HERE)
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import tiny_models  # noqa: E402

_TESTS: list[Callable[[], None]] = []
_WORK = tempfile.mkdtemp(prefix="modelexport-pytest-")
_MODELS: dict[str, str] = {}


def test(fn: Callable[[], None]) -> Callable[[], None]:
    _TESTS.append(fn)
    return fn


def work_dir() -> str:
    return _WORK


def model_dir(name: str) -> str:
    """The tiny model `name`, made once per run."""
    if name not in _MODELS:
        from modelexport import frontend

        # torch and transformers imported the front end's way before tiny_models imports
        # them: transformers.models' ~400 directories are then scanned once, not twice.
        frontend._import_libraries()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            _MODELS[name] = tiny_models.make(name, os.path.join(_WORK, "models"))
    return _MODELS[name]


def run_frontend(*args: str) -> tuple[int, str]:
    """python -m modelexport.frontend in this process: (exit status, stderr)."""
    from modelexport import frontend

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            status = frontend.main(list(args))
        except SystemExit as e:  # argparse
            status = int(e.code or 0)
    return status, err.getvalue()


_EXPORTS: dict[tuple[str, ...], tuple[str, str]] = {}


def exported(model: str, *options: str) -> tuple[str, str]:
    """(archive, stderr) of the front end with --verbose on tiny model `model`, run once
    per process for the same options: tests that check one export share it (--verbose
    only adds progress lines to stderr)."""
    key = (model, *options)
    if key not in _EXPORTS:
        out = os.path.join(_WORK, f"{model}-{len(_EXPORTS)}.pt2")
        status, err = run_frontend("--model", model_dir(model), "--output", out, "--verbose", *options)
        check(status == 0, f"front end failed on {model} {list(options)} ({status}): {last_line(err)}")
        _EXPORTS[key] = (out, err)
    return _EXPORTS[key]


def export(model: str, *options: str) -> tuple[str, dict, dict]:
    """The front end's export of a tiny model: (archive, program.json, inputs.json)."""
    out, _ = exported(model, *options)
    return out, extra(out, "modelexport/program.json"), extra(out, "modelexport/inputs.json")


def inputs_by_name(inputs: dict) -> dict[str, dict]:
    return {i["name"]: i for i in inputs["inputs"]}


def run_frontend_process(*args: str, python: str = sys.executable, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": PYTHON_DIR, **(env or {})}
    return subprocess.run(
        [python, "-m", "modelexport.frontend", *args], capture_output=True, text=True, env=environment, timeout=600
    )


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def extra(archive: str, name: str) -> dict[str, Any]:
    """An extra file of a .pt2 (zip: <top>/extra/<name>) as JSON."""
    with zipfile.ZipFile(archive) as z:
        for entry in z.namelist():
            if entry.split("/", 1)[-1] == "extra/" + name:
                return json.loads(z.read(entry))
    raise AssertionError(f"{archive} has no extra/{name}")


def load_program(archive: str) -> Any:
    import torch

    return torch.export.load(archive)


def module_roots(program: Any) -> set[str]:
    """'path:Class' of the first frame of every node's nn_module_stack (all ':RootClass'
    when the tree is right; torch's empty-stack marker would show up here too)."""
    roots = set()
    for node in program.graph.nodes:
        stack = node.meta.get("nn_module_stack")
        if not stack:
            continue
        frames = list(stack.values())
        if frames:
            path, cls = frames[0]
            roots.add(f"{path}:{str(cls).rsplit('.', 1)[-1]}")
    return roots


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def main(argv: list[str] | None = None) -> NoReturn:
    """Run the tests (those whose name has one of argv's substrings) and exit: 1 on a
    failure. The exit skips the interpreter's teardown, which with torch and
    transformers loaded costs ~0.5 s of CPU and checks nothing."""
    wanted = (argv if argv is not None else sys.argv[1:]) or None
    failed = 0
    for fn in _TESTS:
        if wanted and not any(w in fn.__name__ for w in wanted):
            continue
        start = time.perf_counter()
        try:
            fn()
            print(f"PASS {fn.__name__} ({time.perf_counter() - start:.1f} s)", flush=True)
        except Exception:
            failed += 1
            print(f"FAIL {fn.__name__} ({time.perf_counter() - start:.1f} s)", flush=True)
            traceback.print_exc()
    print(f"{'FAILED' if failed else 'OK'}: {failed} failed; work dir {_WORK}")
    if not failed:
        import shutil

        shutil.rmtree(_WORK, ignore_errors=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1 if failed else 0)

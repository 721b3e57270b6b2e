#!/usr/bin/env python3
"""Make the Python front end's program of each given Hugging Face repo in ONE process and
keep it in a modelexport program cache, under the key the binary looks it up by, so that a
test's `modelexport export REPO` finds it (a program-cache hit, no Python started).

    make_hf_programs.py --source SOURCE_DIR --binary MODELEXPORT --python VENV_PYTHON
        --hub-cache HF_CACHE --program-cache DIR [--with-inputs REPO TEXT SHAPE]... REPO...

Each program is made by the front end itself (python/modelexport/frontend.py: run() with
the arguments the binary gives it for a bare `modelexport export REPO`, or for
`--input-text TEXT --input-shape SHAPE` with --with-inputs, "-" for an option not given),
imported from
SOURCE_DIR/python as the build tree's binary runs it, offline on HF_CACHE; only the
interpreter start and the imports of torch and transformers are shared. The key
(tests/tools/frontend_program_key.py) covers what the binary's does: the repo's files,
the front end's sources, the interpreter and its site-packages, the binary's version. A
program whose key is unchanged is kept (as the binary would reuse it); files of the cache
no repo's key names are removed. When every program is kept, the front end (torch and
transformers, ~4 s) is not imported at all: the keys need only the files they cover.

A repo whose front end fails leaves no program and DIR/errors/ORG--NAME.txt with the
front end's error line; its test (tests/e2e/hf_export_by_name.sh) then misses the cache
and fails, printing it. The exit status is 0 unless the front end cannot be imported.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import frontend_program_key  # noqa: E402


def import_front_end(package_root: Path):
    """modelexport.frontend from package_root (not an installed copy), with every module of
    the package imported, so that no later import writes into the package directory (its
    entries are part of the key)."""
    sys.path.insert(0, str(package_root))
    import modelexport
    import modelexport.frontend as frontend

    if Path(modelexport.__file__).resolve().parent != (package_root / "modelexport").resolve():
        raise SystemExit(f"make_hf_programs: imported modelexport from {modelexport.__file__}, not {package_root}")
    frontend._import_libraries()
    for module in sorted((package_root / "modelexport").glob("*.py")):
        if module.stem != "__init__":
            __import__(f"modelexport.{module.stem}")
    return frontend


def all_up_to_date(requests: list[tuple[str, str | None, str | None]],
                   key_of: Callable[[str, str | None, str | None], str], programs: Path) -> bool:
    """Whether every request's program is in the cache under its key, and nothing else is
    (what the full pass below would keep and remove), with no error file left over."""
    try:
        wanted = {f"{key_of(*request)}.pt2" for request in requests}
    except OSError:  # a repo missing from the hub cache: the full pass reports it
        return False
    errors = programs.parent / "errors"
    return (wanted == {entry.name for entry in programs.iterdir()}
            and not any(errors.iterdir()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="the source tree (its python/ holds the front end)")
    parser.add_argument("--binary", required=True, help="the modelexport binary the tests run (for its version)")
    parser.add_argument("--python", required=True, help="MODELEXPORT_PYTHON exactly as the tests set it")
    parser.add_argument("--hub-cache", required=True, help="HF_HUB_CACHE exactly as the tests set it")
    parser.add_argument("--program-cache", required=True, type=Path, help="MODELEXPORT_CACHE of the tests")
    parser.add_argument("--with-inputs", nargs=3, action="append", default=[], metavar=("REPO", "TEXT", "SHAPE"),
                        help="also the program of `export REPO --input-text TEXT --input-shape SHAPE` (- for none)")
    parser.add_argument("repos", nargs="+")
    args = parser.parse_args(argv)

    os.environ["HF_HUB_CACHE"] = args.hub_cache
    os.environ["HF_HUB_OFFLINE"] = "1"
    package_root = os.path.join(args.source, "python")  # the binary's MODELEXPORT_SOURCE_PYTHON_DIR
    started = time.perf_counter()
    version = subprocess.run([args.binary, "--version"], check=True, capture_output=True, text=True).stdout.split()[-1]
    programs = args.program_cache / "programs"
    errors = args.program_cache / "errors"
    programs.mkdir(parents=True, exist_ok=True)
    errors.mkdir(parents=True, exist_ok=True)

    # (repo, --input-text or None, --input-shape or None): the options' order of the binary's argv.
    requests = [(repo, None, None) for repo in args.repos]
    requests += [(repo, None if text == "-" else text, None if shape == "-" else shape)
                 for repo, text, shape in args.with_inputs]

    def key_of(repo: str, text: str | None, shape: str | None) -> str:
        model_dir = frontend_program_key.snapshot_directory(args.hub_cache, repo)
        dims = [int(d) for d in shape.split(",")] if shape is not None else None
        return frontend_program_key.program_key(version, model_dir, args.python, package_root, text=text, shape=dims)

    if all_up_to_date(requests, key_of, programs):
        print(f"make_hf_programs: {len(requests)} up to date, front end not imported, in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        return 0
    # Importing may write the package's __pycache__ (part of every key): keys are taken again below.
    frontend = import_front_end(Path(package_root))
    print(f"make_hf_programs: front end imported in {time.perf_counter() - started:.1f} s", flush=True)

    kept: set[str] = set()
    made = failed = 0
    for n, (repo, text, shape) in enumerate(requests):
        options = (["--input-text", text] if text is not None else []) + (["--input-shape", shape] if shape else [])
        name = " ".join([repo, *options])
        # Errors of a bare export are named after the repo (hf_export_by_name.sh reads them).
        error_file = errors / (repo.replace("/", "--") + (f".{n}" if options else "") + ".txt")
        error_file.unlink(missing_ok=True)
        staged = programs / f".staged-{n}.pt2"
        t = time.perf_counter()
        try:
            key = key_of(repo, text, shape)
            if (programs / f"{key}.pt2").is_file():
                kept.add(f"{key}.pt2")
                print(f"  {name}: {key}.pt2 up to date", flush=True)
                continue
            frontend.run(frontend.parse_args(["--model", repo, "--output", str(staged), *options]))
        except Exception as error:  # FrontendError or a bug: the front end's own one line
            line = str(error) if isinstance(error, frontend.FrontendError) else f"{type(error).__name__}: {error}"
            if not isinstance(error, frontend.FrontendError):
                traceback.print_exc()
            line = line.strip().splitlines()[0] if line.strip() else type(error).__name__
            error_file.write_text(line + "\n")
            staged.unlink(missing_ok=True)
            failed += 1
            print(f"  {name}: FAILED: {line}", flush=True)
            continue
        key = key_of(repo, text, shape)  # as the binary does: the key after the front end ran
        os.replace(staged, programs / f"{key}.pt2")
        kept.add(f"{key}.pt2")
        made += 1
        print(f"  {name}: {key}.pt2 made in {time.perf_counter() - t:.1f} s", flush=True)
    for old in programs.iterdir():
        if old.name not in kept:
            old.unlink()
    print(f"make_hf_programs: {made} made, {len(kept) - made} up to date, {failed} failed in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # as the front end: no slow teardown of torch and transformers

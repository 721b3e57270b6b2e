#!/usr/bin/env python3
"""Exports every fixture the tests have made with one binary into one directory, keeping
each export's files, stdout, stderr and exit code, so that two binaries can be compared
byte for byte (a refactor that must not change what is written: issue 25).

Usage (the repository's .venv; the fixtures exist once the tests have run):
    .venv/bin/python tools/snapshot_exports.py --save-binary /tmp/bin-before
    .venv/bin/python tools/snapshot_exports.py /tmp/bin-before /tmp/snap-before
    ... change, build ...
    .venv/bin/python tools/snapshot_exports.py build /tmp/snap-after
    diff -r /tmp/snap-before /tmp/snap-after        # empty: nothing changed

Models: build/fixtures (its .pt files, the quantized and detection zoos), build/zoo-fast,
build/hf-models (.pt and .pt2), each with the inputs its maker recorded (the .pt2 files
record their own). Missing ones are skipped; OUT/models.txt lists those exported. Exports
run without -v (no timings), from inside their output directory; the build directory's
path is replaced by BUILD in messages, the time in LibTorch's warnings dropped.
"""

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))


def spec(inputs):
    return ",".join(f"{i['name']}:{i['dtype']}:{'x'.join(str(d) for d in i['shape'])}" for i in inputs)


def fixture_models(build):
    """(path, extra args) of each fixture, in a fixed order."""
    models = []
    fixtures = os.path.join(build, "fixtures")
    table = os.path.join(fixtures, "fixtures.json")
    if os.path.exists(table):
        for entry in json.load(open(table)).values():
            path = os.path.join(fixtures, entry["file"])
            if os.path.exists(path) and "inputs" in entry:
                models.append((path, ["--input-spec", spec(entry["inputs"])] + entry.get("cli_args", [])))
    for zoo in ("quantized", "detection_zoo"):
        table = os.path.join(fixtures, zoo, "models.json")
        if not os.path.exists(table):
            continue
        for name, entry in sorted(json.load(open(table)).items()):
            path = os.path.join(fixtures, zoo, name + ".pt")
            if not os.path.exists(path):
                continue
            args = ["--input-spec", entry["input_spec"]]
            if "opset" in entry:
                args += ["--opset-version", str(entry["opset"])]
            if "outputs" in entry:
                args += ["--output-names", ",".join(entry["outputs"])]
            models.append((path, args))
    metas = sorted(glob.glob(os.path.join(build, "zoo-fast", "*.pt.json")))
    if metas:
        import zoo  # the zoo's own table: input specs and opsets beside the recorded shapes

        zoo.torchvision_names = lambda out_dir: []  # those need only --input-shape
        specs = zoo.zoo_specs(os.path.join(build, "zoo-fast"))
    for meta in metas:
        entry = json.load(open(meta))
        path = meta[: -len(".json")]
        spec_entry = specs.get(os.path.basename(path)[: -len(".pt")], {})
        if not os.path.exists(path) or "input_shape" not in entry:
            continue
        args = ["--input-shape", ",".join(str(d) for d in entry["input_shape"])]
        if spec_entry.get("input_spec"):
            args = ["--input-spec", spec_entry["input_spec"]]
        if spec_entry.get("opset"):
            args += ["--opset-version", str(spec_entry["opset"])]
        models.append((path, args))
    hf = sorted(glob.glob(os.path.join(build, "hf-models", "*.pt")) + glob.glob(os.path.join(build, "hf-models", "*.pt2")))
    if hf:
        import hf_models  # the .pt files' --input-spec, from the inputs hf_models keeps

        for path in hf:
            name, key = os.path.basename(path).split(".")[:2]
            reference = hf_models.reference_path(os.path.dirname(path), name, key)
            if not os.path.exists(reference):
                continue  # a model of an earlier key, which hf_models no longer exports
            if path.endswith(".pt2"):
                models.append((path, []))
                continue
            feed, _ = hf_models.load_reference(reference)
            models.append((path, hf_models.spec_args(feed)))
    return models


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--save-binary", metavar="DIR", help="copy build's binary and engine to DIR, then stop")
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("bin_dir", nargs="?")
    parser.add_argument("out", nargs="?")
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    if args.save_binary:
        os.makedirs(args.save_binary, exist_ok=True)
        for f in ("modelexport", "libmodelexport_export.so"):
            shutil.copy2(os.path.join(build, f), args.save_binary)
        print(f"saved {args.save_binary}/modelexport")
        return 0
    if not args.bin_dir or not args.out:
        parser.error("BIN_DIR and OUT are needed")
    exe = os.path.abspath(os.path.join(args.bin_dir, "modelexport"))
    if os.path.exists(args.out):
        shutil.rmtree(args.out)
    os.makedirs(args.out)
    listed = []
    failed = 0
    for path, extra in fixture_models(build):
        rel = os.path.relpath(path, build)
        out_dir = os.path.join(args.out, rel.replace("/", "__"))
        os.makedirs(out_dir)
        run = subprocess.run([exe, "export", path, "model.onnx"] + extra, cwd=out_dir, capture_output=True, text=True)
        for stream, text in (("stdout", run.stdout), ("stderr", run.stderr)):
            with open(os.path.join(out_dir, stream + ".txt"), "w") as f:
                # LibTorch's warnings carry the time: [W1206 14:07:10.897272321 File.cpp:111]
                f.write(re.sub(r"^\[W\d{4} [0-9:.]+ ", "[W ", text.replace(build, "BUILD"), flags=re.M))
        with open(os.path.join(out_dir, "exit_code"), "w") as f:
            f.write(f"{run.returncode}\n")
        failed += run.returncode != 0
        listed.append(f"{rel} {' '.join(extra)}")
    with open(os.path.join(args.out, "models.txt"), "w") as f:
        f.write("\n".join(listed) + "\n")
    print(f"exported {len(listed)} models into {args.out} ({failed} refused)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

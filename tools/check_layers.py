#!/usr/bin/env python3
"""Checks the include graph against the layers of docs/ARCHITECTURE.md.

  check_layers.py [--libtorch-free FILE,FILE,...] [--objects DIR]

1. Every project header belongs to the layer of its source file (src/<layer>/<name>.cpp
   for include/modelexport/<name>.h); headers without one are listed in SHARED_HEADERS.
   A file may include headers of its own layer or of a lower one, never a higher one or
   another of the same rank: that keeps the directories free of cycles.
2. The files given with --libtorch-free (ctest passes the sources of modelexport_onnx and
   of the modelexport binary) reach no LibTorch header, directly or through our headers.
3. With --objects (ctest passes build/src/CMakeFiles), the same rule at link time: a
   symbol an object file of a layer uses (nm -u) that only objects of layers it may not
   include define (nm --defined-only) is a hidden dependency, whatever the includes say
   (a function declared in a low header but defined in a high layer's source). An object's
   layer is its source's directory (<target>.dir/<layer>/<name>.cpp.o).

Prints each violation as FILE: includes HEADER (why), or FILE: uses SYMBOL (why), and
exits 1 if there is any.
"""
import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INCLUDE_DIR = os.path.join(ROOT, "include", "modelexport")
SRC_DIR = os.path.join(ROOT, "src")

# Lower ranks are used by higher ones. Directories of the same rank are independent.
RANKS = {
    "common": 0,        # errors, output paths, files written through temporaries
    "shared": 1,        # plain data every stage reads: node tags
    "op_table": 1,      # the op table's facts (plain data) and a TorchScript node's entry in it
    "hierarchy": 2,     # the module tree and how TorchScript nodes get their module
    "torchscript": 2,   # loading, preparing and running TorchScript
    "onnx": 3,          # ONNX graph building, tensors, stamps, sidecar, writer
    "analysis": 4,      # reading and checking ONNX files: analyze, validate, compare
    "graphml": 4,       # GraphML export and import
    "inputs": 4,        # model directories, tokenizers, input specs
    "torch_export": 5,  # the .pt2 loader
    "convert": 5,       # op converters
    "pipeline": 6,      # the export stages in order
    "cli": 7,           # commands: options in, text out
}

# Headers with no source file of their own name, and the layer they belong to.
SHARED_HEADERS = {
    "node_tag": "shared",
    "op_facts": "op_table",  # plain data, header only; filled by the converters' registrations
    "converter_helpers": "convert",
    "graphml_format": "graphml",
    "cli_commands": "cli",
}

PROJECT_INCLUDE = re.compile(r'^\s*#\s*include\s+"modelexport/([A-Za-z0-9_]+)\.h"', re.M)
SYSTEM_INCLUDE = re.compile(r'^\s*#\s*include\s+<([^>]+)>', re.M)
LIBTORCH_PREFIXES = ("torch/", "ATen/", "c10/", "caffe2/")


def header_layers():
    layers = {}
    for layer in os.listdir(SRC_DIR):
        folder = os.path.join(SRC_DIR, layer)
        if not os.path.isdir(folder):
            continue
        for name in os.listdir(folder):
            stem, ext = os.path.splitext(name)
            if ext == ".cpp" and os.path.exists(os.path.join(INCLUDE_DIR, stem + ".h")):
                layers[stem] = layer
    layers.update(SHARED_HEADERS)
    return layers


def includes_of(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return PROJECT_INCLUDE.findall(text), SYSTEM_INCLUDE.findall(text)


def layer_problems(layers):
    problems = []
    files = [os.path.join(INCLUDE_DIR, n) for n in sorted(os.listdir(INCLUDE_DIR)) if n.endswith(".h")]
    for layer in sorted(os.listdir(SRC_DIR)):
        folder = os.path.join(SRC_DIR, layer)
        if os.path.isdir(folder):
            files += [os.path.join(folder, n) for n in sorted(os.listdir(folder)) if n.endswith(".cpp")]
    for path in files:
        stem = os.path.splitext(os.path.basename(path))[0]
        own = layers.get(stem) if path.startswith(INCLUDE_DIR) else os.path.basename(os.path.dirname(path))
        if own is None:
            problems.append(f"{os.path.relpath(path, ROOT)}: a header with no layer (add its source or list it in SHARED_HEADERS)")
            continue
        if own not in RANKS:
            problems.append(f"{os.path.relpath(path, ROOT)}: directory '{own}' has no rank in tools/check_layers.py")
            continue
        for header in includes_of(path)[0]:
            other = layers.get(header)
            if other is None or other == own or other not in RANKS:
                continue
            if RANKS[other] >= RANKS[own]:
                problems.append(f"{os.path.relpath(path, ROOT)}: includes modelexport/{header}.h "
                                f"({own}, rank {RANKS[own]}, may not use {other}, rank {RANKS[other]})")
    return problems


def libtorch_problems(sources):
    problems = []
    for source in sources:
        # Walk our headers from the source; report the chain that reaches LibTorch.
        seen = set()
        stack = [(source, [os.path.relpath(source, ROOT)])]
        while stack:
            path, chain = stack.pop()
            ours, system = includes_of(path)
            for header in system:
                if header.startswith(LIBTORCH_PREFIXES):
                    problems.append(" -> ".join(chain) + f": includes <{header}> (this target must not need LibTorch)")
            for header in ours:
                if header not in seen:
                    seen.add(header)
                    stack.append((os.path.join(INCLUDE_DIR, header + ".h"), chain + [f"modelexport/{header}.h"]))
    return problems


def object_layers(objects_dir):
    """Each object file under objects_dir (CMake's <target>.dir/<layer>/X.cpp.o) and its layer."""
    layers = {}
    for target in sorted(os.listdir(objects_dir)):
        target_dir = os.path.join(objects_dir, target)
        if not (target.endswith(".dir") and os.path.isdir(target_dir)):
            continue
        for folder, _, names in os.walk(target_dir):
            layer = os.path.relpath(folder, target_dir).split(os.sep)[0]
            for name in sorted(names):
                if name.endswith(".o") and layer != ".":
                    layers[os.path.join(folder, name)] = layer
    return layers


def symbols_by_object(objects, undefined):
    """{object: set of demangled symbols} it defines, or (undefined=True) it uses from elsewhere."""
    result = {o: set() for o in objects}
    flag = "-u" if undefined else "--defined-only"
    # One nm over all files; -A puts "FILE:" before each line (names hold spaces and colons).
    out = subprocess.run(["nm", "-C", "-A", flag] + objects, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        path, sep, rest = line.partition(".o:")
        if not sep:
            continue
        fields = rest.split(None, 2) if not undefined else rest.split(None, 1)
        if len(fields) < (3 if not undefined else 2):
            continue
        result.setdefault(path + ".o", set()).add(fields[-1])
    return result


def link_problems(objects_dir):
    layers = object_layers(objects_dir)
    objects = sorted(layers)
    if not objects:
        return [f"{objects_dir}: no object files (build first)"]
    defined = symbols_by_object(objects, undefined=False)
    used = symbols_by_object(objects, undefined=True)
    definers = {}
    for obj, symbols in defined.items():
        for s in symbols:
            definers.setdefault(s, set()).add(layers[obj])
    problems = []
    for obj in objects:
        own = layers[obj]
        if own not in RANKS:
            problems.append(f"{os.path.relpath(obj, objects_dir)}: directory '{own}' has no rank in tools/check_layers.py")
            continue
        for s in sorted(used[obj]):
            where = definers.get(s)
            # Not ours (LibTorch, the C++ library), its own, or one a lower layer defines
            # too (an inline function's weak copies).
            if not where or own in where or any(RANKS.get(o, len(RANKS)) < RANKS[own] for o in where):
                continue
            others = ", ".join(f"{o}, rank {RANKS.get(o, '?')}" for o in sorted(where))
            problems.append(f"{os.path.relpath(obj, objects_dir)}: uses {s} ({own}, rank {RANKS[own]}, "
                            f"may not use {others})")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--libtorch-free", default="", help="comma-separated source files that must not reach LibTorch")
    parser.add_argument("--objects", help="CMake's object directory (build/src/CMakeFiles): check the symbols each layer uses")
    args = parser.parse_args()
    layers = header_layers()
    problems = layer_problems(layers)
    sources = [s for s in args.libtorch_free.split(",") if s.endswith(".cpp")]
    problems += libtorch_problems(sources)
    if args.objects:
        problems += link_problems(args.objects)
    for p in problems:
        print(p)
    objects = f", objects of {args.objects}" if args.objects else ""
    print(f"check_layers: {len(layers)} headers, {len(sources)} LibTorch-free sources{objects}, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

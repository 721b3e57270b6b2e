#!/usr/bin/python3
"""Measure how well modelexport's hierarchy tags agree with PyTorch's exporter.

Usage:
    /usr/bin/python3 tools/hierarchy_agreement.py OURS.onnx OURS_hierarchy.json THEIRS.onnx
        [--min 0.95] [--top 15] [--json REPORT.json] [--skip-ops Cast,Shape]
        [--theirs-format auto|names|dynamo]
    /usr/bin/python3 tools/hierarchy_agreement.py --self-test THEIRS.onnx

OURS.onnx / OURS_hierarchy.json: an export by modelexport and its sidecar, which has
    {"modules": [{"path": "encoder.layer.0.attention.self.query", "class": "Linear",
                  "tag": "/BertModel/BertEncoder/BertLayer.0/BertAttention/BertSelfAttention/Linear.query"}, ...],
     "nodes": [{"name": ..., "op_type": ..., "hierarchy_path": TAG, ...}, ...]}
    (the root module has path ""; "nodes" may also be an object name -> stamps).
THEIRS.onnx: the same model exported by torch.onnx.export, in one of two forms
    (--theirs-format, default auto: dynamo when any node has name_scopes metadata):
    names   torch 1.13's TorchScript exporter (tools/torch_onnx_reference.py), whose node
            names carry module scopes: /encoder/layer.0/attention/self/query/MatMul;
    dynamo  torch >= 2.5's torch.onnx.export(..., dynamo=True): each node's metadata_props
            pkg.torch.onnx.name_scopes is a Python-repr list of module attribute paths
            from the root '' down (['', 'encoder', 'encoder.layer.0', ..., 'linear_2']),
            ending with the FX node's own name (class_hierarchy beside it ends with the
            ATen op); the entry before that is THEIRS' module, looked up in OURS' module
            tree (modules[].path -> tag). A node without the metadata belongs to the root
            (reported). tools/dynamo_agreement.py --hf drives this for tools/hf_models.py.
    With the dynamo form the paths are exact already, so the scope resolution below is
    not used.

THEIRS nodes that are a Constant or an Identity in all but name are left out too:
computations whose inputs are all constants (torch.onnx leaves e.g. Pow(Constant,
Constant) and ConstantOfShape(Constant) unfolded; modelexport folds them into
initializers) and Casts to the dtype the tensor already has. The report counts them;
--raw keeps them in.

For every other node of THEIRS, the scope is its name without
the last segment (the op name); a name with no scope belongs to the root. The scope
is turned into an attribute path (torch 1.13 writes each module as its unqualified
name: "layer.0" for encoder.layer.0, and "/layer1/layer1.0/" for resnet's Sequential
element layer1.0), checked against OURS' module tree, and mapped to OURS' tag.

    one-to-one  a THEIRS node counts as matched when an OURS node of the same op_type
                has exactly that tag as hierarchy_path, each OURS node matching at most
                one THEIRS node (multiset intersection per (tag, op_type)): the figure
                checked against --min.
    exists      looser: some OURS node has that (tag, op_type).

The two exporters decompose some ops differently (LayerNorm below opset 17, GELU,
BatchNorm folded into Conv by torch's constant folding, ...), so 100% is not expected;
the report lists the (tag, op_type) pairs that THEIRS has more of than OURS, and the
other way round, to tell a decomposition difference from a tagging error.

Exit status: 0 when the one-to-one share is at least --min (a fraction; 95 means 95%),
1 below it, 2 on bad input. --self-test builds a fake OURS (the THEIRS graph plus a
sidecar whose tags follow THEIRS' scopes), checks that it agrees 100%, then moves 10%
of the nodes to their parent module and checks that the share drops accordingly and
the exit status becomes 1.
"""

import argparse
import ast
import collections
import json
import os
import re
import shutil
import sys
import tempfile

import onnx

SKIP_OPS = ("Constant", "Identity")


# ---------------------------------------------------------------------------
# THEIRS: scopes from torch.onnx node names


def scope_segments(node_name):
    """Module scope segments of a torch.onnx node name ([] for the root)."""
    if not node_name.startswith("/"):
        return []
    parts = node_name.split("/")[1:]  # drop the empty string before the first '/'
    return [p for p in parts[:-1] if p]


def _atoms(path):
    return path.split(".") if path else []


def _syntactic_child(current, segment):
    """Attribute path of the module named by `segment` under module path `current`.

    torch 1.13 names a module by its last non-numeric attribute atom followed by the
    numeric atoms after it ("layer.0", "conv.0.0"). When the current module's path
    already ends with the leading part of the segment (a Sequential and its element:
    "layer1" then "layer1.0"), only the rest is appended.
    """
    cur = _atoms(current)
    seg = _atoms(segment)
    if all(a.isdigit() for a in seg):
        # No non-numeric atom at all: torch keeps the full path (children of a root
        # nn.Sequential: "0", "0.1").
        return segment
    # Longest proper prefix of seg (at least its non-numeric head) that cur ends with.
    for j in range(len(seg) - 1, 0, -1):
        if len(cur) >= j and cur[len(cur) - j:] == seg[:j]:
            return ".".join(cur + seg[j:])
    return ".".join(cur + seg)


def _tree_child(current, segment, module_paths):
    """Shallowest module below `current` whose path ends with the atoms of `segment`."""
    cur = _atoms(current)
    seg = _atoms(segment)
    best = None
    for p in module_paths:
        a = _atoms(p)
        if len(a) <= len(cur) or a[:len(cur)] != cur:
            continue
        if len(a) - len(cur) < 1 or a[len(a) - len(seg):] != seg:
            continue
        if best is None or len(a) < len(_atoms(best)):
            best = p
    return best


def scope_to_path(segments, module_paths=None):
    """Attribute path for a list of scope segments; (path, resolved_in_tree)."""
    path = ""
    ok = True
    for seg in segments:
        cand = _syntactic_child(path, seg)
        if module_paths is not None and cand not in module_paths:
            alt = _tree_child(path, seg, module_paths)
            if alt is None:
                # torch.onnx gives the 2nd, 3rd... call of the same module instance in
                # one forward a scope with a suffix: resnet's BasicBlock calls
                # self.relu twice, the second is "/layer1/layer1.0/relu_1/Relu".
                m = re.match(r"^(.*[^_])_(\d+)$", seg)
                if m:
                    base = _syntactic_child(path, m.group(1))
                    alt = base if base in module_paths else \
                        _tree_child(path, m.group(1), module_paths)
            if alt is not None:
                cand = alt
            else:
                ok = False
        path = cand
    return path, ok


def iter_nodes(graph):
    """All nodes of a graph, including those of subgraphs (If/Loop bodies)."""
    for n in graph.node:
        yield n
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                yield from iter_nodes(a.g)
            elif a.type == onnx.AttributeProto.GRAPHS:
                for g in a.graphs:
                    yield from iter_nodes(g)


# ---------------------------------------------------------------------------
# THEIRS: module paths from the dynamo exporter's node metadata

NAME_SCOPES = "pkg.torch.onnx.name_scopes"
CLASS_HIERARCHY = "pkg.torch.onnx.class_hierarchy"


def detect_format(model):
    """"dynamo" when some node carries pkg.torch.onnx.name_scopes, else "names"."""
    for n in iter_nodes(model.graph):
        if any(p.key == NAME_SCOPES for p in getattr(n, "metadata_props", ())):
            return "dynamo"
    return "names"


def _literal_list(text):
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else None


def dynamo_module_path(node, module_paths):
    """Module attribute path of a dynamo-exported node: (path, in_tree, had_scopes).

    name_scopes lists the attribute paths of the modules whose forward the node's FX
    node ran in, from the root '' down, followed by the FX node's own name ('linear_2');
    class_hierarchy runs beside it and ends with the ATen op ('aten.linear.default').
    So the module is the entry before the last. A path torch.export recorded for a
    second call of a module may carry an '@N' suffix, which is dropped. A node without
    the metadata (made by the ONNX optimizer from nothing) belongs to the root.
    """
    md = {p.key: p.value for p in getattr(node, "metadata_props", ())}
    scopes = _literal_list(md.get(NAME_SCOPES, ""))
    if scopes is None:
        return "", "" in module_paths, False
    classes = _literal_list(md.get(CLASS_HIERARCHY, "")) or []
    if len(classes) == len(scopes) and scopes:
        modules = scopes[:-1]  # the last entry is the FX node, not a module
    else:
        modules = [s for s in scopes if s == "" or s in module_paths] or [""]
    path = re.sub(r"@\d+$", "", modules[-1]) if modules else ""
    return path, path in module_paths, True


# ---------------------------------------------------------------------------
# OURS: sidecar


def load_sidecar(path):
    with open(path) as f:
        data = json.load(f)
    modules = data.get("modules")
    nodes = data.get("nodes")
    if not isinstance(modules, list) or nodes is None:
        raise ValueError("%s: expected keys 'modules' (list) and 'nodes'" % path)
    if isinstance(nodes, dict):
        nodes = [dict(v, name=k) for k, v in nodes.items()]
    return modules, nodes


RANDOM_OPS = ("RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial")


def folded_in_effect(model):
    """Names of THEIRS nodes that are a Constant or an Identity in all but name.

    torch.onnx leaves some computations on constants unfolded (Pow of two Constants,
    ConstantOfShape of a Constant shape, ...) and keeps Casts to the dtype a tensor already
    has. They compute nothing from the inputs: our exporter folds the first into initializers
    and drops the second, just as both tools drop Constant and Identity nodes, which the
    measure leaves out. Returns (constant-only node names, same-type Cast node names).
    """
    graph = model.graph
    constant_values = {i.name for i in graph.initializer}
    constant_only = set()
    for n in graph.node:
        if n.op_type == "Constant":
            constant_values.update(n.output)
            continue
        if n.op_type in RANDOM_OPS or n.op_type in ("If", "Loop", "Scan"):
            continue
        real_inputs = [i for i in n.input if i]
        if all(i in constant_values for i in real_inputs):
            constant_only.add(n.name)
            constant_values.update(n.output)
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # without types no Cast can be shown to be a no-op
        return constant_only, set()
    elem_type = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        if vi.type.HasField("tensor_type"):
            elem_type[vi.name] = vi.type.tensor_type.elem_type
    for i in graph.initializer:
        elem_type[i.name] = i.data_type
    same_type_casts = set()
    for n in graph.node:
        if n.op_type != "Cast" or n.name in constant_only:
            continue
        to = next((a.i for a in n.attribute if a.name == "to"), None)
        if to is not None and elem_type.get(n.input[0]) == to:
            same_type_casts.add(n.name)
    return constant_only, same_type_casts


def compare(ours_onnx, sidecar, theirs_onnx, top=15, out=sys.stdout, skip_ops=SKIP_OPS,
            raw=False, theirs_format="auto"):
    """Compute the agreement; returns a dict of results (and prints the report)."""
    skip_ops = tuple(skip_ops)
    modules, side_nodes = load_sidecar(sidecar)
    path_to_tag = {}
    for m in modules:
        p = m.get("path", "")
        if m.get("tag"):
            path_to_tag[p] = m["tag"]
    if "" not in path_to_tag:
        raise ValueError("%s: no root module (path \"\") with a tag" % sidecar)
    module_paths = set(path_to_tag)

    ours_model = onnx.load(ours_onnx, load_external_data=False)
    ours_graph_nodes = {n.name: n for n in iter_nodes(ours_model.graph)}
    warnings = []
    not_in_graph = [n.get("name") for n in side_nodes if n.get("name") not in ours_graph_nodes]
    if not_in_graph:
        warnings.append("%d sidecar nodes are not in %s (e.g. %r)"
                        % (len(not_in_graph), os.path.basename(ours_onnx), not_in_graph[0]))
    side_names = {n.get("name") for n in side_nodes}
    missing_side = [k for k in ours_graph_nodes if k not in side_names]
    if missing_side:
        warnings.append("%d nodes of %s are not in the sidecar (e.g. %r)"
                        % (len(missing_side), os.path.basename(ours_onnx), missing_side[0]))

    ours = collections.Counter()
    for n in side_nodes:
        g = ours_graph_nodes.get(n.get("name"))
        op = g.op_type if g is not None else n.get("op_type")
        if op in skip_ops:
            continue
        ours[(n.get("hierarchy_path"), op)] += 1

    theirs_model = onnx.load(theirs_onnx, load_external_data=False)
    constant_only, same_type_casts = (set(), set()) if raw else folded_in_effect(theirs_model)
    if theirs_format == "auto":
        theirs_format = detect_format(theirs_model)
    theirs = collections.Counter()
    unresolved = collections.Counter()
    no_scope = collections.Counter()
    total_nodes = 0
    for n in iter_nodes(theirs_model.graph):
        total_nodes += 1
        if n.op_type in skip_ops or n.name in constant_only or n.name in same_type_casts:
            continue
        if theirs_format == "dynamo":
            path, ok, scoped = dynamo_module_path(n, module_paths)
            if not scoped:
                no_scope[n.op_type] += 1
        else:
            path, ok = scope_to_path(scope_segments(n.name), module_paths)
        if ok:
            tag = path_to_tag[path]
        else:
            unresolved[path] += 1
            tag = "<no module %r in OURS>" % path
        theirs[(tag, n.op_type)] += 1

    considered = sum(theirs.values())
    matched = sum(min(c, ours.get(k, 0)) for k, c in theirs.items())
    exists = sum(c for k, c in theirs.items() if ours.get(k, 0) > 0)
    unmatched = collections.Counter(
        {k: c - ours.get(k, 0) for k, c in theirs.items() if c > ours.get(k, 0)})
    surplus = collections.Counter(
        {k: c - theirs.get(k, 0) for k, c in ours.items() if c > theirs.get(k, 0)})

    def pct(a, b):
        return 100.0 * a / b if b else 100.0

    p = out.write
    p("hierarchy_agreement: OURS %s (%d nodes in sidecar), THEIRS %s (%d nodes, %s)\n"
      % (ours_onnx, len(side_nodes), theirs_onnx, total_nodes,
         "dynamo name_scopes" if theirs_format == "dynamo" else "scoped node names"))
    if no_scope:
        p("  THEIRS nodes without pkg.torch.onnx.name_scopes (counted in the root): %d (%s)\n"
          % (sum(no_scope.values()), ", ".join("%s %d" % kv for kv in no_scope.most_common(8))))
    for w in warnings:
        p("  warning: %s\n" % w)
    p("  considered (THEIRS nodes other than %s): %d\n" % ("/".join(skip_ops), considered))
    if not raw:
        p("  also left out as Constant/Identity in effect: %d computations on constants only, "
          "%d Casts to the dtype the tensor already has (--raw keeps them)\n"
          % (len(constant_only), len(same_type_casts)))
    p("  one-to-one matched: %d / %d = %.2f%%\n" % (matched, considered, pct(matched, considered)))
    p("  exists (OURS has a node with that tag and op_type): %d / %d = %.2f%%\n"
      % (exists, considered, pct(exists, considered)))
    if unresolved:
        p("  THEIRS scopes with no module in OURS' module tree: %d nodes\n"
          % sum(unresolved.values()))
        for path, c in unresolved.most_common(top):
            p("    %5d  %s\n" % (c, path or "<root>"))
    if unmatched:
        p("  top unmatched (tag, op_type): missing/THEIRS/OURS\n")
        for (tag, op), c in unmatched.most_common(top):
            p("    %5d/%d/%d  %s  %s\n" % (c, theirs[(tag, op)], ours.get((tag, op), 0), tag, op))
    if surplus:
        p("  top OURS surplus (tag, op_type): extra/OURS/THEIRS\n")
        for (tag, op), c in surplus.most_common(top):
            p("    %5d/%d/%d  %s  %s\n" % (c, ours[(tag, op)], theirs.get((tag, op), 0), tag, op))
    return {
        "ours": ours_onnx, "theirs": theirs_onnx, "theirs_format": theirs_format,
        "no_scope": dict(no_scope),
        "considered": considered, "matched": matched, "exists": exists,
        "constant_only_left_out": len(constant_only), "same_type_casts_left_out": len(same_type_casts),
        "one_to_one": matched / considered if considered else 1.0,
        "exists_share": exists / considered if considered else 1.0,
        "unresolved_scopes": dict(unresolved),
        "unmatched": [{"tag": t, "op_type": o, "missing": c} for (t, o), c in unmatched.most_common()],
        "surplus": [{"tag": t, "op_type": o, "extra": c} for (t, o), c in surplus.most_common()],
        "warnings": warnings,
    }


def threshold(value):
    return value / 100.0 if value > 1.0 else value


def verdict(result, minimum, out=sys.stdout):
    ok = result["one_to_one"] + 1e-12 >= minimum
    out.write("hierarchy_agreement: %s one-to-one %.2f%% (min %.2f%%), exists %.2f%%\n"
              % ("PASS" if ok else "FAIL", 100 * result["one_to_one"], 100 * minimum,
                 100 * result["exists_share"]))
    return 0 if ok else 1


# ---------------------------------------------------------------------------
# Self-test


def fake_sidecar(theirs_onnx, move_share=0.0):
    """A sidecar for THEIRS itself: module tree and tags from THEIRS' scopes.

    With move_share > 0, every k-th considered node (k = 1/move_share) that is not
    in the root gets its parent module's tag instead."""
    model = onnx.load(theirs_onnx, load_external_data=False)
    paths = {""}
    node_paths = []
    for n in iter_nodes(model.graph):
        path, _ = scope_to_path(scope_segments(n.name))
        a = _atoms(path)
        for i in range(len(a) + 1):
            paths.add(".".join(a[:i]))
        node_paths.append((n, path))

    def tag(p):
        return "/Model" + "".join("/M.%s" % x for x in _atoms(p))

    modules = [{"path": p, "class": "M", "tag": tag(p)} for p in sorted(paths)]
    nodes = []
    step = int(round(1.0 / move_share)) if move_share else 0
    k = 0
    moved = 0
    for n, path in node_paths:
        t = tag(path)
        if step and n.op_type not in SKIP_OPS and path:
            k += 1
            if k % step == 0:
                parent = next(p for p in sorted(paths, key=len, reverse=True)
                              if path.startswith(p + ".") or (p == "" and path))
                t = tag(parent)
                moved += 1
        nodes.append({"name": n.name, "op_type": n.op_type, "hierarchy_path": t,
                      "hierarchy_tags": [t], "hierarchy_count": 1,
                      "hierarchy_method": "trace", "hierarchy_module": path})
    return {"modules": modules, "nodes": nodes}, moved


def self_test(theirs_onnx):
    tmp = tempfile.mkdtemp(prefix="hierarchy_agreement_")
    try:
        ours = os.path.join(tmp, "ours.onnx")
        shutil.copyfile(theirs_onnx, ours)
        side = os.path.join(tmp, "ours_hierarchy.json")
        failures = []

        data, _ = fake_sidecar(theirs_onnx)
        with open(side, "w") as f:
            json.dump(data, f)
        r = compare(ours, side, theirs_onnx, top=5)
        if r["one_to_one"] != 1.0 or r["exists_share"] != 1.0 or r["unresolved_scopes"]:
            failures.append("identical tags did not agree 100%")
        if verdict(r, 0.95) != 0:
            failures.append("identical tags did not PASS")

        data, moved = fake_sidecar(theirs_onnx, move_share=0.10)
        with open(side, "w") as f:
            json.dump(data, f)
        r = compare(ours, side, theirs_onnx, top=5)
        # A moved node can fill the slot of its parent's node of the same op_type
        # when that one was moved too, so the drop is between moved/2 and moved.
        if moved == 0 or not (r["considered"] - moved <= r["matched"]
                              <= r["considered"] - (moved + 1) // 2):
            failures.append("moving %d nodes to their parent left %d of %d matched"
                            % (moved, r["matched"], r["considered"]))
        if verdict(r, 0.95) != 1:
            failures.append("10%% moved nodes still PASSed --min 0.95")

        # Resolution of torch 1.13's unqualified scope names.
        cases = [
            (["encoder", "layer.0", "attention", "self", "query"], "encoder.layer.0.attention.self.query"),
            (["layer1", "layer1.0", "conv1"], "layer1.0.conv1"),
            (["features", "features.1", "conv", "conv.0", "conv.0.0"], "features.1.conv.0.0"),
            (["h.0", "attn", "c_attn"], "h.0.attn.c_attn"),
            (["x", "x", "x.0"], "x.x.0"),
            (["0", "0.1"], "0.1"),
            ([], ""),
        ]
        for segs, want in cases:
            got, _ = scope_to_path(segs)
            if got != want:
                failures.append("scope %s -> %r, expected %r" % (segs, got, want))
        if scope_segments("/encoder/layer.0/attention/self/query/MatMul") != \
                ["encoder", "layer.0", "attention", "self", "query"] or \
                scope_segments("Identity_0") != [] or scope_segments("/Cast") != []:
            failures.append("scope_segments")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for f in failures:
        print("self-test: FAIL %s" % f)
    print("self-test: %s" % ("OK" if not failures else "FAILED"))
    return 0 if not failures else 1


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", metavar="FILE",
                    help="OURS.onnx OURS_hierarchy.json THEIRS.onnx")
    ap.add_argument("--min", type=float, default=0.95,
                    help="minimum one-to-one share (fraction, or percent if > 1)")
    ap.add_argument("--top", type=int, default=15, help="how many pairs to list")
    ap.add_argument("--json", help="also write the results as JSON to this file")
    ap.add_argument("--raw", action="store_true",
                    help="count THEIRS' unfolded constant computations and same-type Casts too")
    ap.add_argument("--skip-ops", default="",
                    help="more op types to leave out on both sides, comma-separated "
                         "(Constant and Identity always are), e.g. Cast,Shape")
    ap.add_argument("--theirs-format", choices=("auto", "names", "dynamo"), default="auto",
                    help="how THEIRS records modules: scoped node names (torch.onnx's TorchScript "
                         "exporter) or pkg.torch.onnx.name_scopes metadata (dynamo=True); "
                         "auto: dynamo when any node has that metadata")
    ap.add_argument("--self-test", metavar="THEIRS.onnx",
                    help="check this script against a fake sidecar built from THEIRS")
    args = ap.parse_args(argv)

    if args.self_test:
        return self_test(args.self_test)
    if len(args.files) != 3:
        ap.error("give OURS.onnx OURS_hierarchy.json THEIRS.onnx (or --self-test THEIRS.onnx)")
    try:
        extra = [o.strip() for o in args.skip_ops.split(",") if o.strip()]
        result = compare(*args.files, top=args.top, skip_ops=SKIP_OPS + tuple(extra), raw=args.raw,
                         theirs_format=args.theirs_format)
    except (OSError, ValueError, KeyError, onnx.onnx_cpp2py_export.checker.ValidationError) as e:
        print("hierarchy_agreement: error: %s" % e, file=sys.stderr)
        return 2
    except Exception as e:  # protobuf DecodeError and the like: unreadable ONNX
        print("hierarchy_agreement: error: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 2
    minimum = threshold(args.min)
    result["min"] = minimum
    code = verdict(result, minimum)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return code


if __name__ == "__main__":
    sys.exit(main())

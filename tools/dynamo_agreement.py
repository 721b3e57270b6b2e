#!/usr/bin/env python3
"""Agreement of modelexport's module placement with torch.onnx's dynamo exporter.

Usage (with the repository's .venv: torch 2.13, transformers, onnx, onnxscript):
    .venv/bin/python tools/dynamo_agreement.py --hf --out build/dynamo-agreement
        [--binary build/modelexport] [--only bert,gpt2] [--formats pt,pt2]
        [--configs 14:default,17:18] [--json OUT.json] [--markdown OUT.md] [--min 0.95]

For each model of tools/hf_models.py (the same build() and example(): seeded random
weights from a small config, nothing from a hub):
  1. the .pt / .pt2 file hf_models.py makes (same cache name in OUT, made by its
     --generate child when missing);
  2. OURS: `modelexport export FILE OUT/NAME_FMT_opN/NAME.onnx --opset-version N`
     (+ hf_models' --input-spec for .pt), which also writes NAME_hierarchy.json;
  3. THEIRS: torch.onnx.export(model, (), kwargs=example, dynamo=True[, opset_version=M])
     of the eager model, with the same mask builder hf_models.py uses for its files
     (sdpa_mask_older_torch) and return_dict=False, written to OUT/NAME_dynamo_opM.onnx;
  4. tools/hierarchy_agreement.compare(OURS, sidecar, THEIRS) in its dynamo mode: THEIRS'
     module of a node is the module entry of its pkg.torch.onnx.name_scopes, turned into
     OURS' tag through the sidecar's module tree; a THEIRS node counts as placed alike when
     OURS has a node of the same op_type with that tag (one-to-one, per (tag, op_type)).
--configs lists OURS_OPSET:THEIRS_OPSET pairs ("default" = the exporter's own default).

The unmatched THEIRS nodes are split by cause (see causes()): tagging (THEIRS' module
is missing from OURS' tree, or OURS has the node in an ancestor or descendant module),
no scope (THEIRS' optimizer made the node without name_scopes) and decomposition (the
rest: the exporters lower or fold that computation to different ops). The table also
gives the share among the nodes left when decomposition and no-scope ones are taken out.
Prints a markdown table; exit status 0 when every comparison reaches --min.
"""

import argparse
import collections
import hashlib
import io
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import hf_models  # noqa: E402  (build, example, spec_args, TupleOutputs, MODELS)
import hierarchy_agreement  # noqa: E402


def model_file(out, name, fmt):
    """The file hf_models.py makes for NAME/FMT in OUT (same cache key), made if missing."""
    import torch
    import transformers

    with open(hf_models.__file__, "rb") as f:
        key = hashlib.sha256(f.read() + torch.__version__.encode()
                             + transformers.__version__.encode()).hexdigest()[:16]
    path = os.path.join(out, "%s.%s.%s" % (name, key, fmt))
    if not os.path.exists(path):
        subprocess.run([sys.executable, hf_models.__file__, "--out", out, "--binary", "unused",
                        "--generate", name, fmt, path + ".tmp"], check=True)
        os.replace(path + ".tmp", path)
    return path


def ours_export(binary, out, name, fmt, opset):
    path = model_file(out, name, fmt)
    d = os.path.join(out, "%s_%s_op%d" % (name, fmt, opset))
    os.makedirs(d, exist_ok=True)
    onnx_path = os.path.join(d, name + ".onnx")
    cmd = [binary, "export", path, onnx_path, "--opset-version", str(opset)]
    if fmt == "pt":
        _, input_names = hf_models.build(name)
        cmd += hf_models.spec_args(name, input_names)
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError("modelexport failed on %s: %s" % (path, run.stderr.strip()[-400:]))
    return onnx_path, os.path.join(d, name + "_hierarchy.json")


def dynamo_export(out, name, opset):
    """THEIRS: the eager model through torch.onnx.export(dynamo=True); cached per opset."""
    import torch
    import transformers.masking_utils as masking

    onnx_path = os.path.join(out, "%s_dynamo_op%s.onnx" % (name, opset))
    if os.path.exists(onnx_path):
        return onnx_path
    model, input_names = hf_models.build(name)
    kwargs = hf_models.example(name, input_names, 0)
    masking.ALL_MASK_ATTENTION_FUNCTIONS._global_mapping["sdpa"] = masking.sdpa_mask_older_torch
    extra = {} if opset == "default" else {"opset_version": int(opset)}
    with torch.no_grad(), hf_models.TupleOutputs(model):
        program = torch.onnx.export(model, (), kwargs=kwargs, dynamo=True, verbose=False, **extra)
    program.save(onnx_path + ".tmp")
    os.replace(onnx_path + ".tmp", onnx_path)
    return onnx_path


def _related(a, b):
    """Tag b is tag a's ancestor or descendant (a node moved up or down the tree)."""
    return a.startswith(b + "/") or b.startswith(a + "/")


def causes(result, root_tag):
    """Split the unmatched THEIRS nodes by cause; returns (counts, pairs).

    no_scope       THEIRS node without name_scopes (made by its ONNX optimizer), put in
                   the root: not a statement about the module at all;
    tagging        THEIRS' module is not in OURS' tree, or OURS has a spare node of that
                   op_type in an ancestor or descendant module (pairs listed);
    decomposition  the rest: OURS has no spare node of that op_type in a related module,
                   the two exporters lower (or fold) that computation differently.
    """
    surplus = collections.defaultdict(list)  # op -> [[tag, extra], ...]
    for s in result["surplus"]:
        surplus[s["op_type"]].append([s["tag"], s["extra"]])
    no_scope_left = dict(result.get("no_scope", {}))
    counts = {"no_scope": 0, "tagging": 0, "decomposition": collections.Counter()}
    pairs = []
    for u in result["unmatched"]:
        left, op, tag = u["missing"], u["op_type"], u["tag"]
        if tag == root_tag and no_scope_left.get(op):
            take = min(left, no_scope_left[op])
            no_scope_left[op] -= take
            counts["no_scope"] += take
            left -= take
        if left and tag.startswith("<no module"):
            pairs.append((op, tag, "-", left))
            counts["tagging"] += left
            left = 0
        for slot in surplus.get(op, []):
            if not left:
                break
            take = min(left, slot[1])
            if take and _related(tag, slot[0]):
                pairs.append((op, tag, slot[0], take))
                slot[1] -= take
                left -= take
                counts["tagging"] += take
        if left:
            counts["decomposition"][op] += left
    return counts, pairs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hf", action="store_true", required=True, help="the tools/hf_models.py models")
    ap.add_argument("--out", required=True)
    ap.add_argument("--binary", default=os.path.join(os.path.dirname(HERE), "build", "modelexport"))
    ap.add_argument("--only", default=",".join(hf_models.MODELS))
    ap.add_argument("--formats", default="pt2,pt")
    ap.add_argument("--configs", default="14:default,17:18")
    ap.add_argument("--min", type=float, default=0.95)
    ap.add_argument("--json")
    ap.add_argument("--markdown")
    args = ap.parse_args()

    import onnx
    import torch
    import transformers

    os.makedirs(args.out, exist_ok=True)
    configs = [tuple(c.split(":")) for c in args.configs.split(",")]
    rows, details = [], []
    for name in args.only.split(","):
        for ours_opset, their_opset in configs:
            start = time.time()
            theirs = dynamo_export(args.out, name, their_opset)
            their_version = next(o.version for o in onnx.load(theirs, load_external_data=False).opset_import
                                 if o.domain in ("", "ai.onnx"))
            for fmt in args.formats.split(","):
                ours, sidecar = ours_export(args.binary, args.out, name, fmt, int(ours_opset))
                report = io.StringIO()
                r = hierarchy_agreement.compare(ours, sidecar, theirs, top=40, out=report,
                                                theirs_format="dynamo")
                root_tag = next(m["tag"] for m in json.load(open(sidecar))["modules"] if m.get("path", "") == "")
                counts, pairs = causes(r, root_tag)
                decomposition = counts["decomposition"]
                comparable = r["considered"] - counts["no_scope"] - sum(decomposition.values())
                row = {"model": name, "format": fmt, "ours_opset": int(ours_opset),
                       "theirs_opset": their_version, "considered": r["considered"],
                       "matched": r["matched"], "share": r["one_to_one"],
                       "exists_share": r["exists_share"], "tagging": counts["tagging"],
                       "no_scope_unmatched": counts["no_scope"], "comparable": comparable,
                       "comparable_share": r["matched"] / comparable if comparable else 1.0,
                       "decomposition": dict(decomposition), "pairs": pairs,
                       "unresolved": r["unresolved_scopes"], "no_scope": r["no_scope"],
                       "seconds": round(time.time() - start, 1)}
                rows.append(row)
                details.append(report.getvalue())
                print("%-16s %-4s ours op%-2s theirs op%-2s %4d/%-4d = %6.2f%%  tagging %d  no scope %d"
                      "  decomposition %d  -> comparable %.2f%%"
                      % (name, fmt, ours_opset, their_version, r["matched"], r["considered"],
                         100 * r["one_to_one"], counts["tagging"], counts["no_scope"],
                         sum(decomposition.values()), 100 * row["comparable_share"]), flush=True)

    md = ["Versions: torch %s, transformers %s, onnx %s; modelexport `%s`."
          % (torch.__version__, transformers.__version__, onnx.__version__, args.binary), "",
          "| model | ours from | ours opset | dynamo opset | dynamo nodes | placed alike | share |"
          " share without decomposition/no-scope nodes | unmatched: tagging | unmatched: no scope in dynamo"
          " | unmatched: decomposition (op_type: count) |",
          "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        md.append("| %s | .%s | %d | %d | %d | %d | %.1f%% | %.1f%% | %d | %d | %s |"
                  % (r["model"], r["format"], r["ours_opset"], r["theirs_opset"], r["considered"],
                     r["matched"], 100 * r["share"], 100 * r["comparable_share"], r["tagging"],
                     r["no_scope_unmatched"],
                     ", ".join("%s %d" % kv for kv in sorted(r["decomposition"].items(), key=lambda kv: -kv[1]))
                     or "-"))
    md += ["", "Tagging differences (op_type: dynamo's module -> OURS' tag of the spare node, count):", ""]
    for r in rows:
        for op, a, b, c in r["pairs"]:
            md.append("- %s .%s op%d: %s: `%s` -> `%s` (%d)" % (r["model"], r["format"], r["ours_opset"], op, a, b, c))
    text = "\n".join(md) + "\n"
    print()
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "reports": details}, f, indent=1)
    return 0 if all(r["share"] + 1e-12 >= args.min for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

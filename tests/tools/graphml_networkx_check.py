#!/usr/bin/python3
"""Reads a hierarchical GraphML with networkx (an independent reader) and checks its node
and edge counts against the ONNX model it was written from.

usage: graphml_networkx_check.py GRAPHML ONNX   (exit 0 when everything matches)
"""
import json
import sys
from collections import Counter

import networkx as nx
import onnx


def expected_counts(model):
    g = model.graph
    produced = {i.name for i in g.input} | {t.name for t in g.initializer}
    for n in g.node:
        produced.update(o for o in n.output if o)
    edges = sum(1 for n in g.node for i in n.input if i and i in produced)
    edges += sum(1 for o in g.output if o.name in produced)
    modules = set()
    for n in g.node:
        # The exporter names nodes <tag>/<OpType>; every prefix of a tag is a module.
        if n.name.startswith("/") and n.name.rfind("/") > 0:
            segments = n.name[: n.name.rfind("/")].split("/")[1:]
            for k in range(1, len(segments) + 1):
                modules.add("/" + "/".join(segments[:k]))
    return {
        "op": len(g.node),
        "initializer": len(g.initializer),
        "input": len(g.input),
        "output": len(g.output),
        "module": len(modules),
        "edges": edges,
    }


def main():
    graphml_path, onnx_path = sys.argv[1], sys.argv[2]
    graph = nx.read_graphml(graphml_path)
    model = onnx.load(onnx_path, load_external_data=False)
    kinds = Counter(data.get("node_kind") for _, data in graph.nodes(data=True))
    found = {k: kinds.get(k, 0) for k in ("op", "initializer", "input", "output", "module")}
    found["edges"] = graph.number_of_edges()
    expected = expected_counts(model)
    problems = [f"{k}: networkx {found[k]}, onnx {expected[k]}" for k in expected if found[k] != expected[k]]
    by_name = {n.name: n for n in model.graph.node}
    for node_id, data in graph.nodes(data=True):
        if data.get("node_kind") != "op":
            continue
        name = data.get("name", "")
        if name not in by_name or by_name[name].op_type != data.get("op_type"):
            problems.append(f"{node_id}: no ONNX node {name!r} with op {data.get('op_type')!r}")
        elif name.startswith("/") and data.get("hierarchy_tag") != name[: name.rfind("/")]:
            problems.append(f"{node_id}: hierarchy_tag {data.get('hierarchy_tag')!r} does not match its name")
    print(json.dumps({"networkx": found, "onnx": expected, "problems": problems[:10]}))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

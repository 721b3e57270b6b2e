#!/usr/bin/python3
"""Renders the module structure of a hierarchical GraphML export as Graphviz dot: one
cluster per module (labelled with its class), op nodes inside their module, edges
between ops. Initializers and graph inputs/outputs are left out unless --tensors.

usage: graphml_to_dot.py GRAPHML [-o OUT.dot] [--depth N] [--tensors]
  --depth N   collapse modules deeper than N levels into one box per module, labelled
              with its op count (keeps big models readable)
then: dot -Tpng OUT.dot -o OUT.png
"""
import argparse
import sys
import xml.etree.ElementTree as ET

NS = {"g": "http://graphml.graphdrawing.org/xmlns"}


def quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def data_of(element, keys):
    return {keys[d.get("key")]: (d.text or "") for d in element.findall("g:data", NS) if d.get("key") in keys}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("graphml")
    parser.add_argument("-o", "--output", default="-")
    parser.add_argument("--depth", type=int, default=0)
    parser.add_argument("--tensors", action="store_true")
    args = parser.parse_args()

    root = ET.parse(args.graphml).getroot()
    keys = {k.get("id"): k.get("attr.name") for k in root.findall("g:key", NS) if k.get("attr.name")}
    lines = ["digraph modules {", "  rankdir=TB; compound=true; node [fontsize=10]; edge [color=gray50, arrowsize=0.5];"]
    shown = {}  # GraphML node id -> dot node id it is drawn as
    counter = [0]

    def dot_id():
        counter[0] += 1
        return f"n{counter[0]}"

    def count_ops(graph):
        return sum(1 for n in graph.iter(f"{{{NS['g']}}}node") if data_of(n, keys).get("node_kind") == "op")

    def ids_below(graph):
        return [n.get("id") for n in graph.iter(f"{{{NS['g']}}}node")]

    def emit(graph, depth, indent):
        for node in graph.findall("g:node", NS):
            data = data_of(node, keys)
            kind = data.get("node_kind")
            inner = node.find("g:graph", NS)
            if kind == "module" and inner is not None:
                tag = data.get("hierarchy_tag", "")
                label = tag.rsplit("/", 1)[-1]
                if args.depth and depth >= args.depth:
                    box = dot_id()
                    lines.append(f"{indent}{box} [shape=box3d, style=filled, fillcolor=lightsteelblue1, "
                                 f"label={quote(label + f' ({count_ops(inner)} ops)')}];")
                    for below in ids_below(inner):
                        shown[below] = box
                    continue
                lines.append(f"{indent}subgraph cluster_{dot_id()} {{")
                lines.append(f"{indent}  label={quote(label)}; style=rounded; color=gray40; fontsize=11;")
                emit(inner, depth + 1, indent + "  ")
                lines.append(f"{indent}}}")
            elif kind == "op" or args.tensors:
                nid = dot_id()
                shown[node.get("id")] = nid
                if kind == "op":
                    lines.append(f"{indent}{nid} [shape=box, style=filled, fillcolor=gold, label={quote(data.get('op_type', '?'))}];")
                else:
                    lines.append(f"{indent}{nid} [shape=ellipse, label={quote(data.get('tensor_name', '?'))}];")

    top = root.find("g:graph", NS)
    emit(top, 0, "  ")
    drawn = set()
    for edge in top.iter(f"{{{NS['g']}}}edge"):
        a, b = shown.get(edge.get("source")), shown.get(edge.get("target"))
        if a and b and a != b and (a, b) not in drawn:
            drawn.add((a, b))
            lines.append(f"  {a} -> {b};")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w") as out:
            out.write(text)


if __name__ == "__main__":
    main()

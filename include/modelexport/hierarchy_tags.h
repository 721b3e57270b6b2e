#pragma once
// Assigning modules to the graph's nodes (strategy htp: trace; projection happens on the
// ONNX nodes once the graph is built, see tag_projection.h), from the node modules every
// front end hands on: nothing here knows the model's format.
#include <string>
#include <unordered_map>

#include <torch/script.h>

#include "modelexport/node_tag.h"
#include "modelexport/op_facts.h"
#include "modelexport/torchscript_module_tree.h"

namespace modelexport {

// Nodes that only feed others (constants, shape plumbing, casts: OpFacts::kAuxiliary in
// the op table) and have no callstack.
bool isAuxiliaryNode(const torch::jit::Node* node, const OpFactsTable& ops);

// `nodeModules`: the module of each node as its front end recorded it
// (callstackModules, recordedModuleTree); without it, the nodes' InlinedCallStacks say
// (callstackModules). A node without a module that is auxiliary (`ops`) is projected
// from its consumers; any other is the root's.
std::unordered_map<const torch::jit::Node*, NodeTag> traceTags(
    const torch::jit::Graph& graph, const ModuleTree& tree, const OpFactsTable& ops,
    const std::unordered_map<const torch::jit::Node*, int>* nodeModules = nullptr);

}  // namespace modelexport

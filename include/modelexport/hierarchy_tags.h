#pragma once
// Assigning modules to TorchScript nodes (strategy htp: trace; projection happens on the
// ONNX nodes once the graph is built, see tag_projection.h).
#include <string>
#include <unordered_map>

#include <torch/script.h>

#include "modelexport/node_tag.h"
#include "modelexport/op_facts.h"
#include "modelexport/torchscript_module_tree.h"

namespace modelexport {

// The innermost module of the node's InlinedCallStack, resolved against the tree.
int moduleOfCallstack(const torch::jit::Node* node, const ModuleTree& tree);

// Nodes that only feed others (constants, shape plumbing, casts: OpFacts::kAuxiliary in
// the op table) and have no callstack.
bool isAuxiliaryNode(const torch::jit::Node* node, const OpFactsTable& ops);

// `recorded`: the module of each node as the file recorded it (torch.export's
// nn_module_stack); without it, each node's InlinedCallStack says. A node with neither
// that is auxiliary (`ops`) is projected from its consumers.
std::unordered_map<const torch::jit::Node*, NodeTag> traceTags(
    const torch::jit::Graph& graph, const ModuleTree& tree, const OpFactsTable& ops,
    const std::unordered_map<const torch::jit::Node*, int>* recorded = nullptr);

}  // namespace modelexport

#pragma once
// The module tree of a TorchScript module: every submodule with its attribute path,
// class and whether it has a forward; and the module of each node of its inlined graph.
#include <unordered_map>

#include <torch/script.h>

#include "modelexport/module_tree.h"

namespace modelexport {

ModuleTree torchscriptModuleTree(const torch::jit::Module& root);

// The innermost module of the node's InlinedCallStack, resolved against the tree (its
// tagged ancestor).
int moduleOfCallstack(const torch::jit::Node* node, const ModuleTree& tree);

// The module of every node (in every block) that has an InlinedCallStack: the frames
// inlining kept, resolved against the tree (moduleOfCallstack). Nodes without one are
// not in it, as nodes without an nn_module_stack are not in a .pt2's.
std::unordered_map<const torch::jit::Node*, int> callstackModules(const torch::jit::Graph& graph,
                                                                  const ModuleTree& tree);

// What ModuleInfo::typeName holds for a TorchScript class: its qualified name, mangling
// included (unique among the types of one loaded model).
std::string torchscriptTypeName(const c10::ClassTypePtr& type);

}  // namespace modelexport

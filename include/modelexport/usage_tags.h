#pragma once
// Strategy usage_based: a node belongs to the modules that own the parameters
// and buffers it reads; nodes that read none are left to projection.
#include <string>
#include <unordered_map>

#include <torch/script.h>

#include "modelexport/hierarchy_tags.h"
#include "modelexport/module_tree.h"

namespace modelexport {

// parameterPaths: constant value -> attribute path of the parameter it was folded from
// (PreparedGraph::parameterPaths). Nodes that read parameters of several modules take
// their nearest common ancestor.
std::unordered_map<const torch::jit::Node*, NodeTag> usageTags(
    const torch::jit::Graph& graph, const ModuleTree& tree,
    const std::unordered_map<const torch::jit::Value*, std::string>& parameterPaths);

}  // namespace modelexport

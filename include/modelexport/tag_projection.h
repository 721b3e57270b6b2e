#pragma once
// project step of strategy htp: nodes emitted without a module take the modules of the
// nodes that consume their outputs.
#include <string>
#include <unordered_set>
#include <vector>

#include "modelexport/hierarchy_stamps.h"
#include "modelexport/module_tree.h"
#include "modelexport/onnx_graph_builder.h"

namespace modelexport {

void projectTags(std::vector<EmittedNode>& nodes, const ModuleTree& tree,
                 const std::unordered_set<std::string>& graphOutputs);

HierarchyStamp stampFor(const EmittedNode& node, const ModuleTree& tree);

// Names every node "<tag>/<OpType>", with "_N" where needed to stay unique.
void nameNodesByTag(std::vector<EmittedNode>& nodes, const ModuleTree& tree);

}  // namespace modelexport

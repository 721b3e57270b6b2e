#include "modelexport/hierarchy_tags.h"

#include "modelexport/node_op_facts.h"

namespace modelexport {

bool isAuxiliaryNode(const torch::jit::Node* node, const OpFactsTable& ops) {
  return opFactsOrNone(ops, node).has(OpFacts::kAuxiliary);
}

std::unordered_map<const torch::jit::Node*, NodeTag> traceTags(
    const torch::jit::Graph& graph, const ModuleTree& tree, const OpFactsTable& ops,
    const std::unordered_map<const torch::jit::Node*, int>* nodeModules) {
  const auto fromCallstacks =
      nodeModules ? std::unordered_map<const torch::jit::Node*, int>{} : callstackModules(graph, tree);
  const auto& modules = nodeModules ? *nodeModules : fromCallstacks;
  std::unordered_map<const torch::jit::Node*, NodeTag> tags;
  std::function<void(const torch::jit::Block*)> visit = [&](const torch::jit::Block* block) {
    for (const auto* node : block->nodes()) {
      for (const auto* sub : node->blocks()) visit(sub);
      auto known = modules.find(node);
      if (known != modules.end()) {
        tags[node] = NodeTag{tree.taggedAncestor(known->second), TagMethod::Trace};
      } else if (isAuxiliaryNode(node, ops)) {
        tags[node] = NodeTag{-1, TagMethod::Project};
      } else {
        tags[node] = NodeTag{0, TagMethod::Trace};  // an op of the root's own forward
      }
    }
  };
  visit(graph.block());
  return tags;
}

}  // namespace modelexport

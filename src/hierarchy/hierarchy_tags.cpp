#include "modelexport/hierarchy_tags.h"

#include "modelexport/node_op_facts.h"

namespace modelexport {

int moduleOfCallstack(const torch::jit::Node* node, const ModuleTree& tree) {
  auto callstack = node->callstack();
  if (!callstack) return 0;
  int module = 0;
  for (const auto& entry : (*callstack)->vec()) {
    const auto& info = std::get<torch::jit::kModuleInstanceInfo>(entry);
    if (!info) continue;  // a plain function call: stays in the caller's module
    module = tree.resolveCall(module, info->instance_name(), torchscriptTypeName(info->class_type()));
  }
  return tree.taggedAncestor(module);
}

bool isAuxiliaryNode(const torch::jit::Node* node, const OpFactsTable& ops) {
  return opFactsOrNone(ops, node).has(OpFacts::kAuxiliary);
}

std::unordered_map<const torch::jit::Node*, NodeTag> traceTags(
    const torch::jit::Graph& graph, const ModuleTree& tree, const OpFactsTable& ops,
    const std::unordered_map<const torch::jit::Node*, int>* recorded) {
  std::unordered_map<const torch::jit::Node*, NodeTag> tags;
  std::function<void(const torch::jit::Block*)> visit = [&](const torch::jit::Block* block) {
    for (const auto* node : block->nodes()) {
      for (const auto* sub : node->blocks()) visit(sub);
      auto known = recorded ? recorded->find(node) : decltype(recorded->end()){};
      if (recorded && known != recorded->end()) {
        tags[node] = NodeTag{tree.taggedAncestor(known->second), TagMethod::Trace};
      } else if (!recorded && node->callstack()) {
        tags[node] = NodeTag{moduleOfCallstack(node, tree), TagMethod::Trace};
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

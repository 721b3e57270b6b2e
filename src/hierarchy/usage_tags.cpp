#include "modelexport/usage_tags.h"

#include <functional>

namespace modelexport {

std::unordered_map<const torch::jit::Node*, NodeTag> usageTags(
    const torch::jit::Graph& graph, const ModuleTree& tree,
    const std::unordered_map<const torch::jit::Value*, std::string>& parameterPaths) {
  auto ownerOf = [&](const std::string& parameterPath) {
    auto dot = parameterPath.rfind('.');
    std::string owner = dot == std::string::npos ? "" : parameterPath.substr(0, dot);
    auto index = tree.findByPath(owner);
    return tree.taggedAncestor(index ? *index : 0);
  };
  std::unordered_map<const torch::jit::Node*, NodeTag> tags;
  std::function<void(const torch::jit::Block*)> visit = [&](const torch::jit::Block* block) {
    for (const auto* node : block->nodes()) {
      for (const auto* sub : node->blocks()) visit(sub);
      int module = -1;
      for (const auto* input : node->inputs()) {
        auto it = parameterPaths.find(input);
        if (it == parameterPaths.end()) continue;
        int owner = ownerOf(it->second);
        module = module < 0 ? owner : tree.commonAncestor(module, owner);
      }
      tags[node] = module < 0 ? NodeTag{-1, TagMethod::Project} : NodeTag{module, TagMethod::Usage};
    }
  };
  visit(graph.block());
  return tags;
}

}  // namespace modelexport

#include "modelexport/tag_projection.h"

#include <algorithm>
#include <unordered_map>

namespace modelexport {

void projectTags(std::vector<EmittedNode>& nodes, const ModuleTree& tree,
                 const std::unordered_set<std::string>& graphOutputs) {
  std::unordered_map<std::string, std::vector<size_t>> consumers;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const auto& in : nodes[i].proto.input()) consumers[in].push_back(i);
  // Reverse order: a node's consumers come after it, so they are resolved first.
  for (size_t k = nodes.size(); k-- > 0;) {
    EmittedNode& node = nodes[k];
    if (node.tag.module >= 0) continue;
    std::vector<int> modules;
    for (const auto& out : node.proto.output()) {
      if (graphOutputs.count(out)) modules.push_back(0);
      for (size_t c : consumers[out]) modules.push_back(nodes[c].tag.module);
    }
    modules.erase(std::remove(modules.begin(), modules.end(), -1), modules.end());
    std::sort(modules.begin(), modules.end());
    modules.erase(std::unique(modules.begin(), modules.end()), modules.end());
    int primary = modules.empty() ? 0 : modules.front();
    for (int m : modules) primary = tree.commonAncestor(primary, m);
    node.tag = NodeTag{primary, TagMethod::Project};
    if (modules.size() > 1) node.projectedFrom = modules;
  }
}

HierarchyStamp stampFor(const EmittedNode& node, const ModuleTree& tree) {
  HierarchyStamp stamp;
  const ModuleInfo& m = tree.at(node.tag.module);
  stamp.path = m.tag;
  stamp.tags.push_back(m.tag);
  for (int other : node.projectedFrom)
    if (tree.at(other).tag != m.tag) stamp.tags.push_back(tree.at(other).tag);
  stamp.method = tagMethodName(node.tag.method);
  stamp.module = m.path;
  for (int i : tree.taggedChain(node.tag.module)) {
    stamp.scopeModules.push_back(tree.at(i).path);
    stamp.scopeClasses.push_back(tree.at(i).qualifiedClass);
  }
  return stamp;
}

void nameNodesByTag(std::vector<EmittedNode>& nodes, const ModuleTree& tree) {
  std::unordered_map<std::string, int> seen;
  for (auto& node : nodes) {
    std::string base = tree.at(node.tag.module).tag + "/" + node.proto.op_type();
    int n = seen[base]++;
    node.proto.set_name(n == 0 ? base : base + "_" + std::to_string(n));
  }
}

}  // namespace modelexport

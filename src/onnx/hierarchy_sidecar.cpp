#include "modelexport/hierarchy_sidecar.h"

#include <filesystem>
#include <map>

namespace modelexport {

std::string sidecarPath(const std::string& onnxPath, const std::string& suffix) {
  std::filesystem::path p(onnxPath);
  return (p.parent_path() / (p.stem().string() + suffix)).string();
}

nlohmann::json sidecarNodeEntry(const onnx::NodeProto& node, const std::string& path,
                                const std::vector<std::string>& tags, const std::string& method,
                                const std::string& module) {
  return {{"name", node.name()},
          {"op_type", node.op_type()},
          {"hierarchy_path", path},
          {"hierarchy_tags", tags},
          {"hierarchy_count", tags.size()},
          {"hierarchy_method", method},
          {"hierarchy_module", module}};
}

nlohmann::json buildHierarchySidecar(const ModuleTree& tree, const onnx::GraphProto& graph,
                                     const std::vector<HierarchyStamp>& stamps,
                                     const nlohmann::json& statistics) {
  std::map<std::string, size_t> ownCount;
  for (const auto& stamp : stamps) ownCount[stamp.path]++;
  std::vector<size_t> total(tree.modules().size(), 0);
  for (size_t i = 0; i < tree.modules().size(); ++i) {
    const auto& m = tree.at(static_cast<int>(i));
    if (m.tag.empty()) continue;
    size_t own = ownCount.count(m.tag) ? ownCount[m.tag] : 0;
    for (int a = static_cast<int>(i); a >= 0; a = tree.at(a).parent) total[a] += own;
  }
  nlohmann::json modules = nlohmann::json::array();
  for (size_t i = 0; i < tree.modules().size(); ++i) {
    const auto& m = tree.at(static_cast<int>(i));
    modules.push_back({{"path", m.path},
                       {"name", m.name},
                       {"class", m.className},
                       {"qualified_class", m.qualifiedClass},
                       {"tag", m.tag.empty() ? nlohmann::json(nullptr) : nlohmann::json(m.tag)},
                       {"parent", m.parent < 0 ? nlohmann::json(nullptr) : nlohmann::json(tree.at(m.parent).path)},
                       {"own_nodes", m.tag.empty() ? 0 : (ownCount.count(m.tag) ? ownCount[m.tag] : 0)},
                       {"total_nodes", total[i]}});
  }
  nlohmann::json nodes = nlohmann::json::array();
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& stamp = stamps.at(static_cast<size_t>(i));
    nodes.push_back(sidecarNodeEntry(graph.node(i), stamp.path, stamp.tags, stamp.method, stamp.module));
  }
  return {{"format", "modelexport-hierarchy"},
          {"version", 1},
          {"root", tree.root().tag},
          {"modules", modules},
          {"nodes", nodes},
          {"statistics", statistics}};
}

}  // namespace modelexport

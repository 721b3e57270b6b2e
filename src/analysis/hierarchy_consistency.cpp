// validate --check-consistency: every node stamped, tags well-formed and in one tree,
// counts right, names unique, sidecar in agreement.
#include <algorithm>
#include <map>
#include <set>

#include "modelexport/model_validation.h"

namespace modelexport {
namespace {

std::string nodeLabel(const onnx::GraphProto& graph, int i) {
  return graph.node(i).name().empty() ? "#" + std::to_string(i) + " (" + graph.node(i).op_type() + ")"
                                      : graph.node(i).name();
}

bool wellFormedTag(const std::string& tag) {
  return tag.size() > 1 && tag[0] == '/' && tag.back() != '/' && tag.find("//") == std::string::npos;
}

// Sidecar "nodes" as name -> hierarchy_path; accepts the array form we write and an
// object keyed by node name.
std::map<std::string, std::string> sidecarPaths(const nlohmann::json& sidecar, bool& ok) {
  std::map<std::string, std::string> paths;
  ok = sidecar.is_object() && sidecar.contains("nodes");
  if (!ok) return paths;
  const auto& nodes = sidecar["nodes"];
  auto pathOf = [](const nlohmann::json& entry) {
    return entry.contains("hierarchy_path") && entry["hierarchy_path"].is_string()
               ? entry["hierarchy_path"].get<std::string>() : std::string();
  };
  if (nodes.is_array()) {
    for (const auto& entry : nodes)
      if (entry.contains("name") && entry["name"].is_string()) paths[entry["name"].get<std::string>()] = pathOf(entry);
  } else if (nodes.is_object()) {
    for (const auto& [name, entry] : nodes.items()) paths[name] = pathOf(entry);
  } else {
    ok = false;
  }
  return paths;
}

}  // namespace

std::vector<ValidationProblem> checkHierarchyConsistency(const onnx::GraphProto& graph,
                                                         const ModelHierarchy& hierarchy,
                                                         const nlohmann::json* sidecar) {
  std::vector<ValidationProblem> problems;
  if (hierarchy.source == HierarchySource::None || hierarchy.source == HierarchySource::ScopedNames) {
    problems.push_back({"stamps", "", std::string("the file carries no hierarchy stamps") +
                                          (hierarchy.source == HierarchySource::ScopedNames
                                               ? " (only scoped node names, as torch.onnx writes them)" : "")});
    return problems;
  }
  if (hierarchy.source == HierarchySource::Attributes)
    problems.push_back({"stamps", "", "stamps are node attributes, not metadata_props; the ONNX checker and "
                                      "onnxruntime reject them (validate --repair moves them)"});
  std::set<std::string> roots;
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& h = hierarchy.nodes.at(static_cast<size_t>(i));
    const std::string label = nodeLabel(graph, i);
    if (h.tag.empty()) {
      problems.push_back({"stamps", label, "not stamped (no hierarchy_path)"});
      continue;
    }
    if (!h.tagsParsed) problems.push_back({"tags", label, "hierarchy_tags is not a JSON array of strings"});
    std::vector<std::string> all = h.tags;
    all.push_back(h.tag);
    for (const auto& t : all) {
      if (!wellFormedTag(t)) {
        problems.push_back({"tags", label, "tag '" + t + "' does not parse (expected /Segment/Segment...)"});
        continue;
      }
      roots.insert(tagSegments(t).front());
    }
    if (h.tagsParsed && std::find(h.tags.begin(), h.tags.end(), h.tag) == h.tags.end())
      problems.push_back({"tags", label, "hierarchy_path " + h.tag + " is not among hierarchy_tags"});
    if (!h.count)
      problems.push_back({"count", label, "hierarchy_count missing or not an integer"});
    else if (h.tagsParsed && *h.count != static_cast<long long>(h.tags.size()))
      problems.push_back({"count", label, "hierarchy_count is " + std::to_string(*h.count) + " but hierarchy_tags has " +
                                              std::to_string(h.tags.size())});
    if (h.method != "trace" && h.method != "project" && h.method != "usage")
      problems.push_back({"stamps", label, "hierarchy_method '" + h.method + "' is not trace, project or usage"});
  }
  if (roots.size() > 1) {
    std::string list;
    for (const auto& r : roots) list += (list.empty() ? "/" : ", /") + r;
    problems.push_back({"tree", "", "tags do not form one tree: several roots (" + list + ")"});
  }
  std::map<std::string, int> seen;
  for (int i = 0; i < graph.node_size(); ++i) {
    const std::string& name = graph.node(i).name();
    if (name.empty()) problems.push_back({"names", nodeLabel(graph, i), "node has no name"});
    else if (seen[name]++ == 1) problems.push_back({"names", name, "node name used more than once"});
  }
  if (sidecar) {
    bool ok = false;
    auto paths = sidecarPaths(*sidecar, ok);
    if (!ok) {
      problems.push_back({"sidecar", "", "sidecar has no 'nodes' list"});
      return problems;
    }
    if (paths.size() != static_cast<size_t>(graph.node_size()))
      problems.push_back({"sidecar", "", "sidecar lists " + std::to_string(paths.size()) + " nodes, the graph has " +
                                             std::to_string(graph.node_size())});
    std::set<std::string> graphNames;
    for (const auto& node : graph.node()) graphNames.insert(node.name());
    for (const auto& [name, path] : paths)
      if (!graphNames.count(name)) problems.push_back({"sidecar", name, "in the sidecar but not in the graph"});
    for (int i = 0; i < graph.node_size(); ++i) {
      const auto& name = graph.node(i).name();
      auto it = paths.find(name);
      if (it == paths.end())
        problems.push_back({"sidecar", nodeLabel(graph, i), "not in the sidecar"});
      else if (it->second != hierarchy.nodes[static_cast<size_t>(i)].tag)
        problems.push_back({"sidecar", name, "sidecar says " + it->second + ", stamp says " +
                                                 hierarchy.nodes[static_cast<size_t>(i)].tag});
    }
  }
  return problems;
}

}  // namespace modelexport

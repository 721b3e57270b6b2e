// validate --repair.
#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "modelexport/errors.h"
#include "modelexport/hierarchy_sidecar.h"
#include "modelexport/hierarchy_stamps.h"
#include "modelexport/model_validation.h"

namespace modelexport {
namespace {

bool isHierarchyKey(const std::string& key) { return key.rfind("hierarchy_", 0) == 0; }

// Nearest common ancestor of two tags, segment by segment.
std::string commonTag(const std::string& a, const std::string& b) {
  auto sa = tagSegments(a), sb = tagSegments(b);
  size_t n = 0;
  while (n < sa.size() && n < sb.size() && sa[n] == sb[n]) ++n;
  return joinTag(sa, n);
}

bool wellFormedTag(const std::string& tag) {
  return tag.size() > 1 && tag[0] == '/' && tag.back() != '/' && tag.find("//") == std::string::npos;
}

std::string nodeLabel(const onnx::NodeProto& node, size_t i) {
  return node.name().empty() ? "#" + std::to_string(i) + " (" + node.op_type() + ")" : node.name();
}

void writeStamps(onnx::NodeProto& node, const NodeHierarchy& h) {
  MetadataEntries entries;
  for (auto& [key, value] : getNodeMetadata(node))
    if (!isHierarchyKey(key) && key != "namespace") entries.emplace_back(key, value);
  MetadataEntries stamps = hierarchyEntries(h.tag, h.tags, h.method, h.module);
  stamps.insert(stamps.end(), entries.begin(), entries.end());
  setNodeMetadata(node, stamps);
}

// Stamps unstamped nodes from the sidecar's record of the export, matched by node name
// and op type (a node renamed or replaced since then is left to projection).
void stampFromSidecar(onnx::GraphProto& graph, const nlohmann::json& sidecar, std::vector<RepairChange>& changes) {
  if (!sidecar.is_object() || !sidecar.contains("nodes") || !sidecar["nodes"].is_array()) return;
  std::unordered_map<std::string, const nlohmann::json*> recorded;
  for (const auto& entry : sidecar["nodes"])
    if (entry.is_object() && entry.value("name", "") != "") recorded.emplace(entry["name"].get<std::string>(), &entry);
  const ModelHierarchy hierarchy = readHierarchy(graph);
  const bool fileHasStamps = hierarchy.source == HierarchySource::Metadata;
  for (int i = 0; i < graph.node_size(); ++i) {
    if (fileHasStamps && !hierarchy.nodes[static_cast<size_t>(i)].tag.empty()) continue;
    auto* node = graph.mutable_node(i);
    auto found = recorded.find(node->name());
    if (found == recorded.end()) continue;
    const nlohmann::json& entry = *found->second;
    if (entry.value("op_type", "") != node->op_type() || !entry.contains("hierarchy_path") ||
        !entry["hierarchy_path"].is_string())
      continue;
    NodeHierarchy h;
    h.tag = entry["hierarchy_path"].get<std::string>();
    if (!wellFormedTag(h.tag)) continue;
    if (entry.contains("hierarchy_tags") && entry["hierarchy_tags"].is_array())
      for (const auto& t : entry["hierarchy_tags"])
        if (t.is_string()) h.tags.push_back(t.get<std::string>());
    if (h.tags.empty()) h.tags = {h.tag};
    h.method = entry.value("hierarchy_method", "trace");
    h.module = entry.value("hierarchy_module", "");
    writeStamps(*node, h);
    changes.push_back({nodeLabel(*node, static_cast<size_t>(i)), "stamped from the sidecar as " + h.tag});
  }
}

// 1. Attributes into metadata_props (metadata wins where both exist).
void moveAttributesIntoMetadata(onnx::GraphProto& graph, std::vector<RepairChange>& changes) {
  for (int i = 0; i < graph.node_size(); ++i) {
    auto* node = graph.mutable_node(i);
    MetadataEntries metadata = getNodeMetadata(*node);
    std::set<std::string> present;
    for (const auto& [key, value] : metadata) present.insert(key);
    int moved = 0;
    auto* attributes = node->mutable_attribute();
    for (int a = attributes->size() - 1; a >= 0; --a) {
      const auto& attr = attributes->Get(a);
      if (!isHierarchyKey(attr.name())) continue;
      if (!present.count(attr.name()))
        metadata.emplace_back(attr.name(), attr.type() == onnx::AttributeProto::INT ? std::to_string(attr.i()) : attr.s());
      attributes->DeleteSubrange(a, 1);
      ++moved;
    }
    if (moved) {
      setNodeMetadata(*node, metadata);
      changes.push_back({nodeLabel(*node, static_cast<size_t>(i)),
                         "moved " + std::to_string(moved) + " hierarchy_* attribute(s) into metadata_props"});
    }
  }
}

// The root is the first segment most primary tags share; tags outside it are dropped
// (secondary) or recomputed by projection (primary), so the result is one tree.
struct TreeRoot {
  std::string segment;  // "BertModel"
  std::string tag;      // "/BertModel"
  bool contains(const std::string& tag) const { return wellFormedTag(tag) && tagSegments(tag).front() == segment; }
};

TreeRoot chooseRoot(const ModelHierarchy& hierarchy) {
  std::map<std::string, size_t> firstSegments;
  for (const auto& h : hierarchy.nodes)
    if (wellFormedTag(h.tag)) firstSegments[tagSegments(h.tag).front()]++;
  if (firstSegments.empty()) throw UserError("no node carries a well-formed hierarchy_path to repair from");
  auto mostCommon = std::max_element(firstSegments.begin(), firstSegments.end(),
                                     [](const auto& x, const auto& y) { return x.second < y.second; });
  return {mostCommon->first, "/" + mostCommon->first};
}

// 2. Tags and counts made consistent with hierarchy_path; a primary tag outside the tree
// is cleared for projection. Marks the nodes whose stamps must be written again.
void makeStampsConsistent(const onnx::GraphProto& graph, const TreeRoot& root, ModelHierarchy& hierarchy,
                          std::vector<bool>& rewrite, std::vector<RepairChange>& changes) {
  for (size_t i = 0; i < hierarchy.nodes.size(); ++i) {
    auto& h = hierarchy.nodes[i];
    if (h.tag.empty()) continue;
    const std::string label = nodeLabel(graph.node(static_cast<int>(i)), i);
    auto change = [&](const std::string& what) {
      changes.push_back({label, what});
      rewrite[i] = true;
    };
    if (!root.contains(h.tag)) {
      changes.push_back({label, "hierarchy_path '" + h.tag + "' is not under " + root.tag + "; recomputed"});
      h.tag.clear();
      continue;
    }
    if (!h.tagsParsed) {
      h.tags = {h.tag};
      change("hierarchy_tags did not parse; set to [hierarchy_path]");
    }
    auto outside = std::remove_if(h.tags.begin(), h.tags.end(), [&](const std::string& t) { return !root.contains(t); });
    if (outside != h.tags.end()) {
      const auto dropped = h.tags.end() - outside;
      h.tags.erase(outside, h.tags.end());
      change("dropped " + std::to_string(dropped) + " tag(s) outside " + root.tag);
    }
    if (std::find(h.tags.begin(), h.tags.end(), h.tag) == h.tags.end()) {
      h.tags.insert(h.tags.begin(), h.tag);
      change("added hierarchy_path to hierarchy_tags");
    }
    if (!h.count || *h.count != static_cast<long long>(h.tags.size()))
      change("hierarchy_count " + (h.count ? std::to_string(*h.count) : "missing") + " -> " +
             std::to_string(h.tags.size()));
    if (h.method != "trace" && h.method != "project" && h.method != "usage") {
      change("hierarchy_method '" + h.method + "' -> project");
      h.method = "project";
    }
  }
}

// 3. Unstamped nodes take their consumers' modules (reverse order: consumers first).
void stampByProjection(const onnx::GraphProto& graph, const TreeRoot& root, ModelHierarchy& hierarchy,
                       std::vector<bool>& rewrite, std::vector<RepairChange>& changes) {
  std::map<std::string, std::string> modulePath;
  for (const auto& m : hierarchy.modules) modulePath[m.tag] = m.path;
  std::unordered_map<std::string, std::vector<size_t>> consumers;
  for (int i = 0; i < graph.node_size(); ++i)
    for (const auto& in : graph.node(i).input()) consumers[in].push_back(static_cast<size_t>(i));
  std::set<std::string> graphOutputs;
  for (const auto& o : graph.output()) graphOutputs.insert(o.name());
  for (size_t k = hierarchy.nodes.size(); k-- > 0;) {
    auto& h = hierarchy.nodes[k];
    if (!h.tag.empty()) continue;
    std::vector<std::string> tags;
    for (const auto& out : graph.node(static_cast<int>(k)).output()) {
      if (graphOutputs.count(out)) tags.push_back(root.tag);
      for (size_t c : consumers[out])
        if (!hierarchy.nodes[c].tag.empty()) tags.push_back(hierarchy.nodes[c].tag);
    }
    std::sort(tags.begin(), tags.end());
    tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
    std::string primary = tags.empty() ? root.tag : tags.front();
    for (const auto& t : tags) primary = commonTag(primary, t);
    h.tag = primary;
    h.tags = {primary};
    for (const auto& t : tags)
      if (t != primary) h.tags.push_back(t);
    h.method = "project";
    h.module = modulePath.count(primary) ? modulePath[primary] : "";
    rewrite[k] = true;
    changes.push_back({nodeLabel(graph.node(static_cast<int>(k)), k), "stamped by projection as " + primary});
  }
}

// 4. Unique node names: an empty or repeated name becomes <tag>/<OpType> or <name>_N.
void renameDuplicates(onnx::GraphProto& graph, const ModelHierarchy& hierarchy, std::vector<RepairChange>& changes) {
  std::set<std::string> used;
  for (const auto& node : graph.node()) used.insert(node.name());
  std::set<std::string> seen;
  for (int i = 0; i < graph.node_size(); ++i) {
    auto* node = graph.mutable_node(i);
    if (!node->name().empty() && seen.insert(node->name()).second) continue;
    const std::string base =
        node->name().empty() ? hierarchy.nodes[static_cast<size_t>(i)].tag + "/" + node->op_type() : node->name();
    std::string name = base;
    for (int suffix = 1; used.count(name); ++suffix) name = base + "_" + std::to_string(suffix);
    changes.push_back({nodeLabel(*node, static_cast<size_t>(i)), "renamed to " + name});
    node->set_name(name);
    used.insert(name);
    seen.insert(name);
  }
}

}  // namespace

std::vector<RepairChange> repairHierarchy(onnx::ModelProto& model, const nlohmann::json* sidecar) {
  std::vector<RepairChange> changes;
  auto* graph = model.mutable_graph();
  moveAttributesIntoMetadata(*graph, changes);
  if (sidecar) stampFromSidecar(*graph, *sidecar, changes);
  ModelHierarchy hierarchy = readHierarchy(*graph);
  if (hierarchy.source != HierarchySource::Metadata)
    throw UserError(std::string("the file carries no hierarchy stamps to repair from (hierarchy source: ") +
                    hierarchySourceName(hierarchy.source) + (sidecar ? "; no sidecar node matches it" : "; no sidecar") +
                    ")");
  const TreeRoot root = chooseRoot(hierarchy);
  std::vector<bool> rewrite(hierarchy.nodes.size(), false);
  makeStampsConsistent(*graph, root, hierarchy, rewrite, changes);
  stampByProjection(*graph, root, hierarchy, rewrite, changes);
  for (size_t i = 0; i < rewrite.size(); ++i)
    if (rewrite[i]) writeStamps(*graph->mutable_node(static_cast<int>(i)), hierarchy.nodes[i]);
  renameDuplicates(*graph, hierarchy, changes);
  return changes;
}

nlohmann::json refreshSidecarNodes(nlohmann::json sidecar, const onnx::GraphProto& graph) {
  ModelHierarchy hierarchy = readHierarchy(graph);
  nlohmann::json nodes = nlohmann::json::array();
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& h = hierarchy.nodes.at(static_cast<size_t>(i));
    nodes.push_back(sidecarNodeEntry(graph.node(i), h.tag, h.tags, h.method, h.module));
  }
  sidecar["nodes"] = nodes;
  return sidecar;
}

}  // namespace modelexport

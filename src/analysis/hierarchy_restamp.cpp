#include "modelexport/hierarchy_restamp.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "modelexport/derived_node_names.h"
#include "modelexport/errors.h"
#include "modelexport/hierarchy_reader.h"
#include "modelexport/hierarchy_stamps.h"
#include "modelexport/node_metadata.h"

namespace modelexport {
namespace {

constexpr const char* kByStamp = "stamp";
constexpr const char* kByName = "name";
constexpr const char* kByTensors = "tensors";
constexpr const char* kByProjection = "projection";

// Keys restamp writes; an optimizer's other metadata on a node is kept.
bool isStampKey(const std::string& key) {
  return key.rfind("hierarchy_", 0) == 0 || key == "namespace" || key.rfind("pkg.torch.onnx.", 0) == 0;
}

std::string nearestCommonAncestor(const std::vector<std::string>& tags) {
  if (tags.empty()) return "/";
  std::vector<std::string> common = tagSegments(tags[0]);
  for (size_t i = 1; i < tags.size(); ++i) {
    const auto segments = tagSegments(tags[i]);
    size_t k = 0;
    while (k < common.size() && k < segments.size() && common[k] == segments[k]) ++k;
    common.resize(k);
  }
  return joinTag(common, common.size());
}

void addUnique(std::vector<std::string>& list, const std::string& item) {
  if (!item.empty() && std::find(list.begin(), list.end(), item) == list.end()) list.push_back(item);
}

// A node's new stamp before it becomes metadata entries.
struct PlannedStamp {
  std::string method;              // kBy*; empty while unstamped
  std::string tag;                 // primary
  std::vector<std::string> tags;   // primary first
  std::string hierarchyMethod;     // trace | project | usage
  int copyFrom = -1;               // reference node whose entries are copied as they are
};

class Restamper {
 public:
  Restamper(onnx::ModelProto& optimized, const onnx::ModelProto& reference)
      : graph_(*optimized.mutable_graph()), ref_(reference.graph()), refHierarchy_(readHierarchy(ref_)) {
    if (refHierarchy_.source == HierarchySource::None)
      throw UserError("the reference carries no hierarchy (no stamps, hierarchy_* attributes or scoped node names)");
    for (int i = 0; i < ref_.node_size(); ++i) {
      const auto& node = ref_.node(i);
      if (!node.name().empty()) refByName_.emplace(node.name(), i);
      for (const auto& out : node.output())
        if (!out.empty()) refProducer_[out] = i;
      const std::string& tag = refHierarchy_.nodes[static_cast<size_t>(i)].tag;
      if (!tag.empty()) refNodeOfTag_.emplace(tag, i);
    }
    for (const auto& m : refHierarchy_.modules) modulePath_[m.tag] = m.path;
    root_ = refHierarchy_.modules.empty() ? "/" : refHierarchy_.modules[0].tag;
    for (const auto& in : graph_.input()) present_.insert(in.name());
    for (const auto& init : graph_.initializer()) present_.insert(init.name());
    for (int i = 0; i < graph_.node_size(); ++i)
      for (const auto& out : graph_.node(i).output()) {
        present_.insert(out);
        producer_[out] = i;
      }
    for (int i = 0; i < graph_.node_size(); ++i)
      for (const auto& in : graph_.node(i).input()) consumers_[in].push_back(i);
    for (const auto& out : graph_.output()) graphOutputs_.insert(out.name());
    for (int i = 0; i < graph_.node_size(); ++i)
      if (auto t = tensorOfName(graph_.node(i).name())) {
        namedTensor_[i] = *t;
        claimed_.insert(*t);
      }
  }

  RestampSummary run() {
    std::vector<PlannedStamp> plan(static_cast<size_t>(graph_.node_size()));
    for (int i = 0; i < graph_.node_size(); ++i) plan[i] = planFromReference(i);
    project(plan);
    RestampSummary summary;
    summary.nodes = plan.size();
    for (int i = 0; i < graph_.node_size(); ++i) {
      writeStamp(*graph_.mutable_node(i), plan[i]);
      summary.byMethod[plan[i].method]++;
      if (plan[i].tags.size() > 1) summary.spanning++;
    }
    return summary;
  }

 private:
  // The reference tensor a node's name derives from, when its name derives from no node
  // (onnxruntime's NCHWc nodes are "<tensor>_nchwc").
  std::optional<std::string> tensorOfName(const std::string& name) const {
    if (name.empty() || refByName_.count(name) || findNodeByDerivedName(name, refByName_)) return std::nullopt;
    return longestDerivedKey(name, refProducer_);
  }

  // The reference nodes `node` replaces: backwards from its outputs (and the tensor its
  // name derives from) through the reference graph, stopping at tensors the optimized
  // graph still has or that other optimized nodes are named after.
  std::vector<int> coveredReferenceNodes(int index, const std::string& within) const {
    const auto& node = graph_.node(index);
    std::unordered_set<std::string> own(node.output().begin(), node.output().end());
    if (auto t = namedTensor_.find(index); t != namedTensor_.end()) own.insert(t->second);
    std::vector<int> stack, covered;
    std::unordered_set<int> seen;
    for (const auto& out : own)
      if (auto it = refProducer_.find(out); it != refProducer_.end() && seen.insert(it->second).second)
        stack.push_back(it->second);
    while (!stack.empty()) {
      const int n = stack.back();
      stack.pop_back();
      covered.push_back(n);
      for (const auto& in : ref_.node(n).input()) {
        if (in.empty() || ((present_.count(in) || claimed_.count(in)) && !own.count(in))) continue;
        auto it = refProducer_.find(in);
        if (it == refProducer_.end() ||
            (!within.empty() && !tagHasPrefix(refHierarchy_.nodes[static_cast<size_t>(it->second)].tag, within)))
          continue;
        if (seen.insert(it->second).second) stack.push_back(it->second);
      }
    }
    std::sort(covered.begin(), covered.end());
    return covered;
  }

  PlannedStamp planFromReference(int index) const {
    const auto& node = graph_.node(index);
    PlannedStamp p;
    for (const auto& [key, value] : getNodeMetadata(node))
      if (key == "hierarchy_path" && !value.empty()) {
        p.method = kByStamp;
        p.tag = value;
      }
    if (!p.method.empty()) {
      p.tags = {p.tag};
      return p;
    }
    std::optional<int> named;
    if (!node.name().empty()) {
      auto exact = refByName_.find(node.name());
      named = exact != refByName_.end() ? std::optional<int>(exact->second) : findNodeByDerivedName(node.name(), refByName_);
      if (auto t = namedTensor_.find(index); !named && t != namedTensor_.end()) named = refProducer_.at(t->second);
    }
    // A named node replaces nodes near the one it is named after: within that node's
    // parent module. This bounds the walk where the optimizer renamed the tensors around
    // it (NCHWc), which would otherwise run on through the graph.
    std::string within;
    if (named) {
      const auto segments = tagSegments(refHierarchy_.nodes[static_cast<size_t>(*named)].tag);
      within = joinTag(segments, segments.empty() ? 0 : segments.size() - 1);
    }
    std::vector<std::string> coveredTags;
    std::string coveredMethod;
    for (int r : coveredReferenceNodes(index, within)) {
      const auto& h = refHierarchy_.nodes[static_cast<size_t>(r)];
      addUnique(coveredTags, h.tag);
      if (coveredMethod.empty()) coveredMethod = h.method;
    }
    if (named && !refHierarchy_.nodes[static_cast<size_t>(*named)].tag.empty()) {
      const auto& h = refHierarchy_.nodes[static_cast<size_t>(*named)];
      p.method = kByName;
      p.tag = h.tag;
      p.tags = h.tags.empty() ? std::vector<std::string>{h.tag} : h.tags;
      p.hierarchyMethod = h.method;
      p.copyFrom = *named;
      // A node named after one it fused with others spans their modules too.
      const size_t before = p.tags.size();
      for (const auto& t : coveredTags) addUnique(p.tags, t);
      if (p.tags.size() > before) {
        p.copyFrom = -1;
        p.tag = nearestCommonAncestor(p.tags);
        p.hierarchyMethod = "project";
      }
    } else if (!coveredTags.empty()) {
      p.method = kByTensors;
      p.tag = nearestCommonAncestor(coveredTags);
      p.tags = coveredTags;
      p.hierarchyMethod = coveredTags.size() == 1 ? coveredMethod : "project";
    }
    if (!p.tags.empty() && p.tags[0] != p.tag) {
      p.tags.erase(std::remove(p.tags.begin(), p.tags.end(), p.tag), p.tags.end());
      p.tags.insert(p.tags.begin(), p.tag);
    }
    return p;
  }

  // Unstamped nodes take the modules of their consumers (a graph output counts the
  // root), else of the producers of their inputs, else the root.
  void project(std::vector<PlannedStamp>& plan) const {
    auto assign = [&](PlannedStamp& p, const std::vector<std::string>& tags) {
      p.method = kByProjection;
      p.tag = nearestCommonAncestor(tags);
      p.tags = {p.tag};
      for (const auto& t : tags) addUnique(p.tags, t);
      p.hierarchyMethod = "project";
    };
    for (bool changed = true; changed;) {
      changed = false;
      for (int i = graph_.node_size(); i-- > 0;) {
        if (!plan[i].method.empty()) continue;
        std::vector<std::string> tags;
        for (const auto& out : graph_.node(i).output()) {
          if (graphOutputs_.count(out)) addUnique(tags, root_);
          if (auto it = consumers_.find(out); it != consumers_.end())
            for (int c : it->second) addUnique(tags, plan[c].tag);
        }
        if (tags.empty()) continue;
        assign(plan[i], tags);
        changed = true;
      }
    }
    for (int i = 0; i < graph_.node_size(); ++i) {
      if (!plan[i].method.empty()) continue;
      std::vector<std::string> tags;
      for (const auto& in : graph_.node(i).input())
        if (auto it = producer_.find(in); it != producer_.end()) addUnique(tags, plan[it->second].tag);
      assign(plan[i], tags.empty() ? std::vector<std::string>{root_} : tags);
    }
  }

  void writeStamp(onnx::NodeProto& node, const PlannedStamp& p) const {
    MetadataEntries entries;
    for (const auto& entry : getNodeMetadata(node))
      if (p.method == kByStamp ? entry.first != kRestampKey : !isStampKey(entry.first)) entries.push_back(entry);
    if (p.method != kByStamp) {
      MetadataEntries stamp;
      if (p.copyFrom >= 0) {
        for (const auto& entry : getNodeMetadata(ref_.node(p.copyFrom)))
          if (isStampKey(entry.first)) stamp.push_back(entry);
      }
      if (stamp.empty()) stamp = newStampEntries(p);
      entries.insert(entries.end(), stamp.begin(), stamp.end());
    }
    entries.emplace_back(kRestampKey, p.method);
    setNodeMetadata(node, entries);
  }

  MetadataEntries newStampEntries(const PlannedStamp& p) const {
    auto path = modulePath_.find(p.tag);
    MetadataEntries entries = hierarchyEntries(p.tag, p.tags, p.hierarchyMethod.empty() ? "project" : p.hierarchyMethod,
                                               path == modulePath_.end() ? "" : path->second);
    // PyTorch 2.x's scope keys describe the module, not the node: any reference node of
    // the module has them.
    if (auto same = refNodeOfTag_.find(p.tag); same != refNodeOfTag_.end())
      for (const auto& entry : getNodeMetadata(ref_.node(same->second)))
        if (entry.first.rfind("pkg.torch.onnx.", 0) == 0) entries.push_back(entry);
    return entries;
  }

  onnx::GraphProto& graph_;
  const onnx::GraphProto& ref_;
  ModelHierarchy refHierarchy_;
  std::unordered_map<std::string, int> refByName_, refProducer_, refNodeOfTag_, producer_;
  std::unordered_map<std::string, std::string> modulePath_;
  std::unordered_map<std::string, std::vector<int>> consumers_;
  std::unordered_set<std::string> present_, graphOutputs_;
  std::unordered_map<int, std::string> namedTensor_;  // optimized node -> reference tensor of its name
  std::unordered_set<std::string> claimed_;            // reference tensors optimized nodes are named after
  std::string root_;
};

}  // namespace

RestampSummary restampHierarchy(onnx::ModelProto& optimized, const onnx::ModelProto& reference) {
  return Restamper(optimized, reference).run();
}

}  // namespace modelexport

#include "modelexport/model_comparison.h"

#include <set>

#include "modelexport/hierarchy_reader.h"

namespace modelexport {
namespace {

std::vector<TensorSignature> signatures(const google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& values,
                                        const std::set<std::string>& skip) {
  std::vector<TensorSignature> list;
  for (const auto& v : values)
    if (!skip.count(v.name())) list.push_back(tensorSignature(v, ""));
  return list;
}

std::string tensorBytes(onnx::TensorProto t) {
  t.clear_name();
  t.clear_doc_string();
  std::string bytes;
  t.SerializeToString(&bytes);
  return bytes;
}

SignatureComparison compareSignatures(const onnx::GraphProto& a, const onnx::GraphProto& b, bool inputs) {
  SignatureComparison result;
  const onnx::GraphProto* graphs[2] = {&a, &b};
  std::vector<TensorSignature>* lists[2] = {&result.a, &result.b};
  for (int k = 0; k < 2; ++k) {
    std::set<std::string> initializers;
    for (const auto& i : graphs[k]->initializer()) initializers.insert(i.name());
    *lists[k] = signatures(inputs ? graphs[k]->input() : graphs[k]->output(), initializers);
  }
  result.equal = result.a == result.b;
  return result;
}

InitializerComparison compareInitializers(const onnx::GraphProto& a, const onnx::GraphProto& b) {
  InitializerComparison result;
  result.a = a.initializer_size();
  result.b = b.initializer_size();
  std::map<std::string, const onnx::TensorProto*> initsB;
  for (const auto& t : b.initializer()) initsB[t.name()] = &t;
  std::set<std::string> namesA;
  for (const auto& t : a.initializer()) {
    namesA.insert(t.name());
    auto it = initsB.find(t.name());
    if (it == initsB.end()) {
      result.onlyInA.push_back(t.name());
      continue;
    }
    const auto& u = *it->second;
    const bool sameShape = t.data_type() == u.data_type() && std::vector<int64_t>(t.dims().begin(), t.dims().end()) ==
                                                                 std::vector<int64_t>(u.dims().begin(), u.dims().end());
    if (!sameShape) result.shapeOrDtypeDiffers.push_back(t.name());
    else if (tensorBytes(t) != tensorBytes(u)) result.bytesDiffer.push_back(t.name());
    else ++result.identical;
  }
  for (const auto& t : b.initializer())
    if (!namesA.count(t.name())) result.onlyInB.push_back(t.name());
  return result;
}

// One file's hierarchy and each node's module key (tag or module path, "" when untagged).
struct Side {
  const onnx::GraphProto* graph;
  ModelHierarchy hierarchy;
  std::vector<std::string> keys;
};

// Modules on one side only and modules whose own node count differs, by module key.
void compareModules(const Side (&sides)[2], bool byPath, HierarchyComparison& result) {
  std::map<std::string, std::pair<size_t, size_t>> moduleCounts;
  std::set<std::string> modules[2];
  for (int k = 0; k < 2; ++k) {
    for (const auto& m : sides[k].hierarchy.modules) {
      std::string key = byPath ? (m.parent < 0 ? "(root)" : m.path) : m.tag;
      if (!key.empty()) modules[k].insert(key);
    }
    for (const auto& key : sides[k].keys)
      if (!key.empty()) (k == 0 ? moduleCounts[key].first : moduleCounts[key].second)++;
  }
  for (const auto& m : modules[0])
    if (!modules[1].count(m)) result.modulesOnlyInA.push_back(m);
  for (const auto& m : modules[1])
    if (!modules[0].count(m)) result.modulesOnlyInB.push_back(m);
  for (const auto& [key, counts] : moduleCounts)
    if (counts.first != counts.second) result.moduleNodeCounts.push_back({key, counts.first, counts.second});
}

// Pairs the nodes of A and B: op type and first output tensor (tensor names come from the
// source program, while our node names follow the tags and so move with them), then
// unique name, then op type and position within the module, then in the whole graph.
class NodeMatcher {
  const Side (&sides_)[2];

 public:
  explicit NodeMatcher(const Side (&sides)[2])
      : sides_(sides),
        matchOfA(sides[0].graph->node_size(), -1),
        matchOfB(sides[1].graph->node_size(), -1),
        how(sides[0].graph->node_size()) {}

  void matchAll() {
    std::map<std::string, int> nameCount[2];
    for (int k = 0; k < 2; ++k)
      for (const auto& n : sides_[k].graph->node()) nameCount[k][n.name()]++;
    matchBy("output", [&](const onnx::NodeProto& n, int, int) {
      return n.output_size() && !n.output(0).empty() ? n.op_type() + "\n" + n.output(0) : std::string();
    });
    matchBy("name", [&](const onnx::NodeProto& n, int, int) {
      return !n.name().empty() && nameCount[0][n.name()] == 1 && nameCount[1][n.name()] == 1 ? n.name() : std::string();
    });
    matchByPosition("module_position", true);
    matchByPosition("graph_position", false);
  }

  std::vector<int> matchOfA, matchOfB;  // index of the partner; -1: unmatched
  std::vector<std::string> how;         // per node of A: the method that matched it

 private:
  // Pairs unmatched nodes with equal non-empty keys, in order; keyOf(node, side, index).
  template <typename KeyOf>
  void matchBy(const char* method, KeyOf keyOf) {
    const auto& a = *sides_[0].graph;
    const auto& b = *sides_[1].graph;
    std::map<std::string, std::vector<int>> candidates;
    for (int j = 0; j < b.node_size(); ++j)
      if (matchOfB[j] < 0) {
        std::string key = keyOf(b.node(j), 1, j);
        if (!key.empty()) candidates[key].push_back(j);
      }
    std::map<std::string, size_t> used;
    for (int i = 0; i < a.node_size(); ++i) {
      if (matchOfA[i] >= 0) continue;
      std::string key = keyOf(a.node(i), 0, i);
      auto it = candidates.find(key);
      if (key.empty() || it == candidates.end()) continue;
      size_t& next = used[key];
      if (next < it->second.size()) {
        const int j = it->second[next++];
        matchOfA[i] = j;
        matchOfB[j] = i;
        how[i] = method;
      }
    }
  }

  // Ordinal keys count only nodes still unmatched on that side.
  void matchByPosition(const char* method, bool withinModule) {
    std::vector<std::string> keys[2];
    for (int k = 0; k < 2; ++k) {
      const std::vector<int>& match = k == 0 ? matchOfA : matchOfB;
      std::map<std::string, int> ordinal;
      keys[k].resize(match.size());
      for (size_t i = 0; i < match.size(); ++i)
        if (match[i] < 0) {
          std::string base = (withinModule ? sides_[k].keys[i] + "\n" : "") +
                             sides_[k].graph->node(static_cast<int>(i)).op_type();
          keys[k][i] = base + "\n" + std::to_string(ordinal[base]++);
        }
    }
    matchBy(method, [&](const onnx::NodeProto&, int side, int index) { return keys[side][index]; });
  }
};

// Counts of the matched pairs, and the pairs whose module keys differ.
void compareMatchedTags(const Side (&sides)[2], const NodeMatcher& matcher, HierarchyComparison& result) {
  const auto& a = *sides[0].graph;
  const auto& b = *sides[1].graph;
  for (int i = 0; i < a.node_size(); ++i) {
    const int j = matcher.matchOfA[i];
    if (j < 0) continue;
    ++result.matchedNodes;
    result.matchedBy[matcher.how[i]]++;
    if (sides[0].keys[i] == sides[1].keys[j]) {
      ++result.sameTag;
      continue;
    }
    const auto& ha = sides[0].hierarchy.nodes[i];
    const auto& hb = sides[1].hierarchy.nodes[j];
    result.tagDifferences.push_back({a.node(i).op_type(), i, j, a.node(i).name(), b.node(j).name(), ha.tag, hb.tag,
                                     ha.module, hb.module, ha.method, hb.method, matcher.how[i]});
  }
  result.unmatchedA = static_cast<size_t>(a.node_size()) - result.matchedNodes;
  for (int j : matcher.matchOfB) result.unmatchedB += j < 0 ? 1 : 0;
}

}  // namespace

StructureComparison compareStructure(const onnx::GraphProto& a, const onnx::GraphProto& b) {
  StructureComparison result;
  result.inputs = compareSignatures(a, b, true);
  result.outputs = compareSignatures(a, b, false);
  std::map<std::string, std::pair<size_t, size_t>> ops;
  for (const auto& n : a.node()) ops[n.op_type()].first++;
  for (const auto& n : b.node()) ops[n.op_type()].second++;
  for (const auto& [op, counts] : ops) {
    result.opTypeCounts.push_back({op, counts.first, counts.second});
    result.opTypesEqual = result.opTypesEqual && counts.first == counts.second;
  }
  result.initializers = compareInitializers(a, b);
  return result;
}

ComparisonReport compareModels(const onnx::ModelProto& a, const onnx::ModelProto& b, const std::string& labelA,
                               const std::string& labelB) {
  Side sides[2] = {{&a.graph(), readHierarchy(a.graph()), {}}, {&b.graph(), readHierarchy(b.graph()), {}}};
  const bool byPath = sides[0].hierarchy.source != sides[1].hierarchy.source;
  for (auto& s : sides)
    for (const auto& n : s.hierarchy.nodes)
      s.keys.push_back(n.tag.empty() ? "" : byPath ? (n.module.empty() ? "(root)" : n.module) : n.tag);

  ComparisonReport report;
  report.a = {labelA, a.graph().node_size(), hierarchySourceName(sides[0].hierarchy.source)};
  report.b = {labelB, b.graph().node_size(), hierarchySourceName(sides[1].hierarchy.source)};
  report.structure = compareStructure(a.graph(), b.graph());
  report.hierarchy.comparedBy = byPath ? "module_path" : "tag";
  compareModules(sides, byPath, report.hierarchy);
  NodeMatcher matcher(sides);
  matcher.matchAll();
  compareMatchedTags(sides, matcher, report.hierarchy);
  return report;
}

}  // namespace modelexport

#include "modelexport/model_comparison.h"

#include <map>
#include <set>
#include <sstream>

#include "modelexport/hierarchy_reader.h"
#include "modelexport/model_analysis.h"

namespace modelexport {
namespace {

nlohmann::json valueList(const google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& values,
                         const std::set<std::string>& skip) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& v : values) {
    if (skip.count(v.name())) continue;
    nlohmann::json shape = nlohmann::json::array();
    std::string dtype;
    if (v.type().has_tensor_type()) {
      dtype = onnxDataTypeName(v.type().tensor_type().elem_type());
      for (const auto& d : v.type().tensor_type().shape().dim())
        shape.push_back(d.has_dim_value() ? nlohmann::json(d.dim_value()) : nlohmann::json(d.dim_param()));
    }
    list.push_back({{"name", v.name()}, {"dtype", dtype}, {"shape", shape}});
  }
  return list;
}

std::string tensorBytes(onnx::TensorProto t) {
  t.clear_name();
  t.clear_doc_string();
  std::string bytes;
  t.SerializeToString(&bytes);
  return bytes;
}

struct Side {
  const onnx::GraphProto* graph;
  ModelHierarchy hierarchy;
  std::vector<std::string> keys;  // per node: tag or module path, "" when untagged
};

}  // namespace

nlohmann::json compareModels(const onnx::ModelProto& a, const onnx::ModelProto& b,
                             const std::string& labelA, const std::string& labelB) {
  Side sides[2] = {{&a.graph(), readHierarchy(a.graph()), {}}, {&b.graph(), readHierarchy(b.graph()), {}}};
  const bool byPath = sides[0].hierarchy.source != sides[1].hierarchy.source;
  for (auto& s : sides)
    for (const auto& n : s.hierarchy.nodes)
      s.keys.push_back(n.tag.empty() ? "" : byPath ? (n.module.empty() ? "(root)" : n.module) : n.tag);

  // Structure.
  nlohmann::json structure;
  for (const char* which : {"inputs", "outputs"}) {
    nlohmann::json lists[2];
    for (int k = 0; k < 2; ++k) {
      std::set<std::string> inits;
      for (const auto& i : sides[k].graph->initializer()) inits.insert(i.name());
      lists[k] = valueList(which[0] == 'i' ? sides[k].graph->input() : sides[k].graph->output(), inits);
    }
    structure[which] = {{"equal", lists[0] == lists[1]}, {"a", lists[0]}, {"b", lists[1]}};
  }
  std::map<std::string, std::pair<size_t, size_t>> ops;
  for (const auto& n : a.graph().node()) ops[n.op_type()].first++;
  for (const auto& n : b.graph().node()) ops[n.op_type()].second++;
  nlohmann::json opList = nlohmann::json::array();
  bool opsEqual = true;
  for (const auto& [op, counts] : ops) {
    opList.push_back({{"op_type", op}, {"a", counts.first}, {"b", counts.second}});
    opsEqual = opsEqual && counts.first == counts.second;
  }
  structure["op_types"] = {{"equal", opsEqual}, {"counts", opList}};
  std::map<std::string, const onnx::TensorProto*> initsB;
  for (const auto& t : b.graph().initializer()) initsB[t.name()] = &t;
  nlohmann::json onlyA = nlohmann::json::array(), onlyB = nlohmann::json::array(), shapeDiffers = nlohmann::json::array(),
                 bytesDiffer = nlohmann::json::array();
  size_t sameInits = 0;
  std::set<std::string> namesA;
  for (const auto& t : a.graph().initializer()) {
    namesA.insert(t.name());
    auto it = initsB.find(t.name());
    if (it == initsB.end()) {
      onlyA.push_back(t.name());
      continue;
    }
    const auto& u = *it->second;
    bool sameShape = t.data_type() == u.data_type() &&
                     std::vector<int64_t>(t.dims().begin(), t.dims().end()) == std::vector<int64_t>(u.dims().begin(), u.dims().end());
    if (!sameShape) shapeDiffers.push_back(t.name());
    else if (tensorBytes(t) != tensorBytes(u)) bytesDiffer.push_back(t.name());
    else ++sameInits;
  }
  for (const auto& t : b.graph().initializer())
    if (!namesA.count(t.name())) onlyB.push_back(t.name());
  structure["initializers"] = {{"a", a.graph().initializer_size()}, {"b", b.graph().initializer_size()},
                               {"identical", sameInits}, {"only_in_a", onlyA}, {"only_in_b", onlyB},
                               {"shape_or_dtype_differs", shapeDiffers}, {"bytes_differ", bytesDiffer}};

  // Hierarchy: modules and per-module own node counts.
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
  nlohmann::json modulesOnlyA = nlohmann::json::array(), modulesOnlyB = nlohmann::json::array(),
                 countDiffs = nlohmann::json::array();
  for (const auto& m : modules[0]) if (!modules[1].count(m)) modulesOnlyA.push_back(m);
  for (const auto& m : modules[1]) if (!modules[0].count(m)) modulesOnlyB.push_back(m);
  for (const auto& [key, counts] : moduleCounts)
    if (counts.first != counts.second) countDiffs.push_back({{"module", key}, {"a", counts.first}, {"b", counts.second}});

  // Node matching: op type and first output tensor (tensor names come from the source
  // program, while our node names follow the tags and so move with them), then unique
  // name, then op type and position within the module, then in the whole graph.
  const int na = a.graph().node_size(), nb = b.graph().node_size();
  std::vector<int> matchOfA(na, -1), matchOfB(nb, -1);
  std::vector<std::string> how(na);
  auto pair = [&](int i, int j, const char* method) {
    matchOfA[i] = j;
    matchOfB[j] = i;
    how[i] = method;
  };
  auto matchBy = [&](const char* method, auto keyOf) {
    std::map<std::string, std::vector<int>> candidates;
    for (int j = 0; j < nb; ++j)
      if (matchOfB[j] < 0) {
        std::string key = keyOf(b.graph().node(j), 1, j);
        if (!key.empty()) candidates[key].push_back(j);
      }
    std::map<std::string, size_t> used;
    for (int i = 0; i < na; ++i) {
      if (matchOfA[i] >= 0) continue;
      std::string key = keyOf(a.graph().node(i), 0, i);
      auto it = candidates.find(key);
      if (key.empty() || it == candidates.end()) continue;
      size_t& next = used[key];
      if (next < it->second.size()) pair(i, it->second[next++], method);
    }
  };
  std::map<std::string, int> nameCount[2];
  for (const auto& n : a.graph().node()) nameCount[0][n.name()]++;
  for (const auto& n : b.graph().node()) nameCount[1][n.name()]++;
  matchBy("output", [&](const onnx::NodeProto& n, int, int) {
    return n.output_size() && !n.output(0).empty() ? n.op_type() + "\n" + n.output(0) : std::string();
  });
  matchBy("name", [&](const onnx::NodeProto& n, int, int) {
    return !n.name().empty() && nameCount[0][n.name()] == 1 && nameCount[1][n.name()] == 1 ? n.name() : std::string();
  });
  // Ordinal keys count only nodes still unmatched on that side.
  auto ordinalMatch = [&](const char* method, bool withinModule) {
    std::map<std::string, int> ordinal[2];
    std::vector<std::string> keysA(na), keysB(nb);
    for (int i = 0; i < na; ++i)
      if (matchOfA[i] < 0) {
        std::string base = (withinModule ? sides[0].keys[i] + "\n" : "") + a.graph().node(i).op_type();
        keysA[i] = base + "\n" + std::to_string(ordinal[0][base]++);
      }
    for (int j = 0; j < nb; ++j)
      if (matchOfB[j] < 0) {
        std::string base = (withinModule ? sides[1].keys[j] + "\n" : "") + b.graph().node(j).op_type();
        keysB[j] = base + "\n" + std::to_string(ordinal[1][base]++);
      }
    matchBy(method, [&](const onnx::NodeProto&, int side, int index) { return side == 0 ? keysA[index] : keysB[index]; });
  };
  ordinalMatch("module_position", true);
  ordinalMatch("graph_position", false);

  std::map<std::string, size_t> matchedBy;
  size_t matched = 0, sameTag = 0;
  nlohmann::json differences = nlohmann::json::array();
  for (int i = 0; i < na; ++i) {
    int j = matchOfA[i];
    if (j < 0) continue;
    ++matched;
    matchedBy[how[i]]++;
    if (sides[0].keys[i] == sides[1].keys[j]) {
      ++sameTag;
      continue;
    }
    const auto& ha = sides[0].hierarchy.nodes[i];
    const auto& hb = sides[1].hierarchy.nodes[j];
    differences.push_back({{"op_type", a.graph().node(i).op_type()},
                           {"a_index", i}, {"b_index", j},
                           {"a_name", a.graph().node(i).name()}, {"b_name", b.graph().node(j).name()},
                           {"a_tag", ha.tag}, {"b_tag", hb.tag},
                           {"a_module", ha.module}, {"b_module", hb.module},
                           {"a_method", ha.method}, {"b_method", hb.method},
                           {"matched_by", how[i]}});
  }
  size_t unmatchedB = 0;
  for (int j = 0; j < nb; ++j) unmatchedB += matchOfB[j] < 0 ? 1 : 0;

  return {{"format", "modelexport-comparison"},
          {"version", 1},
          {"a", {{"file", labelA}, {"nodes", na}, {"hierarchy_source", hierarchySourceName(sides[0].hierarchy.source)}}},
          {"b", {{"file", labelB}, {"nodes", nb}, {"hierarchy_source", hierarchySourceName(sides[1].hierarchy.source)}}},
          {"structure", structure},
          {"hierarchy",
           {{"compared_by", byPath ? "module_path" : "tag"},
            {"modules_only_in_a", modulesOnlyA},
            {"modules_only_in_b", modulesOnlyB},
            {"module_node_counts", countDiffs},
            {"matched_nodes", matched},
            {"matched_by", matchedBy},
            {"unmatched_a", static_cast<size_t>(na) - matched},
            {"unmatched_b", unmatchedB},
            {"same_tag", sameTag},
            {"different_tag", differences.size()},
            {"tag_differences", differences}}}};
}

std::string renderComparisonSummary(const nlohmann::json& r) {
  std::ostringstream out;
  const auto& s = r["structure"];
  const auto& h = r["hierarchy"];
  out << "A: " << r["a"]["file"].get<std::string>() << " (" << r["a"]["nodes"] << " nodes, hierarchy from "
      << r["a"]["hierarchy_source"].get<std::string>() << ")\n";
  out << "B: " << r["b"]["file"].get<std::string>() << " (" << r["b"]["nodes"] << " nodes, hierarchy from "
      << r["b"]["hierarchy_source"].get<std::string>() << ")\n\n";
  out << "Structure:\n";
  out << "  inputs:  " << (s["inputs"]["equal"].get<bool>() ? "same" : "differ") << "\n";
  out << "  outputs: " << (s["outputs"]["equal"].get<bool>() ? "same" : "differ") << "\n";
  out << "  op types: " << (s["op_types"]["equal"].get<bool>() ? "same counts" : "counts differ") << "\n";
  for (const auto& c : s["op_types"]["counts"])
    if (c["a"] != c["b"]) out << "    " << c["op_type"].get<std::string>() << ": " << c["a"] << " vs " << c["b"] << "\n";
  const auto& i = s["initializers"];
  out << "  initializers: " << i["a"] << " vs " << i["b"] << "; " << i["identical"] << " identical, "
      << i["only_in_a"].size() << " only in A, " << i["only_in_b"].size() << " only in B, "
      << i["shape_or_dtype_differs"].size() << " shape/dtype differ, " << i["bytes_differ"].size() << " bytes differ\n\n";
  out << "Hierarchy (compared by " << h["compared_by"].get<std::string>() << "):\n";
  auto listSome = [&](const char* title, const nlohmann::json& items) {
    out << "  " << title << ": " << items.size() << "\n";
    for (size_t k = 0; k < items.size() && k < 10; ++k) out << "    " << items[k].get<std::string>() << "\n";
    if (items.size() > 10) out << "    ...\n";
  };
  listSome("modules only in A", h["modules_only_in_a"]);
  listSome("modules only in B", h["modules_only_in_b"]);
  out << "  modules whose node count differs: " << h["module_node_counts"].size() << "\n";
  for (size_t k = 0; k < h["module_node_counts"].size() && k < 10; ++k) {
    const auto& c = h["module_node_counts"][k];
    out << "    " << c["module"].get<std::string>() << ": " << c["a"] << " vs " << c["b"] << "\n";
  }
  if (h["module_node_counts"].size() > 10) out << "    ... (--output-file has them all)\n";
  out << "  matched nodes: " << h["matched_nodes"] << " (";
  bool first = true;
  for (const auto& [method, count] : h["matched_by"].items()) {
    out << (first ? "" : ", ") << method << " " << count;
    first = false;
  }
  out << "); unmatched: " << h["unmatched_a"] << " in A, " << h["unmatched_b"] << " in B\n";
  out << "  same tag: " << h["same_tag"] << ", different tag: " << h["different_tag"] << "\n";
  for (size_t k = 0; k < h["tag_differences"].size() && k < 15; ++k) {
    const auto& d = h["tag_differences"][k];
    out << "    " << d["op_type"].get<std::string>() << " A " << d["a_tag"].get<std::string>() << " ("
        << d["a_method"].get<std::string>() << ")  B " << d["b_tag"].get<std::string>() << " ("
        << d["b_method"].get<std::string>() << ")\n";
  }
  if (h["tag_differences"].size() > 15) out << "    ... (--output-file has them all)\n";
  return out.str();
}

}  // namespace modelexport

#include "modelexport/runtime_profile.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <unordered_map>

#include "modelexport/derived_node_names.h"
#include "modelexport/errors.h"
#include "modelexport/hierarchy_stamps.h"

namespace modelexport {
namespace {

const std::string kKernelSuffix = "_kernel_time";

bool endsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string stringArg(const nlohmann::json& args, const char* key) {
  if (!args.is_object()) return "";
  auto it = args.find(key);
  return it != args.end() && it->is_string() ? it->get<std::string>() : "";
}

// Where one profiled node's time goes.
struct Attribution {
  int module = -1;  // index into hierarchy.modules; -1: unattributed
  std::string how;  // kAttributedBy*; empty when unattributed
};

struct Accumulated {
  double us = 0;
  size_t calls = 0;
  void add(double d) {
    us += d;
    ++calls;
  }
};

}  // namespace

RuntimeProfile readRuntimeProfile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UserError(path + ": cannot read the profile");
  nlohmann::json trace = nlohmann::json::parse(in, nullptr, false);
  if (trace.is_discarded()) throw UserError(path + ": not a JSON file (expected an onnxruntime profile)");
  if (trace.is_object() && trace.contains("traceEvents")) trace = trace["traceEvents"];
  if (!trace.is_array())
    throw UserError(path + ": not an onnxruntime profile (expected a JSON array of trace events)");
  RuntimeProfile profile;
  for (const auto& event : trace) {
    if (!event.is_object() || !event.contains("name") || !event["name"].is_string()) continue;
    const std::string name = event["name"].get<std::string>();
    const double dur = event.contains("dur") && event["dur"].is_number() ? event["dur"].get<double>() : 0.0;
    const std::string cat = event.contains("cat") && event["cat"].is_string() ? event["cat"].get<std::string>() : "";
    if (cat == "Session" && name == "model_run") {
      ++profile.runs;
      profile.modelRunUs += dur;
    } else if (cat == "Node" && endsWith(name, kKernelSuffix)) {
      const auto args = event.contains("args") ? event["args"] : nlohmann::json();
      profile.kernels.push_back(KernelEvent{name.substr(0, name.size() - kKernelSuffix.size()),
                                            stringArg(args, "op_name"), stringArg(args, "provider"), dur});
    }
  }
  if (profile.kernels.empty())
    throw UserError(path + ": no kernel events (<node>_kernel_time) in the profile; profile a run with "
                           "SessionOptions.enable_profiling = True");
  profile.runs = std::max<size_t>(profile.runs, 1);
  return profile;
}

nlohmann::json buildProfileReport(const onnx::ModelProto& model, const ModelHierarchy& hierarchy,
                                  const RuntimeProfile& profile, const ProfileOptions& options) {
  const auto& graph = model.graph();
  const auto& modules = hierarchy.modules;
  if (!options.filterTag.empty() && !hierarchy.findModule(options.filterTag))
    throw UserError("--filter-tag " + options.filterTag + ": no module with that tag in " + options.modelLabel +
                    (modules.empty() ? " (the file carries no hierarchy)" : " (the root is " + modules[0].tag + ")"));
  std::unordered_map<std::string, int> nodeByName, producerOf, moduleByTag;
  for (int i = 0; i < graph.node_size(); ++i) {
    if (!graph.node(i).name().empty()) nodeByName.emplace(graph.node(i).name(), i);
    for (const auto& out : graph.node(i).output()) producerOf.emplace(out, i);
  }
  for (size_t m = 0; m < modules.size(); ++m) moduleByTag.emplace(modules[m].tag, static_cast<int>(m));

  auto moduleOfNode = [&](int node) {
    const std::string& tag = hierarchy.nodes.at(static_cast<size_t>(node)).tag;
    if (tag.empty()) return -1;
    auto it = moduleByTag.find(joinTag(tagSegments(tag), tagSegments(tag).size()));
    return it == moduleByTag.end() ? -1 : it->second;
  };
  // The innermost module whose tag is a scope of the name ("/A/B/Op_new" -> /A/B).
  auto moduleOfScope = [&](const std::string& name) {
    if (name.empty() || name[0] != '/') return -1;
    auto segments = tagSegments(name);
    for (size_t k = segments.size(); k-- > 1;) {
      auto it = moduleByTag.find(joinTag(segments, k));
      if (it != moduleByTag.end()) return it->second;
    }
    return -1;
  };
  std::unordered_map<std::string, Attribution> cache;
  auto attribute = [&](const std::string& name) -> const Attribution& {
    auto it = cache.find(name);
    if (it != cache.end()) return it->second;
    Attribution a;
    if (auto exact = nodeByName.find(name); exact != nodeByName.end()) {
      a = {moduleOfNode(exact->second), kAttributedByName};
    } else if (auto derived = findNodeByDerivedName(name, nodeByName)) {
      a = {moduleOfNode(*derived), kAttributedByDerivation};
    } else if (auto producer = findNodeByDerivedName(name, producerOf)) {
      a = {moduleOfNode(*producer), kAttributedByDerivation};  // "<tensor>_nchwc": its producer
    } else {
      a = {moduleOfScope(name), kAttributedByScope};
    }
    if (a.module < 0) a.how.clear();
    return cache.emplace(name, a).first->second;
  };

  const double runs = static_cast<double>(profile.runs);
  double runUs = 0;
  std::vector<Accumulated> own(modules.size());
  std::map<std::string, Accumulated> opTypes, unattributed, byNode;
  std::map<std::string, std::pair<std::string, std::string>> nodeFacts;  // op type, provider
  std::map<std::string, size_t> methods;
  auto selected = [&](int module) {
    return options.filterTag.empty() || (module >= 0 && tagHasPrefix(modules[module].tag, options.filterTag));
  };
  for (const auto& k : profile.kernels) {
    runUs += k.durationUs;
    const Attribution& a = attribute(k.node);
    if (!selected(a.module)) continue;
    opTypes[k.opType].add(k.durationUs);
    byNode[k.node].add(k.durationUs);
    nodeFacts[k.node] = {k.opType, k.provider};
    if (a.module < 0) unattributed[k.node].add(k.durationUs);
    else own[a.module].add(k.durationUs);
  }
  runUs /= runs;
  auto share = [&](double us) { return runUs > 0 ? us / runUs : 0.0; };
  auto perRun = [&](double us) { return us / runs; };
  auto callsPerRun = [&](size_t calls) { return static_cast<double>(calls) / runs; };

  // Totals bottom-up: modules[] lists parents before children.
  std::vector<Accumulated> total = own;
  for (size_t m = modules.size(); m-- > 0;)
    if (modules[m].parent >= 0) {
      total[modules[m].parent].us += total[m].us;
      total[modules[m].parent].calls += total[m].calls;
    }
  nlohmann::json moduleList = nlohmann::json::array();
  std::function<void(int, int)> visit = [&](int m, int depth) {
    if (selected(m))
      moduleList.push_back({{"tag", modules[m].tag},
                            {"path", modules[m].path},
                            {"parent", modules[m].parent < 0 ? nlohmann::json(nullptr) : nlohmann::json(modules[modules[m].parent].tag)},
                            {"depth", depth},
                            {"own_us", perRun(own[m].us)},
                            {"total_us", perRun(total[m].us)},
                            {"own_share", share(perRun(own[m].us))},
                            {"total_share", share(perRun(total[m].us))},
                            {"own_calls", callsPerRun(own[m].calls)},
                            {"total_calls", callsPerRun(total[m].calls)}});
    for (int c : modules[m].children) visit(c, depth + 1);
  };
  if (!modules.empty()) visit(0, 0);

  std::vector<size_t> order;
  for (size_t m = 0; m < modules.size(); ++m)
    if (selected(static_cast<int>(m)) && own[m].calls > 0) order.push_back(m);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return own[a].us > own[b].us; });
  nlohmann::json topModules = nlohmann::json::array();
  for (size_t i = 0; i < order.size() && i < options.top; ++i)
    topModules.push_back({{"tag", modules[order[i]].tag},
                          {"own_us", perRun(own[order[i]].us)},
                          {"own_share", share(perRun(own[order[i]].us))},
                          {"own_calls", callsPerRun(own[order[i]].calls)}});
  std::vector<std::pair<std::string, Accumulated>> ops(opTypes.begin(), opTypes.end());
  std::stable_sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.second.us > b.second.us; });
  nlohmann::json opList = nlohmann::json::array();
  for (const auto& [op, acc] : ops)
    opList.push_back({{"op_type", op}, {"us", perRun(acc.us)}, {"share", share(perRun(acc.us))},
                      {"calls", callsPerRun(acc.calls)}});
  nlohmann::json topOps = nlohmann::json::array();
  for (size_t i = 0; i < opList.size() && i < options.top; ++i) topOps.push_back(opList[i]);

  nlohmann::json nodes = nlohmann::json::array(), unattributedList = nlohmann::json::array();
  double attributedUs = 0, unattributedUs = 0;
  for (const auto& [name, acc] : byNode) {
    const Attribution& a = cache.at(name);
    const auto& facts = nodeFacts.at(name);
    nlohmann::json entry = {{"name", name}, {"op_type", facts.first}, {"provider", facts.second},
                            {"us", perRun(acc.us)}, {"calls", callsPerRun(acc.calls)}};
    if (a.module < 0) {
      unattributedUs += acc.us;
      unattributedList.push_back(entry);
      continue;
    }
    attributedUs += acc.us;
    methods[a.how]++;
    entry["module"] = modules[a.module].tag;
    entry["attribution"] = a.how;
    nodes.push_back(entry);
  }
  auto bySlowest = [](const nlohmann::json& a, const nlohmann::json& b) { return a["us"] > b["us"]; };
  std::stable_sort(nodes.begin(), nodes.end(), bySlowest);
  std::stable_sort(unattributedList.begin(), unattributedList.end(), bySlowest);

  return {{"format", "modelexport-profile"},
          {"version", 1},
          {"file", options.modelLabel},
          {"profile", options.profileLabel},
          {"hierarchy_source", hierarchySourceName(hierarchy.source)},
          {"filter", options.filterTag.empty() ? nlohmann::json(nullptr) : nlohmann::json(options.filterTag)},
          {"runs", profile.runs},
          {"kernel_events", profile.kernels.size()},
          {"run_us", runUs},
          {"model_run_us", profile.modelRunUs / runs},
          {"selected_us", perRun(attributedUs + unattributedUs)},
          {"attributed_us", perRun(attributedUs)},
          {"unattributed_us", perRun(unattributedUs)},
          {"attribution", methods},
          {"modules", moduleList},
          {"top_modules", topModules},
          {"op_types", opList},
          {"top_op_types", topOps},
          {"nodes", nodes},
          {"unattributed", unattributedList}};
}

}  // namespace modelexport

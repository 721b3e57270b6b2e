#include "modelexport/runtime_profile.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <unordered_map>

#include <nlohmann/json.hpp>

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

// Finds the module of a profiled node name: a model node of that name, else the node (or
// the tensor's producer) its name derives from, else a module scope in the name.
class KernelAttributor {
 public:
  KernelAttributor(const onnx::GraphProto& graph, const ModelHierarchy& hierarchy) : hierarchy_(hierarchy) {
    for (int i = 0; i < graph.node_size(); ++i) {
      if (!graph.node(i).name().empty()) nodeByName_.emplace(graph.node(i).name(), i);
      for (const auto& out : graph.node(i).output()) producerOf_.emplace(out, i);
    }
    for (size_t m = 0; m < hierarchy.modules.size(); ++m)
      moduleByTag_.emplace(hierarchy.modules[m].tag, static_cast<int>(m));
  }

  const Attribution& attribute(const std::string& name) {
    auto it = cache_.find(name);
    if (it != cache_.end()) return it->second;
    Attribution a;
    if (auto exact = nodeByName_.find(name); exact != nodeByName_.end()) {
      a = {moduleOfNode(exact->second), kAttributedByName};
    } else if (auto derived = findNodeByDerivedName(name, nodeByName_)) {
      a = {moduleOfNode(*derived), kAttributedByDerivation};
    } else if (auto producer = findNodeByDerivedName(name, producerOf_)) {
      a = {moduleOfNode(*producer), kAttributedByDerivation};  // "<tensor>_nchwc": its producer
    } else {
      a = {moduleOfScope(name), kAttributedByScope};
    }
    if (a.module < 0) a.how.clear();
    return cache_.emplace(name, a).first->second;
  }

 private:
  int moduleOfNode(int node) const {
    const std::string& tag = hierarchy_.nodes.at(static_cast<size_t>(node)).tag;
    if (tag.empty()) return -1;
    auto it = moduleByTag_.find(joinTag(tagSegments(tag), tagSegments(tag).size()));
    return it == moduleByTag_.end() ? -1 : it->second;
  }

  // The innermost module whose tag is a scope of the name ("/A/B/Op_new" -> /A/B).
  int moduleOfScope(const std::string& name) const {
    if (name.empty() || name[0] != '/') return -1;
    auto segments = tagSegments(name);
    for (size_t k = segments.size(); k-- > 1;) {
      auto it = moduleByTag_.find(joinTag(segments, k));
      if (it != moduleByTag_.end()) return it->second;
    }
    return -1;
  }

  const ModelHierarchy& hierarchy_;
  std::unordered_map<std::string, int> nodeByName_, producerOf_, moduleByTag_;
  std::unordered_map<std::string, Attribution> cache_;
};

// The selected kernels' time summed per module (own), op type and node.
struct KernelTotals {
  double runUs = 0;  // all kernels, selected or not, over all runs
  std::vector<Accumulated> own;
  std::map<std::string, Accumulated> opTypes, byNode;
  std::map<std::string, std::pair<std::string, std::string>> nodeFacts;  // op type, provider
  std::map<std::string, Attribution> attribution;                        // per node in byNode
};

// Converts sums over all runs into per-run figures.
struct PerRun {
  double runs = 1;
  double runUs = 0;  // per run
  double us(double total) const { return total / runs; }
  double share(double perRunUs) const { return runUs > 0 ? perRunUs / runUs : 0.0; }
  double calls(size_t total) const { return static_cast<double>(total) / runs; }
};

KernelTotals sumKernels(const RuntimeProfile& profile, KernelAttributor& attributor, size_t moduleCount,
                        const std::function<bool(int)>& selected) {
  KernelTotals totals;
  totals.own.resize(moduleCount);
  for (const auto& k : profile.kernels) {
    totals.runUs += k.durationUs;
    const Attribution& a = attributor.attribute(k.node);
    if (!selected(a.module)) continue;
    totals.opTypes[k.opType].add(k.durationUs);
    totals.byNode[k.node].add(k.durationUs);
    totals.nodeFacts[k.node] = {k.opType, k.provider};
    totals.attribution[k.node] = a;
    if (a.module >= 0) totals.own[a.module].add(k.durationUs);
  }
  return totals;
}

// Every selected module, depth first, with own and total (own plus descendants') time.
std::vector<ProfiledModule> moduleTimes(const std::vector<HierarchyModule>& modules, const std::vector<Accumulated>& own,
                                        const PerRun& perRun, const std::function<bool(int)>& selected) {
  // Totals bottom-up: modules[] lists parents before children.
  std::vector<Accumulated> total = own;
  for (size_t m = modules.size(); m-- > 0;)
    if (modules[m].parent >= 0) {
      total[modules[m].parent].us += total[m].us;
      total[modules[m].parent].calls += total[m].calls;
    }
  std::vector<ProfiledModule> list;
  std::function<void(int, int)> visit = [&](int m, int depth) {
    if (selected(m)) {
      ProfiledModule row;
      row.tag = modules[m].tag;
      row.path = modules[m].path;
      if (modules[m].parent >= 0) row.parent = modules[modules[m].parent].tag;
      row.depth = depth;
      row.ownUs = perRun.us(own[m].us);
      row.totalUs = perRun.us(total[m].us);
      row.ownShare = perRun.share(row.ownUs);
      row.totalShare = perRun.share(row.totalUs);
      row.ownCalls = perRun.calls(own[m].calls);
      row.totalCalls = perRun.calls(total[m].calls);
      list.push_back(row);
    }
    for (int c : modules[m].children) visit(c, depth + 1);
  };
  if (!modules.empty()) visit(0, 0);
  return list;
}

std::vector<ModuleTime> slowestModules(const std::vector<HierarchyModule>& modules, const std::vector<Accumulated>& own,
                                       const PerRun& perRun, const std::function<bool(int)>& selected, size_t top) {
  std::vector<size_t> order;
  for (size_t m = 0; m < modules.size(); ++m)
    if (selected(static_cast<int>(m)) && own[m].calls > 0) order.push_back(m);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return own[a].us > own[b].us; });
  std::vector<ModuleTime> list;
  for (size_t i = 0; i < order.size() && i < top; ++i) {
    const Accumulated& acc = own[order[i]];
    list.push_back({modules[order[i]].tag, perRun.us(acc.us), perRun.share(perRun.us(acc.us)), perRun.calls(acc.calls)});
  }
  return list;
}

std::vector<OpTypeTime> opTypeTimes(const std::map<std::string, Accumulated>& opTypes, const PerRun& perRun) {
  std::vector<std::pair<std::string, Accumulated>> ops(opTypes.begin(), opTypes.end());
  std::stable_sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.second.us > b.second.us; });
  std::vector<OpTypeTime> list;
  for (const auto& [op, acc] : ops)
    list.push_back({op, perRun.us(acc.us), perRun.share(perRun.us(acc.us)), perRun.calls(acc.calls)});
  return list;
}

// Fills the report's node lists (slowest first) and attributed/unattributed times.
void nodeTimes(const KernelTotals& totals, const std::vector<HierarchyModule>& modules, const PerRun& perRun,
               ProfileReport& report) {
  double attributedUs = 0, unattributedUs = 0;
  for (const auto& [name, acc] : totals.byNode) {
    const Attribution& a = totals.attribution.at(name);
    const auto& facts = totals.nodeFacts.at(name);
    NodeTime entry{name, facts.first, facts.second, perRun.us(acc.us), perRun.calls(acc.calls), "", ""};
    if (a.module < 0) {
      unattributedUs += acc.us;
      report.unattributed.push_back(entry);
      continue;
    }
    attributedUs += acc.us;
    report.attribution[a.how]++;
    entry.module = modules[a.module].tag;
    entry.attribution = a.how;
    report.nodes.push_back(entry);
  }
  auto bySlowest = [](const NodeTime& a, const NodeTime& b) { return a.us > b.us; };
  std::stable_sort(report.nodes.begin(), report.nodes.end(), bySlowest);
  std::stable_sort(report.unattributed.begin(), report.unattributed.end(), bySlowest);
  report.selectedUs = perRun.us(attributedUs + unattributedUs);
  report.attributedUs = perRun.us(attributedUs);
  report.unattributedUs = perRun.us(unattributedUs);
}

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

ProfileReport buildProfileReport(const onnx::ModelProto& model, const ModelHierarchy& hierarchy,
                                 const RuntimeProfile& profile, const ProfileOptions& options) {
  const auto& modules = hierarchy.modules;
  if (!options.filterTag.empty() && !hierarchy.findModule(options.filterTag))
    throw UserError("--filter-tag " + options.filterTag + ": no module with that tag in " + options.modelLabel +
                    (modules.empty() ? " (the file carries no hierarchy)" : " (the root is " + modules[0].tag + ")"));
  const std::function<bool(int)> selected = [&](int module) {
    return options.filterTag.empty() || (module >= 0 && tagHasPrefix(modules[module].tag, options.filterTag));
  };
  KernelAttributor attributor(model.graph(), hierarchy);
  const KernelTotals totals = sumKernels(profile, attributor, modules.size(), selected);
  PerRun perRun{static_cast<double>(profile.runs), 0};
  perRun.runUs = perRun.us(totals.runUs);

  ProfileReport report;
  report.file = options.modelLabel;
  report.profile = options.profileLabel;
  report.hierarchySource = hierarchySourceName(hierarchy.source);
  if (!options.filterTag.empty()) report.filter = options.filterTag;
  report.runs = profile.runs;
  report.kernelEvents = profile.kernels.size();
  report.runUs = perRun.runUs;
  report.modelRunUs = profile.modelRunUs / perRun.runs;
  report.modules = moduleTimes(modules, totals.own, perRun, selected);
  report.topModules = slowestModules(modules, totals.own, perRun, selected, options.top);
  report.opTypes = opTypeTimes(totals.opTypes, perRun);
  report.topOpTypes.assign(report.opTypes.begin(),
                           report.opTypes.begin() + static_cast<std::ptrdiff_t>(std::min(options.top, report.opTypes.size())));
  nodeTimes(totals, modules, perRun, report);
  return report;
}

}  // namespace modelexport

#include "modelexport/report_json.h"

namespace modelexport {
namespace {

using nlohmann::json;

json orNull(const std::optional<std::string>& text) { return text ? json(*text) : json(nullptr); }

json toJson(const TensorSignature& signature) {
  json shape = json::array();
  for (const auto& d : signature.shape) shape.push_back(d.size ? json(*d.size) : json(d.param));
  return {{"name", signature.name}, {"dtype", signature.dtype}, {"shape", shape}};
}

json toJson(const ModuleNodeCount& m) {
  return {{"tag", m.tag},         {"path", m.path},           {"parent", orNull(m.parent)},
          {"depth", m.depth},     {"own_nodes", m.ownNodes},  {"total_nodes", m.totalNodes}};
}

json toJson(const AnalyzedNode& n) {
  return {{"index", n.index},
          {"name", n.name},
          {"op_type", n.opType},
          {"domain", n.domain},
          {"hierarchy_path", orNull(n.path)},
          {"hierarchy_tags", n.tags},
          {"hierarchy_method", orNull(n.method)},
          {"hierarchy_module", orNull(n.module)},
          {"inputs", n.inputs},
          {"outputs", n.outputs}};
}

json toJson(const ProfiledModule& m) {
  return {{"tag", m.tag},
          {"path", m.path},
          {"parent", orNull(m.parent)},
          {"depth", m.depth},
          {"own_us", m.ownUs},
          {"total_us", m.totalUs},
          {"own_share", m.ownShare},
          {"total_share", m.totalShare},
          {"own_calls", m.ownCalls},
          {"total_calls", m.totalCalls}};
}

json toJson(const ModuleTime& m) {
  return {{"tag", m.tag}, {"own_us", m.ownUs}, {"own_share", m.ownShare}, {"own_calls", m.ownCalls}};
}

json toJson(const OpTypeTime& o) {
  return {{"op_type", o.opType}, {"us", o.us}, {"share", o.share}, {"calls", o.calls}};
}

json toJson(const NodeTime& n) {
  json entry = {{"name", n.name}, {"op_type", n.opType}, {"provider", n.provider}, {"us", n.us}, {"calls", n.calls}};
  if (!n.attribution.empty()) {
    entry["module"] = n.module;
    entry["attribution"] = n.attribution;
  }
  return entry;
}

json toJson(const OpTypeCount& c) { return {{"op_type", c.opType}, {"a", c.a}, {"b", c.b}}; }

json toJson(const ModuleCountDifference& d) { return {{"module", d.module}, {"a", d.a}, {"b", d.b}}; }

json toJson(const TagDifference& d) {
  return {{"op_type", d.opType},   {"a_index", d.aIndex},   {"b_index", d.bIndex},   {"a_name", d.aName},
          {"b_name", d.bName},     {"a_tag", d.aTag},       {"b_tag", d.bTag},       {"a_module", d.aModule},
          {"b_module", d.bModule}, {"a_method", d.aMethod}, {"b_method", d.bMethod}, {"matched_by", d.matchedBy}};
}

template <typename T>
json listJson(const std::vector<T>& items) {
  json list = json::array();
  for (const auto& item : items) list.push_back(toJson(item));
  return list;
}

json toJson(const ModelFacts& model) {
  json opsets = json::array();
  for (const auto& o : model.opsets) opsets.push_back({{"domain", o.domain}, {"version", o.version}});
  return {{"ir_version", model.irVersion},
          {"opset_imports", opsets},
          {"producer_name", model.producerName},
          {"producer_version", model.producerVersion},
          {"graph_name", model.graphName},
          {"inputs", listJson(model.inputs)},
          {"outputs", listJson(model.outputs)},
          {"parameters",
           {{"initializers", model.initializers}, {"elements", model.parameterElements}, {"bytes", model.parameterBytes}}}};
}

json toJson(const SignatureComparison& c) {
  return {{"equal", c.equal}, {"a", listJson(c.a)}, {"b", listJson(c.b)}};
}

json toJson(const StructureComparison& s) {
  const InitializerComparison& i = s.initializers;
  return {{"inputs", toJson(s.inputs)},
          {"outputs", toJson(s.outputs)},
          {"op_types", {{"equal", s.opTypesEqual}, {"counts", listJson(s.opTypeCounts)}}},
          {"initializers",
           {{"a", i.a},
            {"b", i.b},
            {"identical", i.identical},
            {"only_in_a", i.onlyInA},
            {"only_in_b", i.onlyInB},
            {"shape_or_dtype_differs", i.shapeOrDtypeDiffers},
            {"bytes_differ", i.bytesDiffer}}}};
}

json toJson(const HierarchyComparison& h) {
  return {{"compared_by", h.comparedBy},
          {"modules_only_in_a", h.modulesOnlyInA},
          {"modules_only_in_b", h.modulesOnlyInB},
          {"module_node_counts", listJson(h.moduleNodeCounts)},
          {"matched_nodes", h.matchedNodes},
          {"matched_by", h.matchedBy},
          {"unmatched_a", h.unmatchedA},
          {"unmatched_b", h.unmatchedB},
          {"same_tag", h.sameTag},
          {"different_tag", h.tagDifferences.size()},
          {"tag_differences", listJson(h.tagDifferences)}};
}

json toJson(const ComparedFile& f) {
  return {{"file", f.file}, {"nodes", f.nodes}, {"hierarchy_source", f.hierarchySource}};
}

json toJson(const HierarchyCoverage& h) {
  return {{"source", h.source},
          {"filter", orNull(h.filter)},
          {"exclude", orNull(h.exclude)},
          {"nodes_total", h.nodesTotal},
          {"nodes_tagged", h.nodesTagged},
          {"coverage", h.coverage},
          {"nodes_selected", h.nodesSelected},
          {"nodes_selected_tagged", h.nodesSelectedTagged},
          {"methods", h.methods},
          {"modules", listJson(h.modules)}};
}

}  // namespace

json toJson(const AnalysisReport& report) {
  return {{"format", "modelexport-analysis"},
          {"version", 1},
          {"file", report.file},
          {"model", toJson(report.model)},
          {"hierarchy", toJson(report.hierarchy)},
          {"op_types", report.opTypes},
          {"nodes", listJson(report.nodes)}};
}

json toJson(const ComparisonReport& report) {
  return {{"format", "modelexport-comparison"},
          {"version", 1},
          {"a", toJson(report.a)},
          {"b", toJson(report.b)},
          {"structure", toJson(report.structure)},
          {"hierarchy", toJson(report.hierarchy)}};
}

json toJson(const ValidationReport& report, const RepairReport* repair) {
  json problems = json::array();
  for (const auto& p : report.problems) problems.push_back({{"check", p.check}, {"node", p.node}, {"message", p.message}});
  json result = {
      {"file", report.file},
      {"valid", report.valid()},
      {"checker", {{"passed", report.checkerPassed}, {"error", report.checkerPassed ? json(nullptr) : json(report.checkerError)}}},
      {"consistency_checked", report.consistencyChecked},
      {"hierarchy_source", report.consistencyChecked ? json(report.hierarchySource) : json(nullptr)},
      {"sidecar", report.sidecarPath.empty() ? json(nullptr) : json(report.sidecarPath)},
      {"problems", problems}};
  if (repair) {
    json changes = json::array();
    for (const auto& c : repair->changes) changes.push_back(c.node + ": " + c.change);
    result["repair"] = {{"written", repair->written}, {"backup", orNull(repair->backup)}, {"changes", changes}};
  }
  return result;
}

json toJson(const ProfileReport& report) {
  return {{"format", "modelexport-profile"},
          {"version", 1},
          {"file", report.file},
          {"profile", report.profile},
          {"hierarchy_source", report.hierarchySource},
          {"filter", orNull(report.filter)},
          {"runs", report.runs},
          {"kernel_events", report.kernelEvents},
          {"run_us", report.runUs},
          {"model_run_us", report.modelRunUs},
          {"selected_us", report.selectedUs},
          {"attributed_us", report.attributedUs},
          {"unattributed_us", report.unattributedUs},
          {"attribution", report.attribution},
          {"modules", listJson(report.modules)},
          {"top_modules", listJson(report.topModules)},
          {"op_types", listJson(report.opTypes)},
          {"top_op_types", listJson(report.topOpTypes)},
          {"nodes", listJson(report.nodes)},
          {"unattributed", listJson(report.unattributed)}};
}

}  // namespace modelexport

#include "modelexport/model_analysis.h"

#include <map>

#include "modelexport/errors.h"
#include "modelexport/hierarchy_stamps.h"

namespace modelexport {
namespace {

size_t elementBytes(int dataType) {
  switch (dataType) {
    case onnx::TensorProto::FLOAT: case onnx::TensorProto::INT32: case onnx::TensorProto::UINT32: return 4;
    case onnx::TensorProto::DOUBLE: case onnx::TensorProto::INT64: case onnx::TensorProto::UINT64:
    case onnx::TensorProto::COMPLEX64: return 8;
    case onnx::TensorProto::FLOAT16: case onnx::TensorProto::BFLOAT16: case onnx::TensorProto::INT16:
    case onnx::TensorProto::UINT16: return 2;
    case onnx::TensorProto::COMPLEX128: return 16;
    default: return 1;
  }
}

nlohmann::json valueInfoJson(const onnx::ValueInfoProto& info) {
  nlohmann::json shape = nlohmann::json::array();
  std::string dtype;
  if (info.type().has_tensor_type()) {
    const auto& t = info.type().tensor_type();
    dtype = onnxDataTypeName(t.elem_type());
    for (const auto& d : t.shape().dim()) {
      if (d.has_dim_value()) shape.push_back(d.dim_value());
      else shape.push_back(d.dim_param().empty() ? "?" : d.dim_param());
    }
  }
  return {{"name", info.name()}, {"dtype", dtype}, {"shape", shape}};
}

}  // namespace

std::string onnxDataTypeName(int dataType) {
  switch (dataType) {
    case onnx::TensorProto::FLOAT: return "float32";
    case onnx::TensorProto::DOUBLE: return "float64";
    case onnx::TensorProto::FLOAT16: return "float16";
    case onnx::TensorProto::BFLOAT16: return "bfloat16";
    case onnx::TensorProto::INT64: return "int64";
    case onnx::TensorProto::INT32: return "int32";
    case onnx::TensorProto::INT16: return "int16";
    case onnx::TensorProto::INT8: return "int8";
    case onnx::TensorProto::UINT8: return "uint8";
    case onnx::TensorProto::UINT16: return "uint16";
    case onnx::TensorProto::UINT32: return "uint32";
    case onnx::TensorProto::UINT64: return "uint64";
    case onnx::TensorProto::BOOL: return "bool";
    case onnx::TensorProto::STRING: return "string";
    case onnx::TensorProto::COMPLEX64: return "complex64";
    case onnx::TensorProto::COMPLEX128: return "complex128";
    default: return "undefined";
  }
}

bool nodeMatchesFilter(const NodeHierarchy& node, const std::string& filterTag) {
  if (filterTag.empty()) return true;
  if (filterTag == kAuxiliaryFilter) return node.method == "project";
  return !node.tag.empty() && tagHasPrefix(node.tag, filterTag);
}

nlohmann::json buildAnalysisReport(const onnx::ModelProto& model, const ModelHierarchy& hierarchy,
                                   const std::string& filterTag, const std::string& fileLabel,
                                   const std::string& excludeTag) {
  const auto& graph = model.graph();
  const bool byTag = !filterTag.empty() && filterTag != kAuxiliaryFilter;
  auto requireModule = [&](const char* option, const std::string& tag) {
    if (!hierarchy.findModule(tag))
      throw UserError(std::string(option) + " " + tag + ": no module with that tag in " + fileLabel +
                      (hierarchy.modules.empty() ? " (the file carries no hierarchy)"
                                                 : " (the root is " + hierarchy.modules[0].tag + ")"));
  };
  if (byTag) requireModule("--filter-tag", filterTag);
  if (!excludeTag.empty() && excludeTag != kAuxiliaryFilter) requireModule("--exclude-tag", excludeTag);

  nlohmann::json opsets = nlohmann::json::array();
  for (const auto& o : model.opset_import()) opsets.push_back({{"domain", o.domain()}, {"version", o.version()}});
  nlohmann::json inputs = nlohmann::json::array(), outputs = nlohmann::json::array();
  std::map<std::string, bool> initializerNames;
  for (const auto& init : graph.initializer()) initializerNames[init.name()] = true;
  for (const auto& in : graph.input())
    if (!initializerNames.count(in.name())) inputs.push_back(valueInfoJson(in));
  for (const auto& out : graph.output()) outputs.push_back(valueInfoJson(out));
  unsigned long long elements = 0, bytes = 0;
  for (const auto& init : graph.initializer()) {
    unsigned long long n = 1;
    for (auto d : init.dims()) n *= static_cast<unsigned long long>(d);
    elements += n;
    bytes += init.has_raw_data() ? init.raw_data().size() : n * elementBytes(init.data_type());
  }

  // Counts over the selected nodes only, so a filtered tree adds up.
  const auto& modules = hierarchy.modules;
  std::vector<size_t> own(modules.size(), 0), total(modules.size(), 0);
  std::map<std::string, size_t> opTypes, methods;
  nlohmann::json nodes = nlohmann::json::array();
  size_t selected = 0, selectedTagged = 0;
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& node = graph.node(i);
    const auto& h = hierarchy.nodes.at(static_cast<size_t>(i));
    if (!nodeMatchesFilter(h, filterTag)) continue;
    if (!excludeTag.empty() && nodeMatchesFilter(h, excludeTag)) continue;
    ++selected;
    opTypes[node.op_type()]++;
    if (!h.tag.empty()) {
      ++selectedTagged;
      methods[h.method.empty() ? "unknown" : h.method]++;
      if (auto m = hierarchy.findModule(h.tag)) own[*m]++;
    }
    nlohmann::json ins = nlohmann::json::array(), outs = nlohmann::json::array();
    for (const auto& s : node.input()) ins.push_back(s);
    for (const auto& s : node.output()) outs.push_back(s);
    nodes.push_back({{"index", i},
                     {"name", node.name()},
                     {"op_type", node.op_type()},
                     {"domain", node.domain()},
                     {"hierarchy_path", h.tag.empty() ? nlohmann::json(nullptr) : nlohmann::json(h.tag)},
                     {"hierarchy_tags", h.tags},
                     {"hierarchy_method", h.method.empty() ? nlohmann::json(nullptr) : nlohmann::json(h.method)},
                     {"hierarchy_module", h.module.empty() && h.tag.empty() ? nlohmann::json(nullptr) : nlohmann::json(h.module)},
                     {"inputs", ins},
                     {"outputs", outs}});
  }
  for (size_t i = modules.size(); i-- > 0;) {
    total[i] += own[i];
    if (modules[i].parent >= 0) total[modules[i].parent] += total[i];
  }
  nlohmann::json moduleList = nlohmann::json::array();
  std::vector<int> depth(modules.size(), 0);
  // Depth-first, children in order of first appearance, so the list reads as a tree.
  std::function<void(int, int)> visit = [&](int m, int d) {
    const auto& module = modules[m];
    bool keep = byTag ? tagHasPrefix(module.tag, filterTag)
                      : ((filterTag.empty() && excludeTag.empty()) || total[m] > 0);
    if (!excludeTag.empty() && excludeTag != kAuxiliaryFilter && tagHasPrefix(module.tag, excludeTag)) keep = false;
    if (keep)
      moduleList.push_back({{"tag", module.tag},
                            {"path", module.path},
                            {"parent", module.parent < 0 ? nlohmann::json(nullptr) : nlohmann::json(modules[module.parent].tag)},
                            {"depth", d},
                            {"own_nodes", own[m]},
                            {"total_nodes", total[m]}});
    for (int c : module.children) visit(c, d + 1);
  };
  if (!modules.empty()) visit(0, 0);

  return {{"format", "modelexport-analysis"},
          {"version", 1},
          {"file", fileLabel},
          {"model",
           {{"ir_version", model.ir_version()},
            {"opset_imports", opsets},
            {"producer_name", model.producer_name()},
            {"producer_version", model.producer_version()},
            {"graph_name", graph.name()},
            {"inputs", inputs},
            {"outputs", outputs},
            {"parameters", {{"initializers", graph.initializer_size()}, {"elements", elements}, {"bytes", bytes}}}}},
          {"hierarchy",
           {{"source", hierarchySourceName(hierarchy.source)},
            {"filter", filterTag.empty() ? nlohmann::json(nullptr) : nlohmann::json(filterTag)},
            {"exclude", excludeTag.empty() ? nlohmann::json(nullptr) : nlohmann::json(excludeTag)},
            {"nodes_total", graph.node_size()},
            {"nodes_tagged", hierarchy.taggedNodes()},
            {"coverage", graph.node_size() ? static_cast<double>(hierarchy.taggedNodes()) / graph.node_size() : 1.0},
            {"nodes_selected", selected},
            {"nodes_selected_tagged", selectedTagged},
            {"methods", methods},
            {"modules", moduleList}}},
          {"op_types", opTypes},
          {"nodes", nodes}};
}

}  // namespace modelexport

#include "modelexport/model_analysis.h"

#include <functional>
#include <set>

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

std::optional<std::string> unlessEmpty(const std::string& text) {
  return text.empty() ? std::nullopt : std::optional<std::string>(text);
}

void requireModule(const ModelHierarchy& hierarchy, const char* option, const std::string& tag,
                   const std::string& fileLabel) {
  if (!hierarchy.findModule(tag))
    throw UserError(std::string(option) + " " + tag + ": no module with that tag in " + fileLabel +
                    (hierarchy.modules.empty() ? " (the file carries no hierarchy)"
                                               : " (the root is " + hierarchy.modules[0].tag + ")"));
}

AnalyzedNode analyzedNode(const onnx::NodeProto& node, int index, const NodeHierarchy& h) {
  AnalyzedNode row;
  row.index = index;
  row.name = node.name();
  row.opType = node.op_type();
  row.domain = node.domain();
  row.path = unlessEmpty(h.tag);
  row.tags = h.tags;
  row.method = unlessEmpty(h.method);
  if (!(h.module.empty() && h.tag.empty())) row.module = h.module;
  row.inputs.assign(node.input().begin(), node.input().end());
  row.outputs.assign(node.output().begin(), node.output().end());
  return row;
}

// The selected nodes, their op and method histograms, and each module's own count.
void selectNodes(const onnx::GraphProto& graph, const ModelHierarchy& hierarchy, const std::string& filterTag,
                 const std::string& excludeTag, AnalysisReport& report, std::vector<size_t>& own) {
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& node = graph.node(i);
    const auto& h = hierarchy.nodes.at(static_cast<size_t>(i));
    if (!nodeMatchesFilter(h, filterTag)) continue;
    if (!excludeTag.empty() && nodeMatchesFilter(h, excludeTag)) continue;
    ++report.hierarchy.nodesSelected;
    report.opTypes[node.op_type()]++;
    if (!h.tag.empty()) {
      ++report.hierarchy.nodesSelectedTagged;
      report.hierarchy.methods[h.method.empty() ? "unknown" : h.method]++;
      if (auto m = hierarchy.findModule(h.tag)) own[*m]++;
    }
    report.nodes.push_back(analyzedNode(node, i, h));
  }
}

// The modules to list with their counts, depth first, children in order of first
// appearance, so the list reads as a tree. Counts are over the selected nodes only, so
// a filtered tree adds up.
std::vector<ModuleNodeCount> moduleCounts(const std::vector<HierarchyModule>& modules, const std::vector<size_t>& own,
                                          const std::string& filterTag, const std::string& excludeTag) {
  std::vector<size_t> total(modules.size(), 0);
  for (size_t i = modules.size(); i-- > 0;) {
    total[i] += own[i];
    if (modules[i].parent >= 0) total[modules[i].parent] += total[i];
  }
  const bool byTag = !filterTag.empty() && filterTag != kAuxiliaryFilter;
  const bool excludesModules = !excludeTag.empty() && excludeTag != kAuxiliaryFilter;
  std::vector<ModuleNodeCount> list;
  std::function<void(int, int)> visit = [&](int m, int depth) {
    const auto& module = modules[m];
    bool keep = byTag ? tagHasPrefix(module.tag, filterTag)
                      : ((filterTag.empty() && excludeTag.empty()) || total[m] > 0);
    if (excludesModules && tagHasPrefix(module.tag, excludeTag)) keep = false;
    if (keep) {
      ModuleNodeCount row{module.tag, module.path, std::nullopt, depth, own[m], total[m]};
      if (module.parent >= 0) row.parent = modules[module.parent].tag;
      list.push_back(row);
    }
    for (int c : module.children) visit(c, depth + 1);
  };
  if (!modules.empty()) visit(0, 0);
  return list;
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

TensorSignature tensorSignature(const onnx::ValueInfoProto& info, const std::string& unnamedDim) {
  TensorSignature signature{info.name(), "", {}};
  if (!info.type().has_tensor_type()) return signature;
  const auto& t = info.type().tensor_type();
  signature.dtype = onnxDataTypeName(t.elem_type());
  for (const auto& d : t.shape().dim()) {
    if (d.has_dim_value()) signature.shape.push_back({d.dim_value(), ""});
    else signature.shape.push_back({std::nullopt, d.dim_param().empty() ? unnamedDim : d.dim_param()});
  }
  return signature;
}

bool nodeMatchesFilter(const NodeHierarchy& node, const std::string& filterTag) {
  if (filterTag.empty()) return true;
  if (filterTag == kAuxiliaryFilter) return node.method == "project";
  return !node.tag.empty() && tagHasPrefix(node.tag, filterTag);
}

ModelFacts modelFacts(const onnx::ModelProto& model) {
  const auto& graph = model.graph();
  ModelFacts facts;
  facts.irVersion = model.ir_version();
  for (const auto& o : model.opset_import()) facts.opsets.push_back({o.domain(), o.version()});
  facts.producerName = model.producer_name();
  facts.producerVersion = model.producer_version();
  facts.graphName = graph.name();
  std::set<std::string> initializerNames;
  for (const auto& init : graph.initializer()) initializerNames.insert(init.name());
  for (const auto& in : graph.input())
    if (!initializerNames.count(in.name())) facts.inputs.push_back(tensorSignature(in, "?"));
  for (const auto& out : graph.output()) facts.outputs.push_back(tensorSignature(out, "?"));
  facts.initializers = graph.initializer_size();
  for (const auto& init : graph.initializer()) {
    unsigned long long n = 1;
    for (auto d : init.dims()) n *= static_cast<unsigned long long>(d);
    facts.parameterElements += n;
    facts.parameterBytes += init.has_raw_data() ? init.raw_data().size() : n * elementBytes(init.data_type());
  }
  return facts;
}

AnalysisReport buildAnalysisReport(const onnx::ModelProto& model, const ModelHierarchy& hierarchy,
                                   const std::string& filterTag, const std::string& fileLabel,
                                   const std::string& excludeTag) {
  if (!filterTag.empty() && filterTag != kAuxiliaryFilter) requireModule(hierarchy, "--filter-tag", filterTag, fileLabel);
  if (!excludeTag.empty() && excludeTag != kAuxiliaryFilter)
    requireModule(hierarchy, "--exclude-tag", excludeTag, fileLabel);
  const auto& graph = model.graph();
  AnalysisReport report;
  report.file = fileLabel;
  report.model = modelFacts(model);
  auto& h = report.hierarchy;
  h.source = hierarchySourceName(hierarchy.source);
  h.filter = unlessEmpty(filterTag);
  h.exclude = unlessEmpty(excludeTag);
  h.nodesTotal = graph.node_size();
  h.nodesTagged = hierarchy.taggedNodes();
  h.coverage = graph.node_size() ? static_cast<double>(hierarchy.taggedNodes()) / graph.node_size() : 1.0;
  std::vector<size_t> own(hierarchy.modules.size(), 0);
  selectNodes(graph, hierarchy, filterTag, excludeTag, report, own);
  h.modules = moduleCounts(hierarchy.modules, own, filterTag, excludeTag);
  return report;
}

}  // namespace modelexport

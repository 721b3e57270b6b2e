#pragma once
// analyze: model facts, module tree with node counts, op histogram, stamp coverage, per
// node stamps. buildAnalysisReport computes an AnalysisReport; report_json.h, report_text.h
// and report_csv.h write it (JSON schema: docs/ANALYZE_JSON.md).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "modelexport/hierarchy_reader.h"

namespace modelexport {

// Special --filter-tag value: the nodes tagged by projection.
inline constexpr const char* kAuxiliaryFilter = "auxiliary";

// Whether a node passes --filter-tag (empty filter: every node).
bool nodeMatchesFilter(const NodeHierarchy& node, const std::string& filterTag);

// One dim of a graph input or output: a size, else the name of a symbolic dim.
struct ShapeDim {
  std::optional<int64_t> size;
  std::string param;
  bool operator==(const ShapeDim& other) const { return size == other.size && param == other.param; }
};

// Name, element type and shape of a graph input or output.
struct TensorSignature {
  std::string name;
  std::string dtype;  // onnxDataTypeName; empty when the value is no tensor
  std::vector<ShapeDim> shape;
  bool operator==(const TensorSignature& other) const {
    return name == other.name && dtype == other.dtype && shape == other.shape;
  }
};

// `unnamedDim` stands for a dim with neither size nor name.
TensorSignature tensorSignature(const onnx::ValueInfoProto& info, const std::string& unnamedDim);

struct OpsetImport {
  std::string domain;
  int64_t version = 0;
};

struct ModelFacts {
  int64_t irVersion = 0;
  std::vector<OpsetImport> opsets;
  std::string producerName, producerVersion, graphName;
  std::vector<TensorSignature> inputs;  // graph inputs that are no initializer
  std::vector<TensorSignature> outputs;
  int initializers = 0;
  unsigned long long parameterElements = 0, parameterBytes = 0;
};

// A module of the tree with the selected nodes' counts; listed depth first.
struct ModuleNodeCount {
  std::string tag, path;
  std::optional<std::string> parent;  // parent's tag; none for the root
  int depth = 0;
  size_t ownNodes = 0, totalNodes = 0;
};

// One selected node with its stamps (none when the node carries no hierarchy).
struct AnalyzedNode {
  int index = 0;
  std::string name, opType, domain;
  std::optional<std::string> path;  // hierarchy_path
  std::vector<std::string> tags;
  std::optional<std::string> method, module;
  std::vector<std::string> inputs, outputs;
};

struct HierarchyCoverage {
  std::string source;  // hierarchySourceName
  std::optional<std::string> filter, exclude;
  int nodesTotal = 0;
  size_t nodesTagged = 0;
  double coverage = 1.0;  // nodesTagged / nodesTotal
  size_t nodesSelected = 0, nodesSelectedTagged = 0;
  std::map<std::string, size_t> methods;  // over the selected tagged nodes
  std::vector<ModuleNodeCount> modules;
};

struct AnalysisReport {
  std::string file;
  ModelFacts model;
  HierarchyCoverage hierarchy;
  std::map<std::string, size_t> opTypes;  // over the selected nodes
  std::vector<AnalyzedNode> nodes;
};

ModelFacts modelFacts(const onnx::ModelProto& model);

// Throws UserError when filterTag or excludeTag names no module of the file. With
// excludeTag, the nodes of that module and its descendants are left out (the complement
// of --filter-tag, for quantization's nodes_to_exclude / nodes_to_quantize).
AnalysisReport buildAnalysisReport(const onnx::ModelProto& model, const ModelHierarchy& hierarchy,
                                   const std::string& filterTag, const std::string& fileLabel,
                                   const std::string& excludeTag = "");

// Element type name of an ONNX TensorProto data type ("float32", "int64").
std::string onnxDataTypeName(int dataType);

}  // namespace modelexport

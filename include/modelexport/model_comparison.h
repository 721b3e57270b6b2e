#pragma once
// compare A.onnx B.onnx: structure (inputs, outputs, op counts, initializers) and
// hierarchy (modules on one side only, per-module node counts, matched nodes whose tags
// differ). compareModels computes a ComparisonReport; report_json.h and report_text.h
// write it.
#include <map>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "modelexport/model_analysis.h"

namespace modelexport {

struct SignatureComparison {  // the graph inputs (initializers left out) or outputs
  bool equal = true;
  std::vector<TensorSignature> a, b;
};

struct OpTypeCount {
  std::string opType;
  size_t a = 0, b = 0;
};

struct InitializerComparison {  // by name
  int a = 0, b = 0;
  size_t identical = 0;
  std::vector<std::string> onlyInA, onlyInB, shapeOrDtypeDiffers, bytesDiffer;
};

struct StructureComparison {
  SignatureComparison inputs, outputs;
  bool opTypesEqual = true;
  std::vector<OpTypeCount> opTypeCounts;  // every op type of either side, by name
  InitializerComparison initializers;
};

struct ModuleCountDifference {  // a module whose own node count differs
  std::string module;
  size_t a = 0, b = 0;
};

struct TagDifference {  // a matched node pair whose modules differ
  std::string opType;
  int aIndex = 0, bIndex = 0;
  std::string aName, bName, aTag, bTag, aModule, bModule, aMethod, bMethod;
  std::string matchedBy;
};

struct HierarchyComparison {
  std::string comparedBy;  // "tag" or "module_path"
  std::vector<std::string> modulesOnlyInA, modulesOnlyInB;
  std::vector<ModuleCountDifference> moduleNodeCounts;
  size_t matchedNodes = 0;
  std::map<std::string, size_t> matchedBy;  // "output", "name", "module_position", "graph_position"
  size_t unmatchedA = 0, unmatchedB = 0, sameTag = 0;
  std::vector<TagDifference> tagDifferences;
};

struct ComparedFile {
  std::string file;
  int nodes = 0;
  std::string hierarchySource;
};

struct ComparisonReport {
  ComparedFile a, b;
  StructureComparison structure;
  HierarchyComparison hierarchy;
};

StructureComparison compareStructure(const onnx::GraphProto& a, const onnx::GraphProto& b);

// When the two files read their hierarchy from different sources (our stamps against a
// torch.onnx file's scoped names), modules and node tags are compared by module
// attribute path, since the tag spellings differ; otherwise by tag.
ComparisonReport compareModels(const onnx::ModelProto& a, const onnx::ModelProto& b, const std::string& labelA,
                               const std::string& labelB);

}  // namespace modelexport

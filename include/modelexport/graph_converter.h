#pragma once
// convert stage: walks the prepared graph and runs each node's converter.
#include <string>
#include <unordered_map>
#include <vector>

#include "modelexport/convert_context.h"
#include "modelexport/graph_preparation.h"
#include "modelexport/hierarchy_tags.h"
#include "modelexport/module_tree.h"

namespace modelexport {

struct ConvertedGraph {
  std::vector<std::string> inputs;   // ONNX names of the graph inputs
  std::vector<std::string> outputs;  // ONNX names of the graph outputs
  // The op table keys whose converters ran without refusing (the tests' coverage check
  // reads them), sorted.
  std::vector<std::string> convertedKeys;
};

// Throws UserError listing every unsupported op kind with its count and the tag of its
// first use; NewerOpsetNeeded when every cause is an op form a newer opset has
// (ConvertContext::requireOpset).
ConvertedGraph convertGraph(const PreparedGraph& prepared, const ValueFacts& facts,
                            const std::unordered_map<const torch::jit::Node*, NodeTag>& tags,
                            const ModuleTree& tree, const ConverterRegistry& registry, int opset,
                            OnnxGraphBuilder& builder, bool dynamicAxes = false);

}  // namespace modelexport

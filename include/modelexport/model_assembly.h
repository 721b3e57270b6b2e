#pragma once
// build stage: the emitted ONNX nodes, their stamps, the graph's inputs and outputs and
// the model's metadata become one ModelProto.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <onnx/onnx_pb.h>

#include "modelexport/hierarchy_stamps.h"
#include "modelexport/module_tree.h"
#include "modelexport/onnx_graph_builder.h"

namespace modelexport {

// A graph input or output: dtype, shape, and the dims that are symbolic (dim -> dim_param).
struct GraphValue {
  std::string name;
  at::ScalarType dtype = at::kFloat;
  std::vector<int64_t> shape;
  std::map<int64_t, std::string> symbolicDims;
};

struct ModelDescription {
  int opset = 14;
  std::string graphName;
  std::vector<GraphValue> inputs, outputs;
  bool stampMetadata = true;     // stamps as NodeProto.metadata_props
  bool stampAttributes = false;  // also as node attributes (--hierarchy-attrs)
  std::vector<std::pair<std::string, std::string>> metadata;  // model metadata_props
};

struct AssembledModel {
  onnx::ModelProto model;
  std::vector<HierarchyStamp> stamps;  // of the main graph's nodes, in order (the sidecar's)
};

// Moves the builder's nodes and initializers into the model; nodes of If/Loop bodies go
// into their owner's graph attribute, stamped the same way.
AssembledModel assembleModel(OnnxGraphBuilder& builder, const ModuleTree& tree, const ModelDescription& description);

// bfloat16 where the model's opset has no bfloat16 form of an op (Conv, MaxPool and the
// average poolings before opset 22, Pow's exponent before 15, Where before 16, ...): that
// op computes in float, a Cast to float before it and one back to bfloat16 after, both
// stamped with its module (LibTorch's CPU kernels compute bfloat16 in float too). Main
// graph only. Returns the number of ops so wrapped.
int computeBfloat16InFloat(AssembledModel& assembled);

}  // namespace modelexport

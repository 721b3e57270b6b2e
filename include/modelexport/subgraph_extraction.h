#pragma once
// analyze --extract-subgraph: the nodes of one module (and its descendants) as a model of
// their own; inputs and outputs are the tensors that cross the module's boundary.
#include <string>

#include <onnx/onnx_pb.h>

#include "modelexport/hierarchy_reader.h"

namespace modelexport {

struct ExtractedSubgraph {
  onnx::ModelProto model;
  size_t nodes = 0;
  size_t inputs = 0;
  size_t outputs = 0;
  size_t initializers = 0;
};

// Throws UserError when the tag names no module or a boundary tensor has no known type.
ExtractedSubgraph extractSubgraph(const onnx::ModelProto& model, const ModelHierarchy& hierarchy,
                                  const std::string& tag);

}  // namespace modelexport

#pragma once
// restamp: stamps for a model an optimizer rewrote (onnxruntime's optimized_model_filepath,
// onnxscript's optimizer, constant folding), taken from the file it was made from. Each node
// of the main graph, in this order of preference, keeps the stamp it still carries
// ("stamp"), copies the stamp of the reference node of its name or the name it derives
// from ("name", derived_node_names.h), takes the modules of the reference nodes it
// replaces, found through the tensors it consumes and produces ("tensors": the reference
// nodes between its inputs and its outputs; a fused node lists every module it spans in
// hierarchy_tags, its primary tag their nearest common ancestor), or is projected from
// the nodes that consume its outputs, else from those that produce its inputs
// ("projection").
#include <map>
#include <string>

#include <onnx/onnx_pb.h>

namespace modelexport {

inline constexpr const char* kRestampKey = "hierarchy_restamp";  // how each node got its stamp

struct RestampSummary {
  size_t nodes = 0;
  std::map<std::string, size_t> byMethod;  // "stamp", "name", "tensors", "projection"
  size_t spanning = 0;                     // nodes with more than one module in hierarchy_tags
};

// What restamp reports: the files, the checker's verdict on the result, the counts.
struct RestampReport {
  std::string optimized, output, reference;
  std::string checker;  // "checker passed", or why it fails as the optimized file does
  RestampSummary summary;
};

// Rewrites the stamps of `optimized` (main graph). Throws UserError when the reference
// carries no hierarchy.
RestampSummary restampHierarchy(onnx::ModelProto& optimized, const onnx::ModelProto& reference);

}  // namespace modelexport

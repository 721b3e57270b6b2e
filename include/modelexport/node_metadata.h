#pragma once
// NodeProto.metadata_props (field 9, StringStringEntryProto). Debian's libonnx 1.12 was
// generated before the field existed, so it lives in the node's unknown fields; this is
// the one place that knows.
#include <string>
#include <utility>
#include <vector>

#include <onnx/onnx_pb.h>

namespace modelexport {

using MetadataEntries = std::vector<std::pair<std::string, std::string>>;

void setNodeMetadata(onnx::NodeProto& node, const MetadataEntries& entries);  // replaces
MetadataEntries getNodeMetadata(const onnx::NodeProto& node);

}  // namespace modelexport

#include "modelexport/node_metadata.h"

#include <google/protobuf/unknown_field_set.h>

namespace modelexport {
namespace {

constexpr int kNodeMetadataField = 9;  // NodeProto.metadata_props (ONNX 1.16+)

// StringStringEntryProto: key = field 1, value = field 2, both length-delimited.
std::string encodeEntry(const std::string& key, const std::string& value) {
  google::protobuf::UnknownFieldSet fields;
  fields.AddLengthDelimited(1, key);
  fields.AddLengthDelimited(2, value);
  std::string bytes;
  fields.SerializeToString(&bytes);
  return bytes;
}

bool decodeEntry(const std::string& bytes, std::string& key, std::string& value) {
  google::protobuf::UnknownFieldSet fields;
  if (!fields.ParseFromString(bytes)) return false;
  for (int i = 0; i < fields.field_count(); ++i) {
    const auto& field = fields.field(i);
    if (field.type() != google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) continue;
    if (field.number() == 1) key = field.length_delimited();
    if (field.number() == 2) value = field.length_delimited();
  }
  return true;
}

}  // namespace

void setNodeMetadata(onnx::NodeProto& node, const MetadataEntries& entries) {
  auto* unknown = node.GetReflection()->MutableUnknownFields(&node);
  for (int i = unknown->field_count() - 1; i >= 0; --i)
    if (unknown->field(i).number() == kNodeMetadataField) unknown->DeleteSubrange(i, 1);
  for (const auto& [key, value] : entries)
    unknown->AddLengthDelimited(kNodeMetadataField, encodeEntry(key, value));
}

MetadataEntries getNodeMetadata(const onnx::NodeProto& node) {
  MetadataEntries entries;
  const auto& unknown = node.GetReflection()->GetUnknownFields(node);
  for (int i = 0; i < unknown.field_count(); ++i) {
    const auto& field = unknown.field(i);
    if (field.number() != kNodeMetadataField ||
        field.type() != google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED)
      continue;
    std::string key, value;
    if (decodeEntry(field.length_delimited(), key, value)) entries.emplace_back(key, value);
  }
  return entries;
}

}  // namespace modelexport

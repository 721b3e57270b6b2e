#pragma once
// ONNX protos as typed JSON for the GraphML files (docs/GRAPHML.md). Tensor bytes go to a byte
// store (the .onnxdata file) and the JSON keeps their offset and length. Encoding keeps
// proto2 field presence and every field it does not spell out (as a serialized
// remainder), so decode(encode(x)) serializes to the same bytes as x.
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>

namespace modelexport {

// Collects tensor bytes without copying them: it keeps views of the proto's strings,
// which must outlive it, and streams them to the data file (a model's weights are
// written once, not first gathered in one buffer).
class ByteStoreWriter {
 public:
  // Appends the bytes; returns {"offset": o, "length": n}.
  nlohmann::json put(std::string_view bytes);
  size_t size() const { return size_; }
  void writeTo(std::ostream& out) const;
  std::string bytes() const;  // all of them in one string (tests, small models)

 private:
  std::vector<std::string_view> chunks_;
  size_t size_ = 0;
};

class ByteStoreReader {
 public:
  // `label` names the store in errors (the data file's path).
  ByteStoreReader(std::string bytes, std::string label) : bytes_(std::move(bytes)), label_(std::move(label)) {}
  // Throws UserError when the reference is malformed or points past the end.
  std::string get(const nlohmann::json& reference, const std::string& what) const;

 private:
  std::string bytes_;
  std::string label_;
};

nlohmann::json encodeTensor(const onnx::TensorProto& tensor, ByteStoreWriter& store);
onnx::TensorProto decodeTensor(const nlohmann::json& json, const ByteStoreReader& store);

nlohmann::json encodeAttribute(const onnx::AttributeProto& attribute, ByteStoreWriter& store);
onnx::AttributeProto decodeAttribute(const nlohmann::json& json, const ByteStoreReader& store);

// Keys: op_type, name, domain, doc_string, input, output, attribute, metadata_props, extra.
nlohmann::json encodeNode(const onnx::NodeProto& node, ByteStoreWriter& store);
onnx::NodeProto decodeNode(const nlohmann::json& json, const ByteStoreReader& store);

// withContents=false leaves out nodes and initializers (the GraphML holds those of the
// main graph).
nlohmann::json encodeGraph(const onnx::GraphProto& graph, ByteStoreWriter& store, bool withContents = true);
onnx::GraphProto decodeGraph(const nlohmann::json& json, const ByteStoreReader& store);

// Readable name, elem_type and shape, plus the exact proto.
nlohmann::json encodeValueInfo(const onnx::ValueInfoProto& info);
onnx::ValueInfoProto decodeValueInfo(const nlohmann::json& json);

// Model-level fields and the graph without nodes and initializers.
nlohmann::json encodeModelHeader(const onnx::ModelProto& model, ByteStoreWriter& store);
onnx::ModelProto decodeModelHeader(const nlohmann::json& json, const ByteStoreReader& store);

// "FLOAT", "INT64", ... and "[1,128,64]" (symbolic dims as strings, unknown as null).
std::string tensorTypeName(int32_t elemType);
std::string shapeText(const onnx::TypeProto& type);

}  // namespace modelexport

#include "modelexport/onnx_json_codec.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "modelexport/errors.h"
#include "modelexport/node_metadata.h"

namespace modelexport {
namespace {

using nlohmann::json;

// `from` without the named fields, copied field by field so that the big ones left out
// (raw_data, initializers, nodes) are never copied just to be cleared.
template <typename Proto>
Proto withoutFields(const Proto& from, std::initializer_list<const char*> skipped) {
  using google::protobuf::FieldDescriptor;
  Proto to;
  const auto* r = from.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(from, &fields);
  for (const FieldDescriptor* f : fields) {
    bool skip = false;
    for (const char* name : skipped) skip = skip || f->name() == name;
    if (skip) continue;
    if (!f->is_repeated()) {
      switch (f->cpp_type()) {
        case FieldDescriptor::CPPTYPE_INT32: r->SetInt32(&to, f, r->GetInt32(from, f)); break;
        case FieldDescriptor::CPPTYPE_INT64: r->SetInt64(&to, f, r->GetInt64(from, f)); break;
        case FieldDescriptor::CPPTYPE_UINT32: r->SetUInt32(&to, f, r->GetUInt32(from, f)); break;
        case FieldDescriptor::CPPTYPE_UINT64: r->SetUInt64(&to, f, r->GetUInt64(from, f)); break;
        case FieldDescriptor::CPPTYPE_DOUBLE: r->SetDouble(&to, f, r->GetDouble(from, f)); break;
        case FieldDescriptor::CPPTYPE_FLOAT: r->SetFloat(&to, f, r->GetFloat(from, f)); break;
        case FieldDescriptor::CPPTYPE_BOOL: r->SetBool(&to, f, r->GetBool(from, f)); break;
        case FieldDescriptor::CPPTYPE_ENUM: r->SetEnumValue(&to, f, r->GetEnumValue(from, f)); break;
        case FieldDescriptor::CPPTYPE_STRING: r->SetString(&to, f, r->GetString(from, f)); break;
        case FieldDescriptor::CPPTYPE_MESSAGE: r->MutableMessage(&to, f)->CopyFrom(r->GetMessage(from, f)); break;
      }
      continue;
    }
    for (int i = 0; i < r->FieldSize(from, f); ++i) {
      switch (f->cpp_type()) {
        case FieldDescriptor::CPPTYPE_INT32: r->AddInt32(&to, f, r->GetRepeatedInt32(from, f, i)); break;
        case FieldDescriptor::CPPTYPE_INT64: r->AddInt64(&to, f, r->GetRepeatedInt64(from, f, i)); break;
        case FieldDescriptor::CPPTYPE_UINT32: r->AddUInt32(&to, f, r->GetRepeatedUInt32(from, f, i)); break;
        case FieldDescriptor::CPPTYPE_UINT64: r->AddUInt64(&to, f, r->GetRepeatedUInt64(from, f, i)); break;
        case FieldDescriptor::CPPTYPE_DOUBLE: r->AddDouble(&to, f, r->GetRepeatedDouble(from, f, i)); break;
        case FieldDescriptor::CPPTYPE_FLOAT: r->AddFloat(&to, f, r->GetRepeatedFloat(from, f, i)); break;
        case FieldDescriptor::CPPTYPE_BOOL: r->AddBool(&to, f, r->GetRepeatedBool(from, f, i)); break;
        case FieldDescriptor::CPPTYPE_ENUM: r->AddEnumValue(&to, f, r->GetRepeatedEnumValue(from, f, i)); break;
        case FieldDescriptor::CPPTYPE_STRING: r->AddString(&to, f, r->GetRepeatedString(from, f, i)); break;
        case FieldDescriptor::CPPTYPE_MESSAGE: r->AddMessage(&to, f)->CopyFrom(r->GetRepeatedMessage(from, f, i)); break;
      }
    }
  }
  to.GetReflection()->MutableUnknownFields(&to)->MergeFrom(r->GetUnknownFields(from));
  return to;
}

const char kBase64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64Encode(const std::string& bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kBase64Alphabet[(v >> s) & 63];
  }
  if (i < bytes.size()) {
    uint32_t v = uint8_t(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= uint8_t(bytes[i + 1]) << 8;
    out += kBase64Alphabet[(v >> 18) & 63];
    out += kBase64Alphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kBase64Alphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string base64Decode(const std::string& text) {
  if (text.size() % 4 != 0) throw UserError("invalid base64 text (length " + std::to_string(text.size()) + ")");
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t v = 0;
  int bits = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '=') {
      if (i + 2 < text.size()) throw UserError("invalid base64 text (padding inside)");
      break;
    }
    const char* p = std::strchr(kBase64Alphabet, c);
    if (c == '\0' || p == nullptr) throw UserError("invalid base64 text");
    v = (v << 6) | uint32_t(p - kBase64Alphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((v >> bits) & 0xFF);
    }
  }
  return out;
}

// nlohmann's own check, so whatever passes here also dumps.
bool isValidUtf8(const std::string& s) {
  try {
    (void)json(s).dump();
    return true;
  } catch (const json::type_error&) {
    return false;
  }
}

// The bytes of what is left of `message` after the caller cleared the fields it encodes
// itself; empty when nothing is left.
void putRemainder(json& out, const google::protobuf::Message& remainder) {
  if (remainder.ByteSizeLong() > 0) out["extra"] = base64Encode(remainder.SerializeAsString());
}

template <typename Proto>
Proto startFromRemainder(const json& in) {
  Proto proto;
  if (in.contains("extra") && !proto.ParseFromString(base64Decode(in.at("extra").get<std::string>())))
    throw UserError("'extra' does not hold a serialized " + proto.GetTypeName());
  return proto;
}

// JSON has no NaN or infinities; those keep their bit pattern.
json floatJson(float value) {
  if (std::isfinite(value)) return static_cast<double>(value);
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return json{{"bits", bits}};
}

float floatFromJson(const json& value) {
  if (value.is_object()) {
    uint32_t bits = value.at("bits").get<uint32_t>();
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  }
  return static_cast<float>(value.get<double>());
}

json bytesJson(const std::string& bytes) {
  if (isValidUtf8(bytes)) return bytes;
  return json{{"base64", base64Encode(bytes)}};
}

std::string bytesFromJson(const json& value) {
  if (value.is_object()) return base64Decode(value.at("base64").get<std::string>());
  return value.get<std::string>();
}

}  // namespace

json ByteStoreWriter::put(std::string_view bytes) {
  json ref{{"offset", size_}, {"length", bytes.size()}};
  chunks_.emplace_back(bytes);
  size_ += bytes.size();
  return ref;
}

void ByteStoreWriter::writeTo(std::ostream& out) const {
  for (const auto& chunk : chunks_) out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
}

std::string ByteStoreWriter::bytes() const {
  std::string all;
  all.reserve(size_);
  for (const auto& chunk : chunks_) all.append(chunk);
  return all;
}

std::string ByteStoreReader::get(const json& reference, const std::string& what) const {
  if (!reference.is_object() || !reference.contains("offset") || !reference.contains("length") ||
      !reference.at("offset").is_number_unsigned() || !reference.at("length").is_number_unsigned())
    throw UserError(what + ": data reference must be {\"offset\": N, \"length\": N}");
  uint64_t offset = reference.at("offset").get<uint64_t>();
  uint64_t length = reference.at("length").get<uint64_t>();
  if (offset > bytes_.size() || length > bytes_.size() - offset)
    throw UserError(what + ": needs bytes " + std::to_string(offset) + ".." + std::to_string(offset + length) +
                    " but " + label_ + " holds " + std::to_string(bytes_.size()) + " bytes");
  return bytes_.substr(offset, length);
}

json encodeTensor(const onnx::TensorProto& tensor, ByteStoreWriter& store) {
  json out = json::object();
  if (tensor.has_name()) out["name"] = tensor.name();
  if (tensor.has_data_type()) out["data_type"] = tensor.data_type();
  if (tensor.dims_size() > 0) out["dims"] = json(std::vector<int64_t>(tensor.dims().begin(), tensor.dims().end()));
  if (tensor.has_raw_data()) out["raw_data"] = store.put(tensor.raw_data());
  putRemainder(out, withoutFields(tensor, {"name", "data_type", "dims", "raw_data"}));
  return out;
}

onnx::TensorProto decodeTensor(const json& in, const ByteStoreReader& store) {
  auto tensor = startFromRemainder<onnx::TensorProto>(in);
  if (in.contains("name")) tensor.set_name(in.at("name").get<std::string>());
  if (in.contains("data_type")) tensor.set_data_type(in.at("data_type").get<int32_t>());
  if (in.contains("dims"))
    for (const auto& d : in.at("dims")) tensor.add_dims(d.get<int64_t>());
  if (in.contains("raw_data"))
    tensor.set_raw_data(store.get(in.at("raw_data"), "tensor '" + tensor.name() + "'"));
  return tensor;
}

json encodeAttribute(const onnx::AttributeProto& a, ByteStoreWriter& store) {
  json out = json::object();
  if (a.has_name()) out["name"] = a.name();
  if (a.has_type()) out["type"] = onnx::AttributeProto_AttributeType_Name(a.type());
  if (a.has_ref_attr_name()) out["ref_attr_name"] = a.ref_attr_name();
  if (a.has_doc_string()) out["doc_string"] = a.doc_string();
  if (a.has_f()) out["f"] = floatJson(a.f());
  if (a.has_i()) out["i"] = a.i();
  if (a.has_s()) out["s"] = bytesJson(a.s());
  if (a.has_t()) out["t"] = encodeTensor(a.t(), store);
  if (a.has_g()) out["g"] = encodeGraph(a.g(), store);
  if (a.floats_size() > 0) {
    json& list = out["floats"] = json::array();
    for (float f : a.floats()) list.push_back(floatJson(f));
  }
  if (a.ints_size() > 0) out["ints"] = json(std::vector<int64_t>(a.ints().begin(), a.ints().end()));
  if (a.strings_size() > 0) {
    json& list = out["strings"] = json::array();
    for (const auto& s : a.strings()) list.push_back(bytesJson(s));
  }
  if (a.tensors_size() > 0) {
    json& list = out["tensors"] = json::array();
    for (const auto& t : a.tensors()) list.push_back(encodeTensor(t, store));
  }
  if (a.graphs_size() > 0) {
    json& list = out["graphs"] = json::array();
    for (const auto& g : a.graphs()) list.push_back(encodeGraph(g, store));
  }
  putRemainder(out, withoutFields(a, {"name", "type", "ref_attr_name", "doc_string", "f", "i", "s", "t", "g", "floats",
                                      "ints", "strings", "tensors", "graphs"}));
  return out;
}

onnx::AttributeProto decodeAttribute(const json& in, const ByteStoreReader& store) {
  auto a = startFromRemainder<onnx::AttributeProto>(in);
  if (in.contains("name")) a.set_name(in.at("name").get<std::string>());
  if (in.contains("type")) {
    onnx::AttributeProto_AttributeType type;
    if (!onnx::AttributeProto_AttributeType_Parse(in.at("type").get<std::string>(), &type))
      throw UserError("attribute '" + a.name() + "': unknown type " + in.at("type").dump());
    a.set_type(type);
  }
  if (in.contains("ref_attr_name")) a.set_ref_attr_name(in.at("ref_attr_name").get<std::string>());
  if (in.contains("doc_string")) a.set_doc_string(in.at("doc_string").get<std::string>());
  if (in.contains("f")) a.set_f(floatFromJson(in.at("f")));
  if (in.contains("i")) a.set_i(in.at("i").get<int64_t>());
  if (in.contains("s")) a.set_s(bytesFromJson(in.at("s")));
  if (in.contains("t")) *a.mutable_t() = decodeTensor(in.at("t"), store);
  if (in.contains("g")) *a.mutable_g() = decodeGraph(in.at("g"), store);
  if (in.contains("floats"))
    for (const auto& f : in.at("floats")) a.add_floats(floatFromJson(f));
  if (in.contains("ints"))
    for (const auto& i : in.at("ints")) a.add_ints(i.get<int64_t>());
  if (in.contains("strings"))
    for (const auto& s : in.at("strings")) a.add_strings(bytesFromJson(s));
  if (in.contains("tensors"))
    for (const auto& t : in.at("tensors")) *a.add_tensors() = decodeTensor(t, store);
  if (in.contains("graphs"))
    for (const auto& g : in.at("graphs")) *a.add_graphs() = decodeGraph(g, store);
  return a;
}

json encodeNode(const onnx::NodeProto& node, ByteStoreWriter& store) {
  json out = json::object();
  if (node.has_op_type()) out["op_type"] = node.op_type();
  if (node.has_name()) out["name"] = node.name();
  if (node.has_domain()) out["domain"] = node.domain();
  if (node.has_doc_string()) out["doc_string"] = node.doc_string();
  out["input"] = json(std::vector<std::string>(node.input().begin(), node.input().end()));
  out["output"] = json(std::vector<std::string>(node.output().begin(), node.output().end()));
  json& attributes = out["attribute"] = json::array();
  for (const auto& a : node.attribute()) attributes.push_back(encodeAttribute(a, store));
  json& metadata = out["metadata_props"] = json::array();
  for (const auto& [key, value] : getNodeMetadata(node)) metadata.push_back(json::array({key, value}));
  onnx::NodeProto rest = withoutFields(node, {"op_type", "name", "domain", "doc_string", "input", "output", "attribute"});
  // Stamps alone travel as metadata_props; with other unknown fields the remainder keeps
  // them all, in their original order (metadata_props is then for reading only).
  onnx::NodeProto withoutStamps = rest;
  setNodeMetadata(withoutStamps, {});
  putRemainder(out, withoutStamps.ByteSizeLong() == 0 ? withoutStamps : rest);
  return out;
}

onnx::NodeProto decodeNode(const json& in, const ByteStoreReader& store) {
  auto node = startFromRemainder<onnx::NodeProto>(in);
  if (in.contains("op_type")) node.set_op_type(in.at("op_type").get<std::string>());
  if (in.contains("name")) node.set_name(in.at("name").get<std::string>());
  if (in.contains("domain")) node.set_domain(in.at("domain").get<std::string>());
  if (in.contains("doc_string")) node.set_doc_string(in.at("doc_string").get<std::string>());
  if (in.contains("input"))
    for (const auto& s : in.at("input")) node.add_input(s.get<std::string>());
  if (in.contains("output"))
    for (const auto& s : in.at("output")) node.add_output(s.get<std::string>());
  if (in.contains("attribute"))
    for (const auto& a : in.at("attribute")) *node.add_attribute() = decodeAttribute(a, store);
  if (in.contains("metadata_props") && !in.at("metadata_props").empty() && getNodeMetadata(node).empty()) {
    MetadataEntries entries;
    for (const auto& e : in.at("metadata_props")) {
      if (!e.is_array() || e.size() != 2) throw UserError("metadata_props entries must be [key, value] pairs");
      entries.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
    }
    setNodeMetadata(node, entries);
  }
  return node;
}

json encodeGraph(const onnx::GraphProto& graph, ByteStoreWriter& store, bool withContents) {
  json out = json::object();
  if (graph.has_name()) out["name"] = graph.name();
  if (graph.has_doc_string()) out["doc_string"] = graph.doc_string();
  if (withContents) {
    json& nodes = out["node"] = json::array();
    for (const auto& n : graph.node()) nodes.push_back(encodeNode(n, store));
    json& initializers = out["initializer"] = json::array();
    for (const auto& t : graph.initializer()) initializers.push_back(encodeTensor(t, store));
  }
  for (const char* field : {"input", "output", "value_info"}) {
    json& list = out[field] = json::array();
    const auto* descriptor = graph.GetDescriptor()->FindFieldByName(field);
    const auto* reflection = graph.GetReflection();
    for (int i = 0; i < reflection->FieldSize(graph, descriptor); ++i)
      list.push_back(encodeValueInfo(
          static_cast<const onnx::ValueInfoProto&>(reflection->GetRepeatedMessage(graph, descriptor, i))));
  }
  putRemainder(out, withoutFields(graph, {"name", "doc_string", "node", "initializer", "input", "output", "value_info"}));
  return out;
}

onnx::GraphProto decodeGraph(const json& in, const ByteStoreReader& store) {
  auto graph = startFromRemainder<onnx::GraphProto>(in);
  if (in.contains("name")) graph.set_name(in.at("name").get<std::string>());
  if (in.contains("doc_string")) graph.set_doc_string(in.at("doc_string").get<std::string>());
  if (in.contains("node"))
    for (const auto& n : in.at("node")) *graph.add_node() = decodeNode(n, store);
  if (in.contains("initializer"))
    for (const auto& t : in.at("initializer")) *graph.add_initializer() = decodeTensor(t, store);
  if (in.contains("input"))
    for (const auto& v : in.at("input")) *graph.add_input() = decodeValueInfo(v);
  if (in.contains("output"))
    for (const auto& v : in.at("output")) *graph.add_output() = decodeValueInfo(v);
  if (in.contains("value_info"))
    for (const auto& v : in.at("value_info")) *graph.add_value_info() = decodeValueInfo(v);
  return graph;
}

std::string tensorTypeName(int32_t elemType) {
  if (onnx::TensorProto_DataType_IsValid(elemType))
    return onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(elemType));
  return std::to_string(elemType);
}

std::string shapeText(const onnx::TypeProto& type) {
  if (!type.has_tensor_type() || !type.tensor_type().has_shape()) return "";
  json dims = json::array();
  for (const auto& d : type.tensor_type().shape().dim()) {
    if (d.has_dim_value()) dims.push_back(d.dim_value());
    else if (d.has_dim_param()) dims.push_back(d.dim_param());
    else dims.push_back(nullptr);
  }
  return dims.dump();
}

json encodeValueInfo(const onnx::ValueInfoProto& info) {
  json out{{"name", info.name()}};
  if (info.type().has_tensor_type()) {
    out["elem_type"] = tensorTypeName(info.type().tensor_type().elem_type());
    std::string shape = shapeText(info.type());
    if (!shape.empty()) out["shape"] = json::parse(shape);
  }
  // The readable fields above are for people; the proto is what import-onnx rebuilds.
  out["proto"] = base64Encode(info.SerializeAsString());
  return out;
}

onnx::ValueInfoProto decodeValueInfo(const json& in) {
  onnx::ValueInfoProto info;
  if (!info.ParseFromString(base64Decode(in.at("proto").get<std::string>())))
    throw UserError("value info " + in.value("name", std::string("?")) + ": 'proto' is not a ValueInfoProto");
  if (in.contains("name") && in.at("name").get<std::string>() != info.name())
    throw UserError("value info '" + in.at("name").get<std::string>() + "' does not match its proto ('" +
                    info.name() + "')");
  return info;
}

json encodeModelHeader(const onnx::ModelProto& model, ByteStoreWriter& store) {
  json out = json::object();
  if (model.has_ir_version()) out["ir_version"] = model.ir_version();
  json& opsets = out["opset_import"] = json::array();
  for (const auto& o : model.opset_import()) {
    json entry = json::object();
    if (o.has_domain()) entry["domain"] = o.domain();
    if (o.has_version()) entry["version"] = o.version();
    opsets.push_back(entry);
  }
  if (model.has_producer_name()) out["producer_name"] = model.producer_name();
  if (model.has_producer_version()) out["producer_version"] = model.producer_version();
  if (model.has_domain()) out["domain"] = model.domain();
  if (model.has_model_version()) out["model_version"] = model.model_version();
  if (model.has_doc_string()) out["doc_string"] = model.doc_string();
  json& metadata = out["metadata_props"] = json::array();
  for (const auto& p : model.metadata_props()) metadata.push_back(json::array({p.key(), p.value()}));
  if (model.has_graph()) out["graph"] = encodeGraph(model.graph(), store, false);
  putRemainder(out, withoutFields(model, {"ir_version", "opset_import", "producer_name", "producer_version", "domain",
                                          "model_version", "doc_string", "metadata_props", "graph"}));
  return out;
}

onnx::ModelProto decodeModelHeader(const json& in, const ByteStoreReader& store) {
  auto model = startFromRemainder<onnx::ModelProto>(in);
  if (in.contains("ir_version")) model.set_ir_version(in.at("ir_version").get<int64_t>());
  if (in.contains("opset_import"))
    for (const auto& o : in.at("opset_import")) {
      auto* opset = model.add_opset_import();
      if (o.contains("domain")) opset->set_domain(o.at("domain").get<std::string>());
      if (o.contains("version")) opset->set_version(o.at("version").get<int64_t>());
    }
  if (in.contains("producer_name")) model.set_producer_name(in.at("producer_name").get<std::string>());
  if (in.contains("producer_version")) model.set_producer_version(in.at("producer_version").get<std::string>());
  if (in.contains("domain")) model.set_domain(in.at("domain").get<std::string>());
  if (in.contains("model_version")) model.set_model_version(in.at("model_version").get<int64_t>());
  if (in.contains("doc_string")) model.set_doc_string(in.at("doc_string").get<std::string>());
  if (in.contains("metadata_props"))
    for (const auto& p : in.at("metadata_props")) {
      auto* entry = model.add_metadata_props();
      entry->set_key(p.at(0).get<std::string>());
      entry->set_value(p.at(1).get<std::string>());
    }
  if (in.contains("graph")) *model.mutable_graph() = decodeGraph(in.at("graph"), store);
  return model;
}

}  // namespace modelexport

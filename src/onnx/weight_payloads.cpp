#include "modelexport/weight_payloads.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "modelexport/errors.h"
#include "modelexport/model_writer.h"
#include "modelexport/onnx_tensor.h"
#include "modelexport/temporary_file.h"

namespace fs = std::filesystem;

namespace modelexport {
namespace {

constexpr size_t kAlignment = 4096;

size_t tensorBytes(const at::Tensor& t) { return static_cast<size_t>(t.numel()) * t.element_size(); }

void setExternalEntry(onnx::TensorProto& proto, const std::string& key, const std::string& value) {
  auto* entry = proto.add_external_data();
  entry->set_key(key);
  entry->set_value(value);
}

// A payload's bytes in row-major order. A view (a transposed weight) is made contiguous
// a few MiB at a time, so its full copy never exists.
void writeTensorBytes(std::ostream& out, const at::Tensor& t) {
  if (t.is_contiguous()) {
    out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(tensorBytes(t)));
    return;
  }
  const int64_t rows = t.size(0);
  const int64_t step = rowsPerSlice(t);
  for (int64_t r = 0; r < rows; r += step) {
    const at::Tensor slice = t.slice(0, r, std::min(rows, r + step)).contiguous();
    out.write(static_cast<const char*>(slice.data_ptr()), static_cast<std::streamsize>(tensorBytes(slice)));
  }
}

// Protobuf wire format: a length-delimited field is its tag byte (field number << 3 | 2;
// every field used here is below 16) and a varint length.
constexpr char kModelGraphTag = (7 << 3) | 2;         // ModelProto.graph
constexpr char kGraphInitializerTag = (5 << 3) | 2;   // GraphProto.initializer
constexpr char kTensorRawDataTag = (9 << 3) | 2;      // TensorProto.raw_data

std::string varint(uint64_t value) {
  std::string out;
  while (value >= 0x80) {
    out += static_cast<char>((value & 0x7F) | 0x80);
    value >>= 7;
  }
  out += static_cast<char>(value);
  return out;
}

// One initializer: its payload bytes come straight from tensor memory when it has one.
struct InitializerPiece {
  std::string head;           // the TensorProto without raw_data, serialized
  const at::Tensor* payload;  // nullptr: `head` is the whole tensor
  size_t payloadBytes = 0;
  size_t fieldLength() const {  // bytes of the TensorProto
    return head.size() + (payload ? 1 + varint(payloadBytes).size() + payloadBytes : 0);
  }
};

// Serializes `model` with its payload initializers filled in, writing each weight once,
// from the tensor to the stream. Fields are written in a different order from
// protobuf's own serializer (initializers last, raw_data last in a tensor), which every
// protobuf reader accepts.
void writeModelWithInlinePayloads(std::ostream& out, const onnx::ModelProto& model, const WeightPayloads& payloads) {
  const onnx::GraphProto& graph = model.graph();
  std::vector<InitializerPiece> pieces;
  for (const auto& init : graph.initializer()) {
    InitializerPiece piece;
    auto it = payloads.byName.find(init.name());
    if (it == payloads.byName.end()) {
      piece.payload = nullptr;
      piece.head = init.SerializeAsString();
    } else {
      onnx::TensorProto head = init;  // a placeholder: no bytes of its own
      head.clear_external_data();
      head.clear_data_location();
      piece.head = head.SerializeAsString();
      piece.payload = &it->second;
      piece.payloadBytes = tensorBytes(it->second);
    }
    pieces.push_back(std::move(piece));
  }
  // Copies of the light model (payload initializers are placeholders without bytes).
  onnx::GraphProto graphHead = graph;
  graphHead.clear_initializer();
  const std::string graphBytes = graphHead.SerializeAsString();
  size_t graphLength = graphBytes.size();
  for (const auto& piece : pieces) graphLength += 1 + varint(piece.fieldLength()).size() + piece.fieldLength();
  if (graphLength > (size_t(1) << 31) - 1) throw UserError("the model is over 2 GB and needs external data");

  onnx::ModelProto modelHead = model;
  modelHead.clear_graph();
  out << modelHead.SerializeAsString() << kModelGraphTag << varint(graphLength) << graphBytes;
  for (const auto& piece : pieces) {
    out << kGraphInitializerTag << varint(piece.fieldLength()) << piece.head;
    if (!piece.payload) continue;
    out << kTensorRawDataTag << varint(piece.payloadBytes);
    writeTensorBytes(out, *piece.payload);
  }
}

}  // namespace

int64_t rowsPerSlice(const at::Tensor& tensor) {
  constexpr size_t kSliceBytes = size_t(8) << 20;
  const int64_t rows = tensor.dim() > 0 ? tensor.size(0) : 1;
  const size_t rowBytes = rows > 0 ? tensorBytes(tensor) / static_cast<size_t>(rows) : 0;
  return std::max<int64_t>(1, rowBytes ? static_cast<int64_t>(kSliceBytes / rowBytes) : rows);
}

size_t WeightPayloads::totalBytes() const {
  size_t total = 0;
  for (const auto& [name, tensor] : byName) total += tensorBytes(tensor);
  return total;
}

onnx::TensorProto payloadPlaceholder(const at::Tensor& tensor, const std::string& name) {
  onnx::TensorProto proto;
  proto.set_name(name);
  proto.set_data_type(onnxDataType(tensor.scalar_type()));
  for (int64_t d : tensor.sizes()) proto.add_dims(d);
  proto.set_data_location(onnx::TensorProto::EXTERNAL);
  setExternalEntry(proto, "location", "<pending>");
  return proto;
}

std::unordered_map<std::string, std::string_view> payloadByteViews(const WeightPayloads& payloads,
                                                                   std::vector<at::Tensor>& keepAlive) {
  std::unordered_map<std::string, std::string_view> views;
  keepAlive.reserve(payloads.byName.size());
  for (const auto& [name, tensor] : payloads.byName) {
    keepAlive.push_back(tensor.contiguous());  // the same tensor, unless it is a strided view
    views[name] = std::string_view(static_cast<const char*>(keepAlive.back().data_ptr()),
                                   tensorBytes(keepAlive.back()));
  }
  return views;
}

std::string externalDataPath(const std::string& modelPath) { return modelPath + ".data"; }

WrittenModel writeModelWithPayloads(onnx::ModelProto& model, const WeightPayloads& payloads,
                                    const std::string& path, ExternalData mode,
                                    const std::string& tempDir) {
  WrittenModel written;
  written.external = mode == ExternalData::Always ||
                     (mode == ExternalData::Auto && payloads.totalBytes() > kExternalDataAutoBytes);
  auto* graph = model.mutable_graph();
  if (!written.external) {
    writeFileAtomically(path, [&](std::ostream& out) { writeModelWithInlinePayloads(out, model, payloads); }, tempDir);
    return written;
  }

  const fs::path target(path);
  written.dataPath = externalDataPath(path);
  const std::string location = target.filename().string() + ".data";
  TemporaryFile dataTemp(temporaryPathFor(fs::path(written.dataPath), tempDir));
  {
    std::ofstream out(dataTemp.path(), std::ios::binary | std::ios::trunc);
    if (!out) throw UserError(written.dataPath + ": cannot write");
    size_t offset = 0;
    static const std::string zeros(kAlignment, '\0');
    for (auto& init : *graph->mutable_initializer()) {
      auto it = payloads.byName.find(init.name());
      if (it == payloads.byName.end()) continue;
      const size_t pad = (kAlignment - offset % kAlignment) % kAlignment;
      out.write(zeros.data(), static_cast<std::streamsize>(pad));
      offset += pad;
      const size_t bytes = tensorBytes(it->second);
      writeTensorBytes(out, it->second);
      init.clear_external_data();
      init.clear_raw_data();
      init.set_data_location(onnx::TensorProto::EXTERNAL);
      setExternalEntry(init, "location", location);
      setExternalEntry(init, "offset", std::to_string(offset));
      setExternalEntry(init, "length", std::to_string(bytes));
      offset += bytes;
    }
    out.close();
    if (!out) throw UserError(written.dataPath + ": cannot write: disk full or I/O error");
  }
  std::string modelBytes;
  if (!model.SerializeToString(&modelBytes))
    throw UserError(path + ": cannot serialize the model (over 2 GB needs external data)");
  TemporaryFile modelTemp(temporaryPathFor(target, tempDir));
  {
    std::ofstream out(modelTemp.path(), std::ios::binary | std::ios::trunc);
    out.write(modelBytes.data(), static_cast<std::streamsize>(modelBytes.size()));
    out.close();
    if (!out) throw UserError(path + ": cannot write: disk full or I/O error");
  }
  // The model names offsets in this .data: the two replace the previous pair together.
  SignalsHeld held;
  dataTemp.moveTo(fs::path(written.dataPath));
  modelTemp.moveTo(target);
  return written;
}

}  // namespace modelexport

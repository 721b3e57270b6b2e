#pragma once
// Large initializers travel as tensors, not bytes inside the ModelProto, until the file
// is written: the checker and shape inference run on the light model, and the bytes are
// copied once, from tensor memory to the file (inline) or streamed (external data).
#include <string>
#include <string_view>
#include <vector>
#include <unordered_map>

#include <onnx/onnx_pb.h>
#include <torch/script.h>

namespace modelexport {

// Initializers at least this large are payloads; smaller ones (shapes, scalars) stay
// inline so shape inference can read them.
constexpr size_t kPayloadThresholdBytes = 1024;
// Past this total, the protobuf 2 GB limit forces ONNX external data.
constexpr size_t kExternalDataAutoBytes = size_t(1900) * 1000 * 1000;

struct WeightPayloads {
  // Contiguous tensors or views of one (written a slice at a time).
  std::unordered_map<std::string, at::Tensor> byName;
  size_t totalBytes() const;
};

// Bytes of a tensor's elements (a view's own, not its storage's).
inline size_t tensorBytes(const at::Tensor& t) { return static_cast<size_t>(t.numel()) * t.element_size(); }

// Rows (along dim 0) per contiguous slice of a payload view: about 8 MiB, at least one.
// Views are written and compared a slice at a time so their full copy never exists.
int64_t rowsPerSlice(const at::Tensor& tensor);

// A TensorProto that names its data as living elsewhere (filled in when written).
onnx::TensorProto payloadPlaceholder(const at::Tensor& tensor, const std::string& name);

enum class ExternalData { Auto, Always, Never };

// "<model>.data": where the weights of `modelPath` go when they are external.
std::string externalDataPath(const std::string& modelPath);

struct WrittenModel {
  bool external = false;
  std::string dataPath;  // "<model>.data" when external
};

// Writes the model atomically, each weight's bytes once, from tensor memory to the file.
// Inline: the file holds them and `model` keeps the placeholders. External: bytes are
// streamed to "<path>.data" with 4 KiB-aligned offsets and `model` keeps the references.
WrittenModel writeModelWithPayloads(onnx::ModelProto& model, const WeightPayloads& payloads,
                                    const std::string& path, ExternalData mode,
                                    const std::string& tempDir = "");

// Each payload's bytes where they already are in memory, by initializer name, for writers
// that follow the ONNX file (GraphML) without copying the weights into the model. A view
// that is not contiguous is made so in `keepAlive`, which must outlive the result.
std::unordered_map<std::string, std::string_view> payloadByteViews(const WeightPayloads& payloads,
                                                                   std::vector<at::Tensor>& keepAlive);

}  // namespace modelexport

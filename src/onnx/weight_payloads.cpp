#include "modelexport/weight_payloads.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>

#include "modelexport/errors.h"
#include "modelexport/file_backed_tensors.h"
#include "modelexport/model_writer.h"
#include "modelexport/onnx_tensor.h"
#include "modelexport/reorder_ahead.h"
#include "modelexport/temporary_file.h"

namespace fs = std::filesystem;

namespace modelexport {
namespace {

constexpr size_t kAlignment = 4096;

// Each weight in the external data file starts at a multiple of kAlignment.
uint64_t alignedUp(uint64_t offset) { return (offset + kAlignment - 1) / kAlignment * kAlignment; }

void setExternalEntry(onnx::TensorProto& proto, const std::string& key, const std::string& value) {
  auto* entry = proto.add_external_data();
  entry->set_key(key);
  entry->set_value(value);
}

void writeTensorBytes(std::ostream& out, ReorderAhead& bytes, size_t index) {
  bytes.read(index, [&](const char* data, size_t n) { out.write(data, static_cast<std::streamsize>(n)); });
}

// The external data file, written at explicit offsets: a weight whose bytes are a mapped
// archive's, untouched, is copied file to file in the kernel (copy_file_range), never
// passing through this process; any other from memory.
class DataFileWriter {
 public:
  DataFileWriter(const std::string& tempPath, std::string shownPath) : shownPath_(std::move(shownPath)) {
    fd_ = ::open(tempPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd_ < 0) throw UserError(shownPath_ + ": cannot write: " + std::strerror(errno));
  }
  ~DataFileWriter() {
    if (fd_ >= 0) ::close(fd_);
  }
  uint64_t offset() const { return offset_; }

  // Gives the file its final size in blocks before the first write: a full disk fails
  // here, before gigabytes are written, and the writes that follow skip ext4's per-page
  // delayed allocation (about 8% of a large export's samples in perf). Where the file
  // system cannot preallocate, the writes allocate as before.
  void reserve(uint64_t total) {
    if (total == 0) return;
    int rc;
    do {
      rc = ::fallocate(fd_, 0, 0, static_cast<off_t>(total));
    } while (rc != 0 && errno == EINTR);
    if (rc != 0 && (errno == ENOSPC || errno == EDQUOT || errno == EFBIG)) fail(errno);
  }

  void zeros(size_t n) {
    static const std::vector<char> kZeros(kAlignment, '\0');
    while (n > 0) {
      const size_t k = std::min(n, kZeros.size());
      write(kZeros.data(), k);
      n -= k;
    }
  }

  // Tensor `index` of `source`: straight from the archive file when its bytes are there
  // untouched, else as `source` hands them over.
  void tensor(const at::Tensor& t, ReorderAhead& source, size_t index) {
    const size_t bytes = tensorBytes(t);
    if (bytes == 0) return;
    if (copyInKernel_ && t.is_contiguous()) {
      if (auto span = pristineFileSpan(t.data_ptr(), bytes); span && copyFromFile(*span, bytes)) return;
    }
    source.read(index, [&](const char* data, size_t n) { write(data, n); });
  }

  void close() {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail(errno);
  }

 private:
  void write(const char* data, size_t n) {
    while (n > 0) {
      const ssize_t done = ::pwrite(fd_, data, n, static_cast<off_t>(offset_));
      if (done < 0 && errno == EINTR) continue;
      if (done <= 0) fail(done < 0 ? errno : ENOSPC);
      data += done;
      n -= static_cast<size_t>(done);
      offset_ += static_cast<uint64_t>(done);
    }
  }

  // False (nothing written) when the kernel cannot copy between these files: the caller
  // writes from memory, and so does every later weight.
  bool copyFromFile(FileSpan span, size_t bytes) {
    auto in = static_cast<loff_t>(span.offset);
    auto out = static_cast<loff_t>(offset_);
    size_t left = bytes;
    while (left > 0) {
      const ssize_t done = ::copy_file_range(span.fd, &in, fd_, &out, left, 0);
      if (done < 0 && errno == EINTR) continue;
      if (done <= 0) {
        if (left == bytes && (done == 0 || errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                              errno == EOPNOTSUPP || errno == EBADF || errno == EPERM)) {
          copyInKernel_ = false;
          return false;
        }
        if (done == 0) fail(EIO);  // the archive is shorter than when it was mapped
        fail(errno);
      }
      left -= static_cast<size_t>(done);
    }
    offset_ += bytes;
    return true;
  }

  [[noreturn]] void fail(int err) {
    throw UserError(shownPath_ + ": cannot write: " + (err == ENOSPC ? std::string("disk full") : std::strerror(err)));
  }

  std::string shownPath_;
  int fd_ = -1;
  uint64_t offset_ = 0;
  bool copyInKernel_ = true;
};

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
  std::vector<at::Tensor> tensors;
  for (const auto& piece : pieces)
    if (piece.payload) tensors.push_back(*piece.payload);
  ReorderAhead bytes(std::move(tensors));
  size_t index = 0;
  for (const auto& piece : pieces) {
    out << kGraphInitializerTag << varint(piece.fieldLength()) << piece.head;
    if (!piece.payload) continue;
    out << kTensorRawDataTag << varint(piece.payloadBytes);
    writeTensorBytes(out, bytes, index++);
  }
}

}  // namespace

int64_t rowsPerSlice(const at::Tensor& tensor) {
  constexpr size_t kSliceBytes = size_t(8) << 20;
  const int64_t rows = tensor.dim() > 0 ? tensor.size(0) : 1;
  const size_t rowBytes = rows > 0 ? tensorBytes(tensor) / static_cast<size_t>(rows) : 0;
  const int64_t fit = rowBytes ? static_cast<int64_t>(kSliceBytes / rowBytes) : rows;
  // Whole 8-row blocks where they fit: the transposed copy's fast path works in 8x8 blocks.
  return fit >= 8 ? fit / 8 * 8 : std::max<int64_t>(1, fit);
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
    DataFileWriter out(dataTemp.path().string(), written.dataPath);
    std::vector<std::pair<onnx::TensorProto*, const at::Tensor*>> inOrder;
    for (auto& init : *graph->mutable_initializer()) {
      auto it = payloads.byName.find(init.name());
      if (it != payloads.byName.end()) inOrder.emplace_back(&init, &it->second);
    }
    std::vector<at::Tensor> tensors;
    uint64_t total = 0;
    for (const auto& [init, tensor] : inOrder) {
      tensors.push_back(*tensor);
      total = alignedUp(total) + tensorBytes(*tensor);
    }
    out.reserve(total);
    ReorderAhead source(std::move(tensors));
    for (size_t i = 0; i < inOrder.size(); ++i) {
      onnx::TensorProto& init = *inOrder[i].first;
      const at::Tensor& tensor = *inOrder[i].second;
      out.zeros(alignedUp(out.offset()) - out.offset());
      const size_t offset = out.offset();
      const size_t bytes = tensorBytes(tensor);
      out.tensor(tensor, source, i);
      init.clear_external_data();
      init.clear_raw_data();
      init.set_data_location(onnx::TensorProto::EXTERNAL);
      setExternalEntry(init, "location", location);
      setExternalEntry(init, "offset", std::to_string(offset));
      setExternalEntry(init, "length", std::to_string(bytes));
    }
    out.close();
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

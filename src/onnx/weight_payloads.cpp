#include "modelexport/weight_payloads.h"

#include <filesystem>
#include <fstream>
#include <random>

#include "modelexport/errors.h"
#include "modelexport/model_writer.h"
#include "modelexport/onnx_tensor.h"

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

fs::path tempSibling(const fs::path& target, const std::string& tempDir) {
  fs::path dir = tempDir.empty() ? (target.has_parent_path() ? target.parent_path() : fs::path("."))
                                 : fs::path(tempDir);
  std::random_device rd;
  return dir / ("." + target.filename().string() + ".tmp" + std::to_string(rd()));
}

// Moves a finished temporary file into place (copying when --temp-dir is elsewhere).
void moveIntoPlace(const fs::path& temp, const fs::path& target) {
  std::error_code ec;
  fs::rename(temp, target, ec);
  if (!ec) return;
  fs::copy_file(temp, target, fs::copy_options::overwrite_existing, ec);
  std::error_code ignored;
  fs::remove(temp, ignored);
  if (ec) throw UserError(target.string() + ": cannot write: " + ec.message());
}

}  // namespace

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

WrittenModel writeModelWithPayloads(onnx::ModelProto& model, const WeightPayloads& payloads,
                                    const std::string& path, ExternalData mode,
                                    const std::string& tempDir) {
  WrittenModel written;
  written.external = mode == ExternalData::Always ||
                     (mode == ExternalData::Auto && payloads.totalBytes() > kExternalDataAutoBytes);
  auto* graph = model.mutable_graph();
  if (!written.external) {
    for (auto& init : *graph->mutable_initializer()) {
      auto it = payloads.byName.find(init.name());
      if (it == payloads.byName.end()) continue;
      init.clear_external_data();
      init.clear_data_location();
      init.set_raw_data(it->second.data_ptr(), tensorBytes(it->second));
    }
    writeModelAtomically(model, path, tempDir);
    return written;
  }

  const fs::path target(path);
  written.dataPath = path + ".data";
  const std::string location = target.filename().string() + ".data";
  const fs::path dataTemp = tempSibling(fs::path(written.dataPath), tempDir);
  {
    std::ofstream out(dataTemp, std::ios::binary | std::ios::trunc);
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
      out.write(static_cast<const char*>(it->second.data_ptr()), static_cast<std::streamsize>(bytes));
      init.clear_external_data();
      init.clear_raw_data();
      init.set_data_location(onnx::TensorProto::EXTERNAL);
      setExternalEntry(init, "location", location);
      setExternalEntry(init, "offset", std::to_string(offset));
      setExternalEntry(init, "length", std::to_string(bytes));
      offset += bytes;
    }
    out.close();
    if (!out) {
      std::error_code ec;
      fs::remove(dataTemp, ec);
      throw UserError(written.dataPath + ": cannot write: disk full or I/O error");
    }
  }
  try {
    writeModelAtomically(model, path, tempDir);
  } catch (...) {
    std::error_code ec;
    fs::remove(dataTemp, ec);
    throw;
  }
  moveIntoPlace(dataTemp, fs::path(written.dataPath));
  return written;
}

}  // namespace modelexport

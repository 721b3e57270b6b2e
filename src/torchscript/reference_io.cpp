#include "modelexport/reference_io.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "modelexport/errors.h"
#include "modelexport/temporary_file.h"
#include "modelexport/dtype_names.h"

namespace modelexport {
namespace {

nlohmann::json writeTensor(const std::filesystem::path& dir, const std::string& file,
                           const std::string& name, const at::Tensor& tensor) {
  // A quantized output is written dequantized, as the ONNX file carries it.
  at::Tensor dense = tensor.is_quantized() ? tensor.dequantize().contiguous() : tensor.contiguous();
  writeFileAtomically((dir / file).string(), [&](std::ostream& out) {
    out.write(static_cast<const char*>(dense.data_ptr()),
              static_cast<std::streamsize>(dense.numel() * dense.element_size()));
  });
  return {{"name", name}, {"dtype", dtypeName(dense.scalar_type())}, {"shape", dense.sizes().vec()}, {"file", file}};
}

}  // namespace

std::vector<at::Tensor> flattenOutputs(const c10::IValue& value) {
  std::vector<at::Tensor> out;
  if (value.isTensor()) {
    out.push_back(value.toTensor());
  } else if (value.isTuple()) {
    for (const auto& e : value.toTupleRef().elements()) {
      auto sub = flattenOutputs(e);
      out.insert(out.end(), sub.begin(), sub.end());
    }
  } else if (value.isList()) {
    for (const auto& e : value.toListRef()) {
      auto sub = flattenOutputs(e);
      out.insert(out.end(), sub.begin(), sub.end());
    }
  } else if (value.isGenericDict()) {
    // In insertion order, as prepare makes the dict's values the graph's outputs.
    for (const auto& entry : value.toGenericDict()) {
      auto sub = flattenOutputs(entry.value());
      out.insert(out.end(), sub.begin(), sub.end());
    }
  } else if (value.isDouble() || value.isInt() || value.isBool()) {
    out.push_back(value.isDouble() ? torch::scalar_tensor(value.toDouble(), at::kFloat)
                                   : torch::scalar_tensor(value.toInt(), at::kLong));
  }
  return out;
}

void writeReferenceIo(const std::string& dir, const std::vector<std::string>& inputNames,
                      const std::vector<c10::IValue>& inputs,
                      const std::vector<std::string>& outputNames,
                      const std::vector<at::Tensor>& outputs) {
  std::filesystem::path root(dir);
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) throw UserError(dir + ": cannot create directory: " + ec.message());
  nlohmann::json io{{"inputs", nlohmann::json::array()}, {"outputs", nlohmann::json::array()}};
  for (size_t i = 0; i < inputs.size(); ++i)
    io["inputs"].push_back(writeTensor(root, "input_" + std::to_string(i) + ".bin", inputNames.at(i),
                                       inputs[i].toTensor()));
  for (size_t i = 0; i < outputs.size(); ++i)
    io["outputs"].push_back(writeTensor(root, "output_" + std::to_string(i) + ".bin",
                                        i < outputNames.size() ? outputNames[i] : "output_" + std::to_string(i),
                                        outputs[i]));
  writeFileAtomically((root / "io.json").string(), io.dump(2) + "\n");
}

}  // namespace modelexport

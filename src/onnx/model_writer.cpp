#include "modelexport/model_writer.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include "modelexport/errors.h"
#include "modelexport/temporary_file.h"

namespace fs = std::filesystem;

namespace modelexport {

namespace {

// Weights not written yet (weight_payloads.h) are checked as graph inputs of the same
// type and shape: the checker would otherwise look for their bytes on disk.
onnx::ModelProto withPendingWeightsAsInputs(const onnx::ModelProto& model) {
  onnx::ModelProto copy = model;
  auto* graph = copy.mutable_graph();
  auto* inits = graph->mutable_initializer();
  for (int i = inits->size() - 1; i >= 0; --i) {
    const auto& init = inits->Get(i);
    bool pending = false;
    for (const auto& entry : init.external_data())
      pending = pending || (entry.key() == "location" && entry.value() == "<pending>");
    if (!pending) continue;
    auto* input = graph->add_input();
    input->set_name(init.name());
    auto* tensor = input->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(init.data_type());
    for (int64_t d : init.dims()) tensor->mutable_shape()->add_dim()->set_dim_value(d);
    inits->DeleteSubrange(i, 1);
  }
  return copy;
}

// The checker's "(op_type:Conv, node name: N): X typestr: T, has unsupported type:
// tensor(bfloat16)" in our words: which opset first gives that op the type, or that none
// this binary writes (11 to 17) does. Empty for other errors.
struct UnsupportedType {
  std::string message;
  int firstOpset = 0;  // the first opset with the type, 0 when none this binary writes
  std::string reason;  // "node N needs ONNX's bfloat16 Where"
};

UnsupportedType unsupportedTypeError(const onnx::ModelProto& model, const std::string& text) {
  // An input's "X typestr: T, has unsupported type: tensor(bfloat16)", an output's
  // "outputs has unsupported type tensor(bfloat16)" (If's outputs).
  static const std::regex pattern(
      R"(\(op_type:([A-Za-z0-9_]+), node name: ([^)]*)\): (\S+) (?:typestr: \S+, )?has unsupported type:? (tensor\(([a-z0-9]+)\)))");
  std::smatch m;
  if (!std::regex_search(text, m, pattern)) return {};
  const std::string op = m[1], node = m[2], param = m[3], type = m[4], typeName = m[5];
  int64_t opset = 0;
  for (const auto& import : model.opset_import())
    if (import.domain().empty() || import.domain() == "ai.onnx") opset = import.version();
  constexpr int64_t kHighestOpset = 17;  // the highest --opset-version
  // The first later opset whose formal parameter of that name takes the type.
  auto takesType = [&](const std::vector<onnx::OpSchema::FormalParameter>& formals) {
    for (const auto& formal : formals)
      if (formal.GetName() == param)
        for (const auto* allowed : formal.GetTypes())
          if (*allowed == type) return true;
    return false;
  };
  int64_t first = 0;
  for (int64_t v = opset + 1; v <= kHighestOpset && !first; ++v) {
    const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(op, static_cast<int>(v), "");
    if (schema && (takesType(schema->inputs()) || takesType(schema->outputs()))) first = v;
  }
  const std::string what = "ONNX's " + op + " has no " + typeName + " form at opset " + std::to_string(opset) +
                           " (node " + node + ")";
  if (first)
    return {what + "; it has from opset " + std::to_string(first) + ": export with --opset-version " +
                std::to_string(first) + " or later",
            static_cast<int>(first), "node " + node + " needs ONNX's " + typeName + " " + op};
  return {what + " nor at any later opset this binary writes (up to " + std::to_string(kHighestOpset) +
              "): export the model in float32 or float16",
          0, ""};
}

}  // namespace

void checkModelFull(const onnx::ModelProto& model, const std::string& modelDir) {
  try {
    onnx::ModelProto copy = withPendingWeightsAsInputs(model);
    {
      // onnx 1.12's check_model(ModelProto) resolves external data files against the
      // working directory and takes no model directory: run it from there.
      std::error_code ec;
      const fs::path previous = fs::current_path(ec);
      const bool moved = !modelDir.empty() && !ec && (fs::current_path(modelDir, ec), !ec);
      try {
        onnx::checker::check_model(copy);
      } catch (...) {
        if (moved) fs::current_path(previous, ec);
        throw;
      }
      if (moved) fs::current_path(previous, ec);
    }
    onnx::ShapeInferenceOptions options(/*check_type=*/true, /*strict_mode=*/1,
                                        /*data_prop=*/false);
    onnx::shape_inference::InferShapes(copy, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& e) {
    const UnsupportedType typed = unsupportedTypeError(model, e.what());
    if (typed.firstOpset) throw NewerOpsetNeeded("ONNX checker: " + typed.message, typed.firstOpset, typed.reason, e.what());
    throw UserError("ONNX checker: " + (typed.message.empty() ? firstLine(e.what()) : typed.message), e.what());
  }
}

void inferValueInfo(onnx::ModelProto& model) {
  model.mutable_graph()->clear_value_info();
  try {
    onnx::shape_inference::InferShapes(model);
  } catch (const std::exception& e) {
    throw UserError("ONNX shape inference: " + firstLine(e.what()));
  }
}

void writeModelAtomically(const onnx::ModelProto& model, const std::string& path,
                          const std::string& tempDir) {
  std::string bytes;
  if (!model.SerializeToString(&bytes))
    throw UserError(path + ": cannot serialize the model (over 2 GB needs external data)");
  writeFileAtomically(path, bytes, tempDir);
}

onnx::ModelProto readModel(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(path + ": cannot open");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  onnx::ModelProto model;
  if (bytes.empty() || !model.ParseFromString(bytes) || !model.has_graph())
    throw UserError(path + ": not an ONNX model (protobuf parse failed)");
  return model;
}

void inlineExternalData(onnx::ModelProto& model, const std::string& modelDir) {
  for (auto& init : *model.mutable_graph()->mutable_initializer()) {
    if (init.data_location() != onnx::TensorProto::EXTERNAL) continue;
    std::string location;
    uint64_t offset = 0, length = 0;
    bool hasLength = false;
    for (const auto& entry : init.external_data()) {
      if (entry.key() == "location") location = entry.value();
      if (entry.key() == "offset") offset = std::stoull(entry.value());
      if (entry.key() == "length") length = std::stoull(entry.value()), hasLength = true;
    }
    const fs::path file = fs::path(modelDir) / location;
    std::ifstream in(file, std::ios::binary);
    if (!in) throw UserError(file.string() + ": cannot open (external data of '" + init.name() + "')");
    if (!hasLength) {
      in.seekg(0, std::ios::end);
      length = static_cast<uint64_t>(in.tellg()) - offset;
    }
    std::string bytes(length, '\0');
    in.seekg(static_cast<std::streamoff>(offset));
    if (!in.read(bytes.data(), static_cast<std::streamsize>(length)))
      throw UserError(file.string() + ": shorter than the external data of '" + init.name() + "' says");
    init.clear_external_data();
    init.clear_data_location();
    init.set_raw_data(std::move(bytes));
  }
}

}  // namespace modelexport

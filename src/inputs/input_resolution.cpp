#include "modelexport/input_resolution.h"

#include <caffe2/serialize/inline_container.h>
#include <nlohmann/json.hpp>

#include "modelexport/errors.h"
#include "modelexport/input_spec_parser.h"
#include "modelexport/model_file_format.h"
#include "modelexport/model_locator.h"

namespace modelexport {
namespace {

std::string quoteForMessage(const std::string& text) {
  const size_t limit = 40;
  return "'" + (text.size() > limit ? text.substr(0, limit) + "..." : text) + "'";
}

std::vector<InputSpec> specsOf(const std::vector<NamedInput>& inputs) {
  std::vector<InputSpec> specs;
  for (const auto& i : inputs) {
    InputSpec s;
    s.name = i.name;
    s.dtype = i.dtype.value_or(i.values.defined() ? i.values.scalar_type() : at::kFloat);
    s.shape = i.shape.value_or(i.values.defined() ? i.values.sizes().vec() : std::vector<int64_t>{});
    specs.push_back(s);
  }
  return specs;
}

// The text of extra/NAME in a model archive; nullopt when it has none or is no archive
// (loading reports that with a better message).
std::optional<std::string> embeddedFile(const std::string& modelPath, const std::string& name) {
  try {
    caffe2::serialize::PyTorchStreamReader reader(modelPath);
    const std::string record = "extra/" + name;
    if (!reader.hasRecord(record)) return std::nullopt;
    auto [data, size] = reader.getRecord(record);
    return std::string(static_cast<const char*>(data.get()), size);
  } catch (const c10::Error&) {
    return std::nullopt;
  }
}

}  // namespace

std::optional<std::vector<NamedInput>> readEmbeddedInputs(const std::string& modelPath) {
  const std::string origin = modelPath + ": " + kEmbeddedInputsFile;
  const std::optional<std::string> text = embeddedFile(modelPath, kEmbeddedInputsFile);
  if (!text) return std::nullopt;
  const nlohmann::json doc = nlohmann::json::parse(*text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("inputs") || !doc["inputs"].is_array())
    throw UserError(origin + ": expected {\"inputs\": [{\"name\", \"dtype\", \"shape\", \"values\"?}, ...]}");
  std::vector<NamedInput> inputs;
  for (const auto& entry : doc["inputs"]) {
    if (!entry.is_object() || !entry.contains("name") || !entry.contains("dtype") || !entry.contains("shape"))
      throw UserError(origin + ": each input needs name, dtype and shape");
    NamedInput input;
    input.origin = origin;
    input.name = entry["name"].get<std::string>();
    std::string shape;
    for (const auto& d : entry["shape"]) shape += (shape.empty() ? "" : "x") + std::to_string(d.get<int64_t>());
    const InputSpec spec =
        parseInputSpecs(input.name + ":" + entry["dtype"].get<std::string>() + ":" + (shape.empty() ? "scalar" : shape))
            .front();
    input.dtype = spec.dtype;
    input.shape = spec.shape;
    if (entry.contains("values")) {
      std::vector<double> values = entry["values"].get<std::vector<double>>();
      at::Tensor flat = torch::tensor(values, torch::dtype(at::kDouble));
      if (flat.numel() != c10::multiply_integers(spec.shape))
        throw UserError(origin + ": input '" + input.name + "' has " + std::to_string(flat.numel()) +
                        " values for shape " + shape);
      input.values = flat.reshape(spec.shape).to(spec.dtype);
    }
    inputs.push_back(std::move(input));
  }
  return inputs;
}

std::optional<EmbeddedProgramInfo> readEmbeddedProgramInfo(const std::string& modelPath) {
  const std::optional<std::string> text = embeddedFile(modelPath, kEmbeddedProgramFile);
  if (!text) return std::nullopt;
  const std::string origin = modelPath + ": " + kEmbeddedProgramFile;
  EmbeddedProgramInfo info;
  info.document = nlohmann::json::parse(*text, nullptr, false);
  const nlohmann::json& doc = info.document;
  if (doc.is_discarded() || !doc.is_object())
    throw UserError(origin + ": expected a JSON object with dynamic_axes and output_names");
  try {
    if (doc.contains("dynamic_axes"))
      for (const auto& [input, dims] : doc["dynamic_axes"].items())
        for (const auto& [dim, label] : dims.items()) info.dynamicAxes[input][std::stoll(dim)] = label.get<std::string>();
    if (doc.contains("output_names")) info.outputNames = doc["output_names"].get<std::vector<std::string>>();
  } catch (const std::exception&) {
    throw UserError(origin + ": dynamic_axes must map input names to {dim: name} and output_names be a list of names");
  }
  return info;
}

std::vector<NamedInput> textInputs(const EncodedText& encoded, const std::vector<int64_t>& shape,
                                   const std::string& origin) {
  const int64_t length = static_cast<int64_t>(encoded.ids.size());
  auto make = [&](const std::string& name, const std::vector<int64_t>& row) {
    at::Tensor t = torch::tensor(row, torch::dtype(at::kLong)).expand(shape).contiguous();
    NamedInput input;
    input.name = name;
    input.values = t;
    input.optional = true;
    input.origin = origin;
    return input;
  };
  std::vector<int64_t> positions(static_cast<size_t>(length));
  for (int64_t i = 0; i < length; ++i) positions[static_cast<size_t>(i)] = i;
  return {make("input_ids", encoded.ids), make("attention_mask", encoded.attentionMask),
          make("token_type_ids", encoded.tokenTypeIds), make("position_ids", positions)};
}

ResolvedInputs resolveInputs(const InputRequest& request) {
  const ModelLocation location = locateModel(request.modelNameOrPath);
  ResolvedInputs resolved;
  if (location.needsFrontEnd)
    throw UserError(request.modelNameOrPath + ": a transformers model; the Python front end makes its program");
  resolved.modelFile = location.modelFile;
  resolved.readFiles = tokenizerFilesIn(location.directory);
  resolved.readFiles.insert(resolved.readFiles.begin(), location.modelFile);
  if (request.shape) resolved.inputShape = *request.shape;

  std::vector<NamedInput> specInputs;
  for (const auto& spec : request.specs) {
    NamedInput input;
    input.name = spec.name;
    input.dtype = spec.dtype;
    input.shape = spec.shape;
    input.origin = "--input-spec";
    specInputs.push_back(input);
  }

  const bool noInputOption = !request.text && !request.shape && request.specs.empty();
  if (noInputOption) {
    if (auto embedded = readEmbeddedInputs(location.modelFile)) {
      resolved.namedInputs = *embedded;
      resolved.description = std::string("inputs from ") + kEmbeddedInputsFile + ": " + formatInputSpecs(specsOf(*embedded));
      return resolved;
    }
  }

  const auto tokenizer = loadDirectoryTokenizer(location.directory);
  // A torch.export program records its inputs' shapes: a default text never overrides them.
  const bool recordsShapes = isTorchExportArchive(location.modelFile);
  const bool useText = request.text || (tokenizer && request.specs.empty() && !recordsShapes);
  if (request.text && !tokenizer)
    throw UserError("--input-text needs the model's tokenizer, but " + location.directory +
                    " holds none of vocab.txt (WordPiece), vocab.json + merges.txt (BPE) or tokenizer.json; put the "
                    "TorchScript file in a directory with them, or use --input-shape / --input-spec");
  if (useText) {
    const std::string text = request.text.value_or(kDefaultInputText);
    std::vector<int64_t> shape;
    size_t maxLength = 0;
    if (request.shape) {
      if (request.shape->empty()) throw UserError("--input-shape is empty");
      shape = *request.shape;
      maxLength = static_cast<size_t>(shape.back());
    }
    EncodedText encoded = tokenizer->encode(text, maxLength);
    if (!request.shape && tokenizer->maxPositions > 0 && encoded.ids.size() > tokenizer->maxPositions)
      encoded = tokenizer->encode(text, tokenizer->maxPositions);
    if (!request.shape) shape = {1, static_cast<int64_t>(encoded.ids.size())};
    resolved.inputShape = shape;
    resolved.namedInputs = textInputs(encoded, shape, "--input-text");
    resolved.description = "inputs from the text " + quoteForMessage(text) + ": " + std::to_string(encoded.tokenCount) +
                           " tokens (" + tokenizer->kind + ", " + tokenizer->files + ")" +
                           (encoded.truncated ? ", truncated" : "") +
                           (encoded.ids.size() > encoded.tokenCount ? ", padded to " + std::to_string(encoded.ids.size())
                                                                    : "");
  }
  // --input-spec wins over the text for the inputs it names.
  for (auto& spec : specInputs) {
    for (auto it = resolved.namedInputs.begin(); it != resolved.namedInputs.end();)
      it = it->name == spec.name ? resolved.namedInputs.erase(it) : it + 1;
    resolved.namedInputs.push_back(spec);
  }
  if (resolved.description.empty())
    resolved.description = request.specs.empty() ? "inputs inferred from the graph" : "inputs from --input-spec";
  return resolved;
}

}  // namespace modelexport

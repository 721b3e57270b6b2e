#pragma once
// From what the user typed (MODEL_NAME_OR_PATH, --input-text, --input-shape,
// --input-spec) to the TorchScript file and the example inputs given by name.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "modelexport/named_inputs.h"
#include "modelexport/tokenizer_files.h"

namespace modelexport {

constexpr const char* kEmbeddedInputsFile = "modelexport/inputs.json";
constexpr const char* kEmbeddedProgramFile = "modelexport/program.json";
constexpr const char* kDefaultInputText = "Hello world";

struct InputRequest {
  std::string modelNameOrPath;
  std::optional<std::string> text;                // --input-text
  std::optional<std::vector<int64_t>> shape;      // --input-shape, when given
  std::vector<InputSpec> specs;                   // --input-spec
};

struct ResolvedInputs {
  std::string modelFile;  // the .pt or .pt2
  std::vector<int64_t> inputShape{1, 128};  // for inputs nothing names
  std::vector<NamedInput> namedInputs;
  std::string description;  // one line: where the example inputs come from
  std::vector<std::string> readFiles;  // the model file and the directory's tokenizer/config files
};

// The example inputs a TorchScript archive carries (extra file modelexport/inputs.json):
// {"inputs": [{"name", "dtype", "shape", "values"?}, ...]}; nullopt when it has none.
std::optional<std::vector<NamedInput>> readEmbeddedInputs(const std::string& modelPath);

// What the Python front end (and modelexport.export) records in a .pt2 beside the
// inputs (extra file modelexport/program.json): the dims' and outputs' names, where
// the model and its inputs came from, versions and timings.
struct EmbeddedProgramInfo {
  std::map<std::string, std::map<int64_t, std::string>> dynamicAxes;  // input -> dim -> name
  std::vector<std::string> outputNames;
  nlohmann::json document;
};
std::optional<EmbeddedProgramInfo> readEmbeddedProgramInfo(const std::string& modelPath);

// input_ids, attention_mask, token_type_ids and position_ids of `shape` (last dim: the
// sequence; leading dims repeat it), all optional for the model.
std::vector<NamedInput> textInputs(const EncodedText& encoded, const std::vector<int64_t>& shape,
                                   const std::string& origin);

// Precedence: --input-spec names its inputs; --input-text (or, with a tokenizer in the
// model's directory and no other input option, "Hello world") fills the token inputs;
// with no input option at all, modelexport/inputs.json comes first.
ResolvedInputs resolveInputs(const InputRequest& request);

}  // namespace modelexport

#pragma once
// Example inputs given by name (--input-spec, --input-text, modelexport/inputs.json),
// merged with what the exporter infers for the model's forward arguments.
#include <optional>
#include <string>
#include <vector>

#include <torch/script.h>

#include "modelexport/example_inputs.h"

namespace modelexport {

struct NamedInput {
  std::string name;
  std::optional<at::ScalarType> dtype;        // unset: the inferred dtype
  std::optional<std::vector<int64_t>> shape;  // unset: the values' shape, else the inferred one
  at::Tensor values;                          // undefined: generated as for inferred inputs
  bool optional = false;  // offered by a tokenizer: a model without this input ignores it
  std::string origin;     // "--input-spec", "--input-text", ... (for messages)
};

// Overrides the inferred specs by name and returns the example tensors in forward
// order. Values are cast to the input's dtype. Throws UserError for a name the model
// does not take (unless optional) or when nothing optional matched at all.
std::vector<c10::IValue> assembleExampleInputs(std::vector<InputSpec>& specs, const std::vector<NamedInput>& given);

}  // namespace modelexport

#include "modelexport/named_inputs.h"

#include "modelexport/errors.h"

namespace modelexport {

std::vector<c10::IValue> assembleExampleInputs(std::vector<InputSpec>& specs, const std::vector<NamedInput>& given) {
  std::string modelInputs;
  for (const auto& s : specs) modelInputs += (modelInputs.empty() ? "" : ", ") + s.name;
  std::vector<const NamedInput*> byPosition(specs.size(), nullptr);
  bool anyOptionalMatched = false, allOptional = !given.empty();
  std::string offered;
  for (const auto& input : given) {
    size_t index = specs.size();
    for (size_t i = 0; i < specs.size(); ++i)
      if (specs[i].name == input.name) index = i;
    allOptional = allOptional && input.optional;
    if (input.optional) offered += (offered.empty() ? "" : ", ") + input.name;
    if (index == specs.size()) {
      if (input.optional) continue;
      throw UserError(input.origin + " names input '" + input.name + "', but the model's inputs are " +
                      (modelInputs.empty() ? std::string("none") : modelInputs));
    }
    anyOptionalMatched = anyOptionalMatched || input.optional;
    byPosition[index] = &input;
  }
  if (allOptional && !anyOptionalMatched)
    throw UserError(given.front().origin + " gives " + offered + ", none of which the model takes (its inputs are " +
                    modelInputs + "); use --input-spec or --input-shape instead");

  for (size_t i = 0; i < specs.size(); ++i) {
    const NamedInput* input = byPosition[i];
    if (!input) continue;
    if (input->dtype) specs[i].dtype = *input->dtype;
    if (input->shape) {
      specs[i].shape = *input->shape;
    } else if (input->values.defined()) {
      specs[i].shape = input->values.sizes().vec();
    }
  }
  std::vector<c10::IValue> inputs = makeExampleInputs(specs);
  for (size_t i = 0; i < specs.size(); ++i) {
    const NamedInput* input = byPosition[i];
    if (!input || !input->values.defined()) continue;
    if (input->values.sizes().vec() != specs[i].shape)
      throw UserError(input->origin + ": input '" + input->name + "' has " + std::to_string(input->values.numel()) +
                      " values, which do not fill its shape");
    inputs[i] = input->values.to(specs[i].dtype).contiguous();
  }
  return inputs;
}

}  // namespace modelexport

#include "modelexport/model_file_inputs.h"

#include <utility>

namespace modelexport {

ModelFileInputs applyModelFileInputs(const InputRequest& request, ExportOptions& options) {
  ModelFileInputs inputs;
  inputs.resolved = resolveInputs(request);
  options.modelPath = inputs.resolved.modelFile;
  options.inputFiles = inputs.resolved.readFiles;
  options.inputShape = inputs.resolved.inputShape;
  options.inputShapeGiven = request.shape.has_value();
  options.namedInputs = inputs.resolved.namedInputs;
  if (auto info = readEmbeddedProgramInfo(inputs.resolved.modelFile)) {
    // The names a program records (modelexport/program.json) unless the command line gives them.
    if (options.outputNames.empty()) options.outputNames = info->outputNames;
    for (const auto& [input, dims] : info->dynamicAxes)
      if (!options.dynamicAxes.count(input)) options.dynamicAxes[input] = dims;
    inputs.program = std::move(info->document);
  }
  return inputs;
}

}  // namespace modelexport

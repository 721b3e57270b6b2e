#pragma once
// The export command's step from a model file and the input options to ExportOptions:
// shared by `modelexport export` and the tests that run an export in their own process, so
// both resolve inputs and a .pt2's recorded names the same way.
#include <nlohmann/json.hpp>

#include "modelexport/exporter.h"
#include "modelexport/input_resolution.h"

namespace modelexport {

struct ModelFileInputs {
  ResolvedInputs resolved;
  nlohmann::json program;  // the .pt2's modelexport/program.json, or null
};

// Resolves `request` (resolveInputs) into `options`: the model file, the files read, the
// input shape and named inputs; then the output names and dynamic axes a .pt2 records,
// where the command line gave none for them.
ModelFileInputs applyModelFileInputs(const InputRequest& request, ExportOptions& options);

}  // namespace modelexport

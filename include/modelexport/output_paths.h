#pragma once
// Guards a command's outputs against its inputs: writing an output that is one of the
// files the command reads (the same path, a symlink or a hard link to it) would destroy
// the user's file, so it is refused before any work.
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

namespace modelexport {

// Throws UserError "<output>: is the input <input> ..." for the first output that is the
// same file as an existing input. Outputs or inputs that do not exist are not compared
// (a file that does not exist cannot be destroyed).
void refuseOutputsOverInputs(const std::vector<std::string>& outputs, const std::vector<std::string>& inputs);

// The files a model's external-data initializers point at, relative to `modelDir`.
std::vector<std::string> externalDataFiles(const onnx::ModelProto& model, const std::string& modelDir);

}  // namespace modelexport

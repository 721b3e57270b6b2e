#pragma once
// write stage: checker, shape inference, ONNX files written atomically and read back.
#include <functional>
#include <ostream>
#include <string>

#include <onnx/onnx_pb.h>

#include "modelexport/temporary_file.h"  // writeFileAtomically, which the writers here use

namespace modelexport {

// onnx checker plus strict shape inference with type checks (what Python's
// check_model(full_check=True) does). Throws UserError with the first problem;
// NewerOpsetNeeded when it is a type an op has only from a later opset this binary writes.
// `modelDir`: where the model's external data files are (its file's directory).
void checkModelFull(const onnx::ModelProto& model, const std::string& modelDir = "");

// Fills graph.value_info from ONNX shape inference.
void inferValueInfo(onnx::ModelProto& model);

void writeModelAtomically(const onnx::ModelProto& model, const std::string& path,
                          const std::string& tempDir = "");

onnx::ModelProto readModel(const std::string& path);

// Replaces external-data references (relative to `modelDir`) with the bytes themselves,
// so the model can be written anywhere. Throws UserError when a file is short or missing.
void inlineExternalData(onnx::ModelProto& model, const std::string& modelDir);

}  // namespace modelexport

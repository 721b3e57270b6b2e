#pragma once
// A folder with example inputs and LibTorch's outputs (io.json + raw little-endian
// files), read by the onnxruntime check in the tests.
#include <string>
#include <vector>

#include <torch/script.h>

namespace modelexport {

void writeReferenceIo(const std::string& dir, const std::vector<std::string>& inputNames,
                      const std::vector<c10::IValue>& inputs,
                      const std::vector<std::string>& outputNames,
                      const std::vector<at::Tensor>& outputs);

// Flattens tuples and lists of tensors returned by forward.
std::vector<at::Tensor> flattenOutputs(const c10::IValue& value);

}  // namespace modelexport

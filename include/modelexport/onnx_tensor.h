#pragma once
// Conversions between LibTorch tensors/dtypes and ONNX TensorProto/data types.
#include <string>

#include <onnx/onnx_pb.h>
#include <torch/script.h>

namespace modelexport {

// Throws UserError for dtypes ONNX cannot hold (complex, quantized).
int32_t onnxDataType(at::ScalarType type);
at::ScalarType torchDataType(int32_t onnxType);

// A graph input/output of that dtype and fixed shape.
onnx::ValueInfoProto tensorValueInfo(const std::string& name, at::ScalarType type, const std::vector<int64_t>& shape);

// Copies the tensor's bytes once into raw_data.
onnx::TensorProto toTensorProto(const at::Tensor& tensor, const std::string& name);
at::Tensor fromTensorProto(const onnx::TensorProto& proto);

}  // namespace modelexport

#pragma once
// Small constructors for ONNX node attributes.
#include <cstdint>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

namespace modelexport::attr {

onnx::AttributeProto i(const std::string& name, int64_t value);
onnx::AttributeProto f(const std::string& name, float value);
onnx::AttributeProto s(const std::string& name, const std::string& value);
onnx::AttributeProto ints(const std::string& name, const std::vector<int64_t>& values);
onnx::AttributeProto floats(const std::string& name, const std::vector<float>& values);
onnx::AttributeProto strings(const std::string& name, const std::vector<std::string>& values);
onnx::AttributeProto tensor(const std::string& name, const onnx::TensorProto& value);
onnx::AttributeProto graph(const std::string& name, const onnx::GraphProto& value);

}  // namespace modelexport::attr

#include "modelexport/onnx_tensor.h"

#include <cstring>

#include "modelexport/errors.h"

namespace modelexport {

int32_t onnxDataType(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return onnx::TensorProto::FLOAT;
    case at::kDouble: return onnx::TensorProto::DOUBLE;
    case at::kHalf: return onnx::TensorProto::FLOAT16;
    case at::kBFloat16: return onnx::TensorProto::BFLOAT16;
    case at::kLong: return onnx::TensorProto::INT64;
    case at::kInt: return onnx::TensorProto::INT32;
    case at::kShort: return onnx::TensorProto::INT16;
    case at::kChar: return onnx::TensorProto::INT8;
    case at::kByte: return onnx::TensorProto::UINT8;
    case at::kBool: return onnx::TensorProto::BOOL;
    default:
      throw UserError(std::string("tensors of dtype ") + c10::toString(type) +
                      " cannot be stored in ONNX");
  }
}

at::ScalarType torchDataType(int32_t onnxType) {
  switch (onnxType) {
    case onnx::TensorProto::FLOAT: return at::kFloat;
    case onnx::TensorProto::DOUBLE: return at::kDouble;
    case onnx::TensorProto::FLOAT16: return at::kHalf;
    case onnx::TensorProto::BFLOAT16: return at::kBFloat16;
    case onnx::TensorProto::INT64: return at::kLong;
    case onnx::TensorProto::INT32: return at::kInt;
    case onnx::TensorProto::INT16: return at::kShort;
    case onnx::TensorProto::INT8: return at::kChar;
    case onnx::TensorProto::UINT8: return at::kByte;
    case onnx::TensorProto::BOOL: return at::kBool;
    default: throw UserError("unsupported ONNX tensor data type " + std::to_string(onnxType));
  }
}

onnx::TensorProto toTensorProto(const at::Tensor& tensor, const std::string& name) {
  onnx::TensorProto proto;
  proto.set_name(name);
  proto.set_data_type(onnxDataType(tensor.scalar_type()));
  for (int64_t d : tensor.sizes()) proto.add_dims(d);
  at::Tensor dense = tensor.contiguous();
  proto.set_raw_data(dense.data_ptr(), dense.numel() * dense.element_size());
  return proto;
}

at::Tensor fromTensorProto(const onnx::TensorProto& proto) {
  std::vector<int64_t> dims(proto.dims().begin(), proto.dims().end());
  auto type = torchDataType(proto.data_type());
  at::Tensor t = torch::empty(dims, torch::TensorOptions().dtype(type));
  const size_t bytes = t.numel() * t.element_size();
  if (proto.has_raw_data()) {
    if (proto.raw_data().size() != bytes) throw UserError("initializer " + proto.name() + " has the wrong byte size");
    if (bytes > 0) std::memcpy(t.data_ptr(), proto.raw_data().data(), bytes);
    return t;
  }
  switch (proto.data_type()) {
    case onnx::TensorProto::FLOAT:
      std::memcpy(t.data_ptr(), proto.float_data().data(), std::min<size_t>(bytes, proto.float_data_size() * 4));
      break;
    case onnx::TensorProto::INT64:
      std::memcpy(t.data_ptr(), proto.int64_data().data(), std::min<size_t>(bytes, proto.int64_data_size() * 8));
      break;
    case onnx::TensorProto::DOUBLE:
      std::memcpy(t.data_ptr(), proto.double_data().data(), std::min<size_t>(bytes, proto.double_data_size() * 8));
      break;
    default: {
      // int32, int16, int8, uint8, bool, float16 are all held in int32_data.
      auto flat = t.view({-1});
      for (int64_t k = 0; k < t.numel() && k < proto.int32_data_size(); ++k) {
        if (type == at::kHalf) {
          uint16_t bits = static_cast<uint16_t>(proto.int32_data(k));
          std::memcpy(static_cast<char*>(t.data_ptr()) + 2 * k, &bits, 2);
        } else {
          flat[k] = proto.int32_data(k);
        }
      }
    }
  }
  return t;
}

onnx::ValueInfoProto tensorValueInfo(const std::string& name, at::ScalarType type, const std::vector<int64_t>& shape) {
  onnx::ValueInfoProto info;
  info.set_name(name);
  auto* tensor = info.mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(onnxDataType(type));
  auto* dims = tensor->mutable_shape();
  for (int64_t d : shape) dims->add_dim()->set_dim_value(d);
  return info;
}

}  // namespace modelexport

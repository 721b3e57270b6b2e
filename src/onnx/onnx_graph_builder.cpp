#include "modelexport/onnx_graph_builder.h"

#include <cstring>
#include <tuple>

#include "modelexport/onnx_tensor.h"

namespace modelexport {
namespace {

uint64_t fnv1a(const void* data, size_t size, uint64_t seed) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  uint64_t hash = seed;
  // Hashing every byte of large weights is slow; a strided sample plus the length and
  // full compare on collision keeps dedup exact.
  const size_t step = size > (1u << 16) ? size / 4096 : 1;
  for (size_t i = 0; i < size; i += step) {
    hash ^= bytes[i];
    hash *= 1099511628211ull;
  }
  return hash ^ size;
}

}  // namespace

onnx::NodeProto& OnnxGraphBuilder::addNode(const std::string& opType,
                                           const std::vector<std::string>& inputs,
                                           const std::vector<std::string>& outputs,
                                           const std::vector<onnx::AttributeProto>& attributes) {
  EmittedNode node;
  node.proto.set_op_type(opType);
  for (const auto& in : inputs) node.proto.add_input(in);
  for (const auto& out : outputs) {
    node.proto.add_output(out);
    usedNames_.insert(out);
  }
  for (const auto& a : attributes) *node.proto.add_attribute() = a;
  node.tag = currentTag_;
  if (!scopes_.empty()) std::tie(node.parent, node.branch) = scopes_.back();
  nodes_.push_back(std::move(node));
  return nodes_.back().proto;
}

std::string OnnxGraphBuilder::freshName(const std::string& hint) {
  std::string base = hint.empty() ? "t" : hint;
  if (usedNames_.insert(base).second) return base;
  int& counter = nameCounters_[base];
  std::string name;
  do {
    name = base + "_" + std::to_string(++counter);
  } while (usedNames_.count(name));
  usedNames_.insert(name);
  return name;
}

std::string OnnxGraphBuilder::addInitializer(const at::Tensor& tensor, const std::string& nameHint) {
  at::Tensor dense = tensor.contiguous();
  const size_t bytes = dense.numel() * dense.element_size();
  uint64_t hash = fnv1a(dense.data_ptr(), bytes, 1469598103934665603ull ^ (uint64_t)dense.scalar_type());
  for (int64_t d : dense.sizes()) hash = hash * 31 + (uint64_t)d;
  auto range = initializerByHash_.equal_range(hash);
  for (auto it = range.first; it != range.second; ++it) {
    const auto& existing = initializers_[it->second];
    if (existing.data_type() != onnxDataType(dense.scalar_type())) continue;
    if ((int64_t)existing.dims_size() != dense.dim()) continue;
    bool sameDims = true;
    for (int64_t k = 0; k < dense.dim(); ++k) sameDims = sameDims && existing.dims(k) == dense.size(k);
    if (!sameDims) continue;
    auto payload = payloads_.byName.find(existing.name());
    const void* data = payload != payloads_.byName.end() ? payload->second.data_ptr()
                                                        : static_cast<const void*>(existing.raw_data().data());
    const size_t existingBytes = payload != payloads_.byName.end() ? bytes : existing.raw_data().size();
    if (existingBytes == bytes && std::memcmp(data, dense.data_ptr(), bytes) == 0) return existing.name();
  }
  std::string name = freshName(nameHint);
  if (bytes >= kPayloadThresholdBytes) {
    initializers_.push_back(payloadPlaceholder(dense, name));
    payloads_.byName[name] = dense;
  } else {
    initializers_.push_back(toTensorProto(dense, name));
  }
  initializerByHash_.emplace(hash, initializers_.size() - 1);
  return name;
}

void OnnxGraphBuilder::renameTensor(const std::string& from, const std::string& to) {
  if (from == to) return;
  usedNames_.insert(to);
  for (auto& node : nodes_) {
    for (auto& in : *node.proto.mutable_input())
      if (in == from) in = to;
    for (auto& out : *node.proto.mutable_output())
      if (out == from) out = to;
  }
  for (auto& init : initializers_)
    if (init.name() == from) init.set_name(to);
  auto payload = payloads_.byName.find(from);
  if (payload != payloads_.byName.end()) {
    payloads_.byName[to] = payload->second;
    payloads_.byName.erase(from);
  }
}

}  // namespace modelexport

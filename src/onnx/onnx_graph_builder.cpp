#include "modelexport/onnx_graph_builder.h"

#include <algorithm>
#include <cstring>
#include <tuple>

#include "modelexport/file_backed_tensors.h"
#include "modelexport/onnx_tensor.h"
#include "modelexport/weight_payloads.h"

namespace modelexport {
namespace {

// FNV-1a over a strided sample of the elements (every element of small tensors), read
// through the strides so a view hashes like its contiguous copy. Equal hashes are
// confirmed byte for byte, so dedup stays exact.
uint64_t sampledHash(const at::Tensor& t, uint64_t seed) {
  const auto* base = static_cast<const unsigned char*>(t.data_ptr());
  const int64_t n = t.numel();
  const size_t elementSize = t.element_size();
  const int64_t step = n > 16384 ? n / 4096 : 1;
  uint64_t hash = seed;
  for (int64_t i = 0; i < n; i += step) {
    int64_t rest = i, offset = 0;
    for (int64_t d = t.dim() - 1; d >= 0; --d) {
      offset += (rest % t.size(d)) * t.stride(d);
      rest /= t.size(d);
    }
    for (size_t b = 0; b < elementSize; ++b) {
      hash ^= base[static_cast<size_t>(offset) * elementSize + b];
      hash *= 1099511628211ull;
    }
  }
  return hash ^ static_cast<uint64_t>(n);
}

// What a tensor reads: where, as what, in which order. Equal for two tensor objects over
// the same weight (tied weights), without reading a byte.
OnnxGraphBuilder::MemoryViewed memoryViewed(const at::Tensor& t) {
  return {t.data_ptr(), static_cast<int>(t.scalar_type()), t.sizes().vec(), t.strides().vec()};
}

// Same bytes, whatever the strides; views are compared a few MiB at a time.
bool sameBytes(const at::Tensor& a, const at::Tensor& b) {
  const size_t bytes = tensorBytes(a);
  if (bytes == 0) return true;  // an empty tensor's data pointer may be null
  if (a.is_contiguous() && b.is_contiguous()) return std::memcmp(a.data_ptr(), b.data_ptr(), bytes) == 0;
  if (a.dim() == 0) return std::memcmp(a.data_ptr(), b.data_ptr(), a.element_size()) == 0;
  const int64_t rows = a.size(0);
  const int64_t step = rowsPerSlice(a);
  for (int64_t r = 0; r < rows; r += step) {
    const at::Tensor x = a.slice(0, r, std::min(rows, r + step)).contiguous();
    const at::Tensor y = b.slice(0, r, std::min(rows, r + step)).contiguous();
    if (std::memcmp(x.data_ptr(), y.data_ptr(), tensorBytes(x)) != 0) return false;
  }
  return true;
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
  const size_t bytes = tensorBytes(tensor);
  const bool isPayload = bytes >= kPayloadThresholdBytes;
  // A large view (a transposed Linear weight) stays a view: the writer makes it
  // contiguous a slice at a time, so no second copy of the weights is ever held.
  at::Tensor dense = isPayload && !tensor.is_contiguous() ? tensor : tensor.contiguous();
  if (isPayload) {
    auto same = payloadByView_.find(memoryViewed(dense));
    if (same != payloadByView_.end()) return initializers_[same->second].name();
  }
  uint64_t hash = sampledHash(dense, 1469598103934665603ull ^ (uint64_t)dense.scalar_type());
  for (int64_t d : dense.sizes()) hash = hash * 31 + (uint64_t)d;
  if (isPayload) dropReadPages(dense);  // a mapped weight's sampled pages leave memory
  auto range = initializerByHash_.equal_range(hash);
  for (auto it = range.first; it != range.second; ++it) {
    const auto& existing = initializers_[it->second];
    if (existing.data_type() != onnxDataType(dense.scalar_type())) continue;
    if ((int64_t)existing.dims_size() != dense.dim()) continue;
    bool sameDims = true;
    for (int64_t k = 0; k < dense.dim(); ++k) sameDims = sameDims && existing.dims(k) == dense.size(k);
    if (!sameDims) continue;
    auto payload = payloads_.byName.find(existing.name());
    if (payload != payloads_.byName.end()) {
      if (isPayload) {
        const bool same = sameBytes(payload->second, dense);
        dropReadPages(payload->second);
        dropReadPages(dense);
        if (same) return existing.name();
      }
    } else if (!isPayload && existing.raw_data().size() == bytes &&
               (bytes == 0 || std::memcmp(existing.raw_data().data(), dense.data_ptr(), bytes) == 0)) {
      return existing.name();
    }
  }
  std::string name = freshName(nameHint);
  if (isPayload) {
    initializers_.push_back(payloadPlaceholder(dense, name));
    payloads_.byName[name] = dense;
    payloadByView_.emplace(memoryViewed(dense), initializers_.size() - 1);
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

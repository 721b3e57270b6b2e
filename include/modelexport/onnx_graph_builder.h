#pragma once
// Collects ONNX nodes and initializers; every node is stamped with the module of the
// TorchScript node being converted when it was emitted.
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <onnx/onnx_pb.h>
#include <torch/script.h>

#include "modelexport/node_tag.h"
#include "modelexport/weight_payloads.h"

namespace modelexport {

// A graph attribute (If's then_branch/else_branch, Loop's body): its nodes are the
// emitted nodes whose `parent` is the owner and `branch` its index here.
struct Subgraph {
  std::string attribute;
  std::vector<onnx::ValueInfoProto> inputs;
  std::vector<onnx::ValueInfoProto> outputs;
};

struct EmittedNode {
  onnx::NodeProto proto;
  NodeTag tag;
  std::vector<int> projectedFrom;  // consumers' modules, for projected nodes
  int parent = -1;                 // index of the node whose subgraph holds this one
  int branch = -1;                 // which of the parent's subgraphs
  std::vector<Subgraph> subgraphs;  // this node's graph attributes
};

class OnnxGraphBuilder {
 public:
  // The tag stamped on every node emitted from now on.
  void setCurrentTag(const NodeTag& tag) { currentTag_ = tag; }
  const NodeTag& currentTag() const { return currentTag_; }

  onnx::NodeProto& addNode(const std::string& opType, const std::vector<std::string>& inputs,
                           const std::vector<std::string>& outputs,
                           const std::vector<onnx::AttributeProto>& attributes = {});

  // Nodes added from now on go into subgraph `branch` of node `parent`, until the
  // matching leaveSubgraph (nests).
  void enterSubgraph(int parent, int branch) { scopes_.push_back({parent, branch}); }
  void leaveSubgraph() { scopes_.pop_back(); }
  bool inSubgraph() const { return !scopes_.empty(); }
  int lastNodeIndex() const { return static_cast<int>(nodes_.size()) - 1; }

  // A tensor name not used yet, close to `hint`.
  std::string freshName(const std::string& hint);
  void reserveName(const std::string& name) { usedNames_.insert(name); }

  // Adds an initializer, or returns the name of an identical one already added.
  std::string addInitializer(const at::Tensor& tensor, const std::string& nameHint);

  std::vector<EmittedNode>& nodes() { return nodes_; }
  const std::vector<EmittedNode>& nodes() const { return nodes_; }
  std::vector<onnx::TensorProto>& initializers() { return initializers_; }
  // Tensors of the large initializers, whose TensorProtos are placeholders.
  const WeightPayloads& payloads() const { return payloads_; }

  // Renames a tensor everywhere (used to give graph outputs their signature names).
  void renameTensor(const std::string& from, const std::string& to);

 public:
  // A tensor's data pointer, dtype, sizes and strides: large initializers are indexed by
  // it, so the same weight reached twice (tied weights) is found without reading it.
  using MemoryViewed = std::tuple<const void*, int, std::vector<int64_t>, std::vector<int64_t>>;

 private:
  NodeTag currentTag_;
  std::vector<std::pair<int, int>> scopes_;  // (parent, branch) of the subgraphs entered
  std::vector<EmittedNode> nodes_;
  std::vector<onnx::TensorProto> initializers_;
  WeightPayloads payloads_;
  std::unordered_multimap<uint64_t, size_t> initializerByHash_;
  std::map<MemoryViewed, size_t> payloadByView_;
  std::unordered_set<std::string> usedNames_;
  std::unordered_map<std::string, int> nameCounters_;
};

}  // namespace modelexport

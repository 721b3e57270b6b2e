#pragma once
// prepare stage: inline forward, fold parameters to constants, remove
// mutation and dropout, lower tuples. Every node keeps its InlinedCallStack.
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <torch/script.h>

namespace modelexport {

struct PreparedGraph {
  std::shared_ptr<torch::jit::Graph> graph;  // inputs: forward's arguments without self
  std::vector<std::string> inputNames;       // from the forward signature
  std::vector<std::string> outputNames;      // from the returned values' names
  // Constant values that were module parameters or buffers: their attribute path
  // ("encoder.layer.0.attention.self.query.weight").
  std::unordered_map<const torch::jit::Value*, std::string> parameterPaths;
};

PreparedGraph prepareGraph(const torch::jit::Module& module);

}  // namespace modelexport

// The prepare stage's parameter paths (PreparedGraph::parameterPaths): each names the
// constant a parameter was folded into, and nothing else. Passes destroy some of those
// constants (a branch constant propagation drops) and make new values afterwards, which
// the allocator may place where a destroyed constant was: a path kept by address would
// then name a value the graph computes, and that value's ONNX names would follow the
// heap (Falcon's causal mask was once named after an MLP weight, on some runs only).
#include <gtest/gtest.h>
#include <torch/script.h>

#include "modelexport/graph_preparation.h"

namespace modelexport {
namespace {

constexpr int kDroppedWeights = 24;

// A root whose `extra` flag is false: after folding, constant propagation drops the
// branch that reads the dropped weights; the unrolled loop then makes many new values.
torch::jit::Module moduleWithDroppedWeights() {
  torch::jit::Module root("Root");
  std::string sum = "x";
  for (int i = 0; i < kDroppedWeights; ++i) {
    const std::string name = "dropped" + std::to_string(i);
    root.register_parameter(name, torch::full({4}, static_cast<double>(i)), false);
    sum += " + self." + name;
  }
  root.register_parameter("kept", torch::ones({4}), false);
  root.register_attribute("extra", c10::BoolType::get(), false);
  root.define("def forward(self, x):\n"
              "  if self.extra:\n"
              "    x = " + sum + "\n"
              "  kept = self.kept\n"
              "  for i in range(32):\n"
              "    x = x * 1.5 + kept\n"
              "  return x\n");
  return root;
}

TEST(GraphPreparation, ParameterPathsNameOnlyTheFoldedConstants) {
  torch::jit::Module root = moduleWithDroppedWeights();
  PreparedGraph prepared = prepareGraph(root);
  bool keptFound = false;
  for (const auto& [value, path] : prepared.parameterPaths) {
    ASSERT_EQ(value->node()->kind(), c10::prim::Constant)
        << "'" << path << "' names %" << value->debugName() << ", made by " << value->node()->kind().toQualString();
    const at::Tensor constant = torch::jit::toIValue(value)->toTensor();
    EXPECT_EQ(constant.data_ptr(), root.attr(path).toTensor().data_ptr()) << path;
    keptFound = keptFound || path == "kept";
  }
  EXPECT_TRUE(keptFound) << "the weight the loop reads has no path";
}

}  // namespace
}  // namespace modelexport

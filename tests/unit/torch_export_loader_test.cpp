// The .pt2 loader's parameter paths (PreparedGraph::parameterPaths): each names a constant
// of the loaded graph holding that weight, and nothing else. Weights the forward never
// reads become constants that dead-code elimination destroys; a path kept by such a
// constant's address would outlive it, and a value made later at that address (the
// allocator reuses it) would take the weight's name and count as a parameter.
#include <unordered_set>

#include <gtest/gtest.h>

#include "kept_model_scripts.h"
#include "modelexport/torch_export_loader.h"
#include "test_support.h"

namespace modelexport::testing {
namespace {

// A module with one weight its forward reads and parameters and buffers it never reads
// (torch.export lifts them all), each filled with a value of its own
// (tests/tools/make_idle_weights_program.py, kept in the build tree).
class TorchExportLoader : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    made_ = runKeptModelScripts("torch_export_loader",
                                {{MODELEXPORT_VENV_PYTHON, "tests/tools/make_idle_weights_program.py"}}, "");
    program_ = made_.dir + "/idle_weights.pt2";
  }
  void SetUp() override { ASSERT_TRUE(made_.ok) << made_.log; }

  inline static MadeModels made_;
  inline static std::string program_;
};

TEST_F(TorchExportLoader, ParameterPathsNameOnlyConstantsOfTheGraph) {
  TorchExportModel model = loadTorchExport(program_);
  torch::jit::Graph& graph = *model.prepared.graph;
  std::unordered_set<const torch::jit::Value*> made;
  for (const torch::jit::Node* n : graph.nodes())
    for (const torch::jit::Value* v : n->outputs()) made.insert(v);

  bool keptFound = false;
  for (const auto& [value, path] : model.prepared.parameterPaths) {
    ASSERT_TRUE(made.count(value)) << "'" << path << "' names a value the graph no longer holds";
    ASSERT_EQ(value->node()->kind(), c10::prim::Constant) << "'" << path << "' names %" << value->debugName();
    EXPECT_EQ(path, "kept") << "the forward reads no other weight";
    EXPECT_TRUE(torch::jit::toIValue(value)->toTensor().equal(torch::full({4}, 100.0)));
    keptFound = true;
  }
  EXPECT_TRUE(keptFound) << "the weight the forward reads has no path";

  // Values made after loading (where the 32 destroyed constants' memory may go) have none.
  for (int i = 0; i < 64; ++i) {
    const torch::jit::Value* v = graph.insertConstant(torch::full({4}, static_cast<double>(i)));
    EXPECT_EQ(model.prepared.parameterPaths.count(v), 0u) << "a constant made after loading has a weight's path";
  }
}

}  // namespace
}  // namespace modelexport::testing

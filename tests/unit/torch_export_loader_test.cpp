// The .pt2 loader's parameter paths (PreparedGraph::parameterPaths): each names a constant
// of the loaded graph holding that weight, and nothing else. Weights the forward never
// reads become constants that dead-code elimination destroys; a path kept by such a
// constant's address would outlive it, and a value made later at that address (the
// allocator reuses it) would take the weight's name and count as a parameter.
#include <unistd.h>

#include <fstream>
#include <unordered_set>

#include <gtest/gtest.h>

#include "modelexport/torch_export_loader.h"
#include "test_support.h"

namespace modelexport::testing {
namespace {

// A module with one weight its forward reads and parameters and buffers it never reads
// (torch.export lifts them all), each filled with a value of its own.
const char* const kMakeProgram = R"(
import sys, torch
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.kept = torch.nn.Parameter(torch.full((4,), 100.0))
        for i in range(16):
            self.register_parameter(f"unused{i}", torch.nn.Parameter(torch.full((4,), float(i))))
            self.register_buffer(f"idle{i}", torch.full((4,), float(i) + 0.5))
    def forward(self, x):
        return x * self.kept
torch.export.save(torch.export.export(M().eval(), (torch.ones(2, 4),)), sys.argv[1])
)";

class TorchExportLoader : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // ctest runs each test in a process of its own, in parallel: a directory per process.
    const std::string dir = freshWorkDir("torch_export_loader/files-" + std::to_string(::getpid()));
    std::ofstream(dir + "/make_program.py") << kMakeProgram;
    program_ = dir + "/idle_weights.pt2";
    const ProcessResult made = runCommand(shellQuote(MODELEXPORT_VENV_PYTHON) + " " +
                                          shellQuote(dir + "/make_program.py") + " " + shellQuote(program_));
    made_ = made.exitCode == 0;
    log_ = made.output;
  }
  void SetUp() override { ASSERT_TRUE(made_) << log_; }

  static std::string program_, log_;
  static bool made_;
};
std::string TorchExportLoader::program_, TorchExportLoader::log_;
bool TorchExportLoader::made_ = false;

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

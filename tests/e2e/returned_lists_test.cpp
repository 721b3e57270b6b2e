// End-to-end: models that return a list of tensors (issue 23 item 5;
// tests/tools/make_optical_flow_models.py, torch 1.13 + torchvision 0.14). RAFT-small's
// trace returns its 12 flow predictions as a list: each becomes an ONNX output (it failed
// with "value '1966' was never produced", the converter's own message). A list the data
// sizes has no fixed set of outputs: one line naming the file, the output and its maker.
#include <regex>

#include <gtest/gtest.h>

#include "e2e_support.h"
#include "script_made_models.h"

namespace modelexport::e2e {
namespace {

class ReturnedLists : public ScriptMadeModels<ReturnedLists> {
 public:
  static MadeModels makeModels() {
    return runKeptModelScripts("returned_lists",
                               {{MODELEXPORT_PYTHON, "tests/tools/make_optical_flow_models.py"}}, /*manifestName=*/"");
  }

 protected:
  void SetUp() override { ASSERT_TRUE(ok_) << log_; }

  // Exports, checks stamps, outputs, the checker and onnxruntime against LibTorch.
  void expectListExported(const std::string& name, const std::string& shape, int outputs,
                          const std::string& rootModule) {
    const std::string out = freshWorkDir("e2e/returned_lists/" + name);
    auto run = runModelexportSplit("export " + shellQuote(dir_ + "/" + name + ".pt") + " " +
                                   shellQuote(out + "/model.onnx") + " --input-shape " + shape + " --dump-io " +
                                   shellQuote(out + "/io"));
    ASSERT_EQ(run.exitCode, 0) << run.out << run.err;
    std::smatch counts;
    EXPECT_TRUE(std::regex_search(run.out, counts, std::regex(R"((\d+) nodes, \1 stamped \(100%\))"))) << run.out;
    std::cout << name << ": " << counts[0] << "\n";
    const auto model = loadModel(out + "/model.onnx");
    EXPECT_EQ(model.graph().output_size(), outputs);
    // Every node under the model's own modules.
    const auto sidecar = readJson(out + "/model_hierarchy.json");
    for (const auto& node : sidecar.at("nodes"))
      EXPECT_EQ(node.value("hierarchy_path", "").rfind("/" + rootModule, 0), 0u) << node.dump();
    auto checked = pythonOnnxCheck(out + "/model.onnx");
    EXPECT_EQ(checked.exitCode, 0) << checked.output;
    auto ort = ortCheck(out + "/model.onnx", out + "/io", 1e-4);
    EXPECT_EQ(ort.exitCode, 0) << ort.output;
    std::cout << name << ": " << ort.output;
  }
};

TEST_F(ReturnedLists, RaftSmallReturnsItsFlowPredictions) {
  expectListExported("raft_small", "1,3,128,128", 12, "RAFT");
}

TEST_F(ReturnedLists, TracedListOfUpsampledFlows) { expectListExported("flow_list", "1,3,8,8", 3, "FlowList"); }

TEST_F(ReturnedLists, AListTheDataSizesIsRefusedInOneLine) {
  const std::string out = freshWorkDir("e2e/returned_lists/runtime_list");
  auto run = runModelexportSplit("export " + shellQuote(dir_ + "/runtime_list.pt") + " " +
                                 shellQuote(out + "/model.onnx") + " --input-shape 2,3");
  EXPECT_EQ(run.exitCode, 1);
  EXPECT_NE(run.err.find("runtime_list.pt: output 0 ('out'), a Tensor[] made by prim::ListConstruct in /RuntimeList"),
            std::string::npos)
      << run.err;
  EXPECT_EQ(run.err.find("never produced"), std::string::npos) << run.err;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  EXPECT_TRUE(listDirectory(out).empty());
}

}  // namespace
}  // namespace modelexport::e2e

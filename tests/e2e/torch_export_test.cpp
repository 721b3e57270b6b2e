// End-to-end: torch.export archives (.pt2) made by torch 2.13 export with the same tags,
// stamps and module tree as the TorchScript trace of the same model, run in onnxruntime
// with LibTorch's numbers, keep symbolic dims, and bad .pt2 files get one-line errors.
#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "e2e_support.h"
#include "script_made_models.h"

namespace fs = std::filesystem;

namespace modelexport::e2e {
namespace {

class TorchExportTest : public ScriptMadeModels<TorchExportTest> {
 public:
  static MadeModels makeModels() {
    return runKeptModelScripts("torch_export",
                               {{MODELEXPORT_VENV_PYTHON, "tests/tools/make_pt2_inputs.py"}}, /*manifestName=*/"");
  }

 protected:
  void SetUp() override {
    ASSERT_TRUE(ok_) << log_;
    out_ = freshWorkDir(std::string("e2e/torch_export/out/") +
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }

  // (hierarchy_path, op_type, hierarchy_module) of every node, counted.
  static std::map<std::tuple<std::string, std::string, std::string>, int> stampsOf(const std::string& sidecar) {
    std::map<std::tuple<std::string, std::string, std::string>, int> counts;
    const auto doc = readJson(sidecar);  // a range over a temporary's member would dangle
    for (const auto& node : doc["nodes"])
      counts[{node.value("hierarchy_path", ""), node.value("op_type", ""), node.value("hierarchy_module", "")}]++;
    return counts;
  }

  std::string out_;
};

TEST_F(TorchExportTest, Pt2ExportsLikeTheTorchScriptOfTheSameModel) {
  auto pt2 = runModelexportSplit("export " + shellQuote(dir_ + "/blocks.pt2") + " " + shellQuote(out_ + "/p.onnx") +
                                 " --dump-io " + shellQuote(out_ + "/io"));
  ASSERT_EQ(pt2.exitCode, 0) << pt2.err;
  EXPECT_NE(pt2.out.find("37 stamped (100%)"), std::string::npos) << pt2.out;
  auto ts = runModelexportSplit("export " + shellQuote(dir_ + "/blocks.pt") + " " + shellQuote(out_ + "/t.onnx") +
                                " --input-shape 2,5,6");
  ASSERT_EQ(ts.exitCode, 0) << ts.err;

  EXPECT_EQ(stampsOf(out_ + "/p_hierarchy.json"), stampsOf(out_ + "/t_hierarchy.json"));
  const auto pModules = readJson(out_ + "/p_hierarchy.json")["modules"];
  const auto tModules = readJson(out_ + "/t_hierarchy.json")["modules"];
  ASSERT_EQ(pModules.size(), tModules.size());
  for (size_t i = 0; i < pModules.size(); ++i) {
    EXPECT_EQ(pModules[i]["path"], tModules[i]["path"]);
    EXPECT_EQ(pModules[i]["class"], tModules[i]["class"]);
    EXPECT_EQ(pModules[i]["tag"], tModules[i]["tag"]);
  }
  // The program's recorded input shape, not the default --input-shape.
  const auto model = loadModel(out_ + "/p.onnx");
  ASSERT_EQ(model.graph().input_size(), 1);
  const auto& dims = model.graph().input(0).type().tensor_type().shape().dim();
  ASSERT_EQ(dims.size(), 3);
  EXPECT_EQ(dims[0].dim_value(), 2);
  EXPECT_EQ(dims[2].dim_value(), 6);

  auto checked = pythonOnnxCheck(out_ + "/p.onnx");
  EXPECT_EQ(checked.exitCode, 0) << checked.output;
  auto ort = ortCheck(out_ + "/p.onnx", out_ + "/io");
  EXPECT_EQ(ort.exitCode, 0) << ort.output;
}

TEST_F(TorchExportTest, SymbolicBatchBecomesADimParamAndRunsAtAnotherBatch) {
  auto run = runModelexportSplit("export " + shellQuote(dir_ + "/blocks_dynamic.pt2") + " " +
                                 shellQuote(out_ + "/d.onnx") + " --dump-io " + shellQuote(out_ + "/io") +
                                 " --input-shape 3,5,6");
  ASSERT_EQ(run.exitCode, 0) << run.err;
  const auto model = loadModel(out_ + "/d.onnx");
  const auto& in = model.graph().input(0).type().tensor_type().shape().dim();
  ASSERT_EQ(in.size(), 3);
  EXPECT_FALSE(in[0].dim_param().empty()) << "batch should be symbolic";
  EXPECT_EQ(in[1].dim_value(), 5);
  for (const auto& output : model.graph().output())
    EXPECT_EQ(output.type().tensor_type().shape().dim(0).dim_param(), in[0].dim_param()) << output.name();
  // The io was dumped at batch 3 (given --input-shape), the file was made for any batch.
  auto ort = ortCheck(out_ + "/d.onnx", out_ + "/io");
  EXPECT_EQ(ort.exitCode, 0) << ort.output;
}

// modelexport/program.json (written by the Python front end and modelexport.export) names
// the symbolic dims and the outputs; modelexport/inputs.json gives the example inputs.
TEST_F(TorchExportTest, ProgramJsonNamesDimsAndOutputs) {
  auto run = runModelexportSplit("export " + shellQuote(dir_ + "/blocks_named.pt2") + " " +
                                 shellQuote(out_ + "/n.onnx") + " --dump-io " + shellQuote(out_ + "/io") + " -v");
  ASSERT_EQ(run.exitCode, 0) << run.err;
  EXPECT_NE(run.err.find("a test's own example"), std::string::npos) << run.err;
  const auto model = loadModel(out_ + "/n.onnx");
  EXPECT_EQ(model.graph().input(0).type().tensor_type().shape().dim(0).dim_param(), "batch_size");
  ASSERT_EQ(model.graph().output_size(), 2);
  EXPECT_EQ(model.graph().output(0).name(), "features");
  EXPECT_EQ(model.graph().output(1).name(), "mean");
  EXPECT_EQ(model.graph().output(0).type().tensor_type().shape().dim(0).dim_param(), "batch_size");
  auto ort = ortCheck(out_ + "/n.onnx", out_ + "/io");
  EXPECT_EQ(ort.exitCode, 0) << ort.output;
  // --output-names still wins over the recorded names.
  auto renamed = runModelexportSplit("export " + shellQuote(dir_ + "/blocks_named.pt2") + " " +
                                     shellQuote(out_ + "/r.onnx") + " --output-names y,z");
  ASSERT_EQ(renamed.exitCode, 0) << renamed.err;
  EXPECT_EQ(loadModel(out_ + "/r.onnx").graph().output(0).name(), "y");
}

// A .pt2 in a directory that also holds a tokenizer: the program's recorded shapes stand,
// no default text ("Hello world") replaces them.
TEST_F(TorchExportTest, Pt2InAModelDirectoryKeepsItsRecordedInputs) {
  const std::string dir = out_ + "/model_dir";
  fs::create_directories(dir);
  fs::copy_file(dir_ + "/blocks_dynamic.pt2", dir + "/model.pt2");
  fs::copy_file(std::string(MODELEXPORT_SOURCE_DIR) + "/tests/data/tokenizers/wordpiece/vocab.txt", dir + "/vocab.txt");
  auto run = runModelexportSplit("export " + shellQuote(dir) + " " + shellQuote(out_ + "/m.onnx"));
  ASSERT_EQ(run.exitCode, 0) << run.err;
  const auto model = loadModel(out_ + "/m.onnx");
  ASSERT_EQ(model.graph().input_size(), 1);
  EXPECT_EQ(model.graph().input(0).type().tensor_type().shape().dim(1).dim_value(), 5);
  EXPECT_EQ(model.graph().input(0).type().tensor_type().shape().dim(2).dim_value(), 6);
}

// A dict return (Hugging Face ModelOutputs traced with strict=False): its values are the
// outputs, named by their keys.
TEST_F(TorchExportTest, TracedDictOutputsAreNamedByTheirKeys) {
  auto run = runModelexportSplit("export " + shellQuote(dir_ + "/dict_output.pt") + " " + shellQuote(out_ + "/o.onnx") +
                                 " --input-shape 2,5,6 --dump-io " + shellQuote(out_ + "/io"));
  ASSERT_EQ(run.exitCode, 0) << run.err;
  const auto model = loadModel(out_ + "/o.onnx");
  ASSERT_EQ(model.graph().output_size(), 2);
  EXPECT_EQ(model.graph().output(0).name(), "hidden");
  EXPECT_EQ(model.graph().output(1).name(), "pooled");
  auto ort = ortCheck(out_ + "/o.onnx", out_ + "/io");
  EXPECT_EQ(ort.exitCode, 0) << ort.output;
}

TEST_F(TorchExportTest, BadPt2FilesGetOneLineErrors) {
  const std::map<std::string, std::string> expected = {
      {"future_schema.pt2", "torch.export schema version 99.0 is not supported"},
      {"not_export.pt2", "not a torch.export archive (no models/<name>.json in the zip)"},
      {"state_dict.pt2", "not a torch.export archive (it is a torch.save checkpoint)"}};
  for (const auto& [file, message] : expected) {
    const std::string output = out_ + "/" + file + ".onnx";
    auto run = runModelexportSplit("export " + shellQuote(dir_ + "/" + file) + " " + shellQuote(output));
    EXPECT_EQ(run.exitCode, 1) << file;
    EXPECT_EQ(run.err.find('\n'), run.err.size() - 1) << "one line expected:\n" << run.err;
    EXPECT_EQ(run.err.rfind("modelexport: error: " + dir_ + "/" + file + ": ", 0), 0u) << run.err;
    EXPECT_NE(run.err.find(message), std::string::npos) << run.err;
    EXPECT_TRUE(listDirectory(out_).empty()) << file << " left files behind";
  }
}

}  // namespace
}  // namespace modelexport::e2e

// End-to-end: --dynamic-axes / --dynamic-batch. The exported file has symbolic dims and
// runs in onnxruntime at other batch sizes and sequence lengths, matching LibTorch run
// on the same inputs each time (writeLibTorchReference: the .pt loaded and run in this
// process, on the inputs tests/tools/make_io.py --input would draw).
#include <filesystem>

#include <gtest/gtest.h>

#include "e2e_support.h"
#include "test_support.h"

namespace modelexport::e2e {
namespace {

std::vector<std::string> dimsOf(const onnx::ValueInfoProto& info) {
  std::vector<std::string> dims;
  for (const auto& d : info.type().tensor_type().shape().dim())
    dims.push_back(d.has_dim_param() ? d.dim_param() : std::to_string(d.dim_value()));
  return dims;
}

// Exports `fixture` with `args`; returns the ONNX path (fails the test on error).
std::string exportWith(const std::string& fixture, const std::string& dir, const std::string& args) {
  const std::string onnx = dir + "/" + fixture + ".onnx";
  auto run = runModelexportSplit("export " + shellQuote(fixturePath(fixture)) + " " + shellQuote(onnx) + " " + args);
  EXPECT_EQ(run.exitCode, 0) << run.out << run.err;
  return onnx;
}

// LibTorch's outputs for inputs of these specs (NAME:DTYPE:SHAPE), then onnxruntime on them.
void expectMatchesAt(const std::string& fixture, const std::string& onnx, const std::string& ioDir,
                     const std::vector<std::string>& inputSpecs, const ReferenceOptions& options = {}) {
  const std::string error = writeLibTorchReference(fixturePath(fixture), ioDir, inputSpecs, options);
  ASSERT_EQ(error, "");
  auto ort = testing::ortCheck(onnx, ioDir, 1e-4);
  EXPECT_EQ(ort.exitCode, 0) << ioDir << ": " << ort.output;
}

TEST(DynamicAxes, BertBatchAndSequence) {
  const std::string dir = freshWorkDir("e2e/dynamic/bert");
  std::string axes;
  for (const char* input : {"input_ids", "attention_mask", "token_type_ids"})
    axes += std::string(" --dynamic-axes ") + input + ":0=batch,1=sequence";
  const std::string onnx = exportWith("bert_tiny", dir, cliArgs("bert_tiny") + axes);
  const auto model = loadModel(onnx);
  for (const auto& input : model.graph().input())
    EXPECT_EQ(dimsOf(input), (std::vector<std::string>{"batch", "sequence"})) << input.name();
  EXPECT_EQ(dimsOf(model.graph().output(0)), (std::vector<std::string>{"batch", "sequence", "128"}));
  EXPECT_EQ(dimsOf(model.graph().output(1)), (std::vector<std::string>{"batch", "128"}));
  // Token ids 0/1: valid for the vocabulary and for token_type_ids; masks are ones.
  ReferenceOptions reference;
  reference.intHigh = 2;
  reference.outputNames = {"last_hidden_state", "pooler_output"};
  for (const std::string shape : {"3,16", "2,40"}) {
    SCOPED_TRACE("batch,sequence = " + shape);
    expectMatchesAt("bert_tiny", onnx, dir + "/io_" + shape,
                    {"input_ids:int64:" + shape, "attention_mask:int64:" + shape, "token_type_ids:int64:" + shape},
                    reference);
  }
}

TEST(DynamicAxes, Gpt2BatchAndSequence) {
  const std::string dir = freshWorkDir("e2e/dynamic/gpt2");
  const std::string onnx = exportWith("gpt2_tiny", dir, cliArgs("gpt2_tiny") + " --dynamic-axes input_ids:0=batch,1=sequence");
  EXPECT_EQ(dimsOf(loadModel(onnx).graph().input(0)), (std::vector<std::string>{"batch", "sequence"}));
  ReferenceOptions reference;
  reference.intHigh = 50;
  for (const std::string shape : {"2,20", "3,7"}) {
    SCOPED_TRACE("batch,sequence = " + shape);
    expectMatchesAt("gpt2_tiny", onnx, dir + "/io_" + shape, {"input_ids:int64:" + shape}, reference);
  }
}

TEST(DynamicAxes, DynamicBatchOnImageModels) {
  for (const std::string fixture : {"resnet18", "mobilenet_v2"}) {
    SCOPED_TRACE(fixture);
    const std::string dir = freshWorkDir("e2e/dynamic/" + fixture);
    const std::string onnx = exportWith(fixture, dir, cliArgs(fixture) + " --dynamic-batch");
    const auto model = loadModel(onnx);
    EXPECT_EQ(dimsOf(model.graph().input(0)), (std::vector<std::string>{"batch", "3", "224", "224"}));
    EXPECT_EQ(dimsOf(model.graph().output(0)), (std::vector<std::string>{"batch", "1000"}));
    for (const std::string batch : {"3", "2"})
      expectMatchesAt(fixture, onnx, dir + "/io_" + batch, {"x:float32:" + batch + ",3,224,224"});
  }
}

TEST(DynamicAxes, BadSpecsAreOneLineErrors) {
  const std::string dir = freshWorkDir("e2e/dynamic/bad");
  const std::string model = fixturePath("bert_tiny");
  for (const auto& [args, mention] : std::vector<std::pair<std::string, std::string>>{
           {"--dynamic-axes nosuch:0=batch", "'nosuch'"},
           {"--dynamic-axes input_ids:5=batch", "has 2 dims"},
           {"--dynamic-axes input_ids:x=batch", "not a dim number"},
           {"--dynamic-axes input_ids", "no input name"},
           {"--dynamic-axes input_ids:0=a-b", "letters, digits"}}) {
    auto run = runModelexportSplit("export " + shellQuote(model) + " " + shellQuote(dir + "/m.onnx") + " " + args);
    EXPECT_EQ(run.exitCode, 1) << args;
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << args << ": " << run.err;
    EXPECT_NE(run.err.find(mention), std::string::npos) << args << ": " << run.err;
    EXPECT_FALSE(std::filesystem::exists(dir + "/m.onnx"));
  }
}

}  // namespace
}  // namespace modelexport::e2e

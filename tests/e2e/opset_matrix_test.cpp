// End-to-end: every standard fixture exports at opsets 11, 13, 14 and 17 (ops whose ONNX
// form changed between them: Split, Squeeze/Unsqueeze, ReduceSum, Softmax, ...), declares
// that opset, passes the ONNX checker and runs in onnxruntime like LibTorch. The 20 exports
// run in the test process (in_process_export.h): what is tested is the files they write.
#include <string>
#include <tuple>

#include <gtest/gtest.h>

#include "e2e_support.h"
#include "in_process_export.h"
#include "test_support.h"

namespace modelexport::e2e {
namespace {

class OpsetMatrixTest : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(OpsetMatrixTest, ExportsChecksAndMatchesLibTorch) {
  const auto& [fixture, opset] = GetParam();
  const std::string dir = freshWorkDir("e2e/opset_matrix/" + fixture + "_" + std::to_string(opset));
  const std::string onnxPath = dir + "/" + fixture + ".onnx";
  const std::string ioDir = dir + "/io";
  ExportArguments arguments = fixtureExportArguments(fixture, onnxPath);
  arguments.opset = opset;
  arguments.dumpIoDir = ioDir;
  const InProcessExport run = exportInProcess(arguments);
  ASSERT_TRUE(run.ok) << run.error << "\n" << run.log;

  onnx::ModelProto model = loadModel(onnxPath);
  int64_t declared = -1;
  for (const auto& entry : model.opset_import()) {
    if (entry.domain().empty() || entry.domain() == "ai.onnx") declared = entry.version();
  }
  EXPECT_EQ(declared, opset);

  auto check = pythonOnnxCheck(onnxPath);
  EXPECT_EQ(check.exitCode, 0) << check.output;
  auto ort = ortCheck(onnxPath, ioDir, 1e-4);
  EXPECT_EQ(ort.exitCode, 0) << ort.output;
  EXPECT_NE(ort.output.find("ort_check: OK"), std::string::npos) << ort.output;
}

std::string caseName(const ::testing::TestParamInfo<std::tuple<std::string, int>>& info) {
  return std::get<0>(info.param) + "_opset" + std::to_string(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, OpsetMatrixTest,
                         ::testing::Combine(::testing::Values("bert_tiny", "gpt2_tiny", "resnet18", "mobilenet_v2",
                                                             "custom_scripted"),
                                            ::testing::Values(11, 13, 14, 17)),
                         caseName);

}  // namespace
}  // namespace modelexport::e2e

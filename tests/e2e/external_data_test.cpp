// End-to-end: --external-data on small models (above 2 GB it is automatic; the >2 GB
// run is tools/huge_model_check.sh, outside the suite). The weights go to
// <out>.onnx.data at 4 KiB-aligned offsets, the .onnx keeps references, and the pair
// passes the checker, runs in onnxruntime like LibTorch, and validates from elsewhere.
#include <filesystem>

#include <gtest/gtest.h>

#include "e2e_support.h"

namespace fs = std::filesystem;

namespace modelexport::e2e {
namespace {

class ExternalData : public ::testing::TestWithParam<std::string> {};

TEST_P(ExternalData, WeightsInDataFileCheckedAndRun) {
  const std::string fixture = GetParam();
  const std::string dir = freshWorkDir("e2e/external_data/" + fixture);
  const std::string onnx = dir + "/" + fixture + ".onnx";
  auto run = runModelexportSplit("export " + shellQuote(fixturePath(fixture)) + " " + shellQuote(onnx) +
                                 cliArgs(fixture) + " --external-data --dump-io " + shellQuote(dir + "/io"));
  ASSERT_EQ(run.exitCode, 0) << run.out << run.err;
  const std::string data = onnx + ".data";
  ASSERT_TRUE(fs::exists(data));

  const auto model = loadModel(onnx);
  size_t external = 0;
  uint64_t end = 0;
  for (const auto& init : model.graph().initializer()) {
    if (init.data_location() != onnx::TensorProto::EXTERNAL) continue;
    ++external;
    EXPECT_FALSE(init.has_raw_data()) << init.name();
    uint64_t offset = 0, length = 0;
    std::string location;
    for (const auto& e : init.external_data()) {
      if (e.key() == "location") location = e.value();
      if (e.key() == "offset") offset = std::stoull(e.value());
      if (e.key() == "length") length = std::stoull(e.value());
    }
    EXPECT_EQ(location, fixture + ".onnx.data") << init.name();
    EXPECT_EQ(offset % 4096, 0u) << init.name() << " offset " << offset;
    end = std::max(end, offset + length);
  }
  EXPECT_GT(external, 0u);
  EXPECT_EQ(end, fs::file_size(data));
  EXPECT_LT(fs::file_size(onnx), 200u * 1024) << "weights should be in the data file";

  auto checker = pythonOnnxCheck(onnx);
  EXPECT_EQ(checker.exitCode, 0) << checker.output;
  auto ort = ortCheck(onnx, dir + "/io", 1e-4);
  EXPECT_EQ(ort.exitCode, 0) << ort.output;
  // validate resolves the data file next to the model, from any working directory.
  auto validate = runSplit("cd / && " + shellQuote(MODELEXPORT_EXE) + " validate " + shellQuote(onnx) +
                           " --check-consistency");
  EXPECT_EQ(validate.exitCode, 0) << validate.out << validate.err;
}

// A data file the system will not hold (here a file-size limit; a full disk fails the
// same way, at the reservation before the first weight is written): one line naming the
// data file and the cause, exit code 1, the previous pair untouched, no temporary left.
TEST(ExternalDataLimits, ADataFileTheSystemWillNotHoldFailsInOneLineAndKeepsThePreviousOutput) {
  const std::string dir = freshWorkDir("e2e/external_data/limit");
  const std::string onnx = dir + "/model.onnx";
  const std::string exportCommand = "export " + shellQuote(fixturePath("resnet18")) + " " + shellQuote(onnx) +
                                    cliArgs("resnet18") + " --external-data";
  auto first = runModelexportSplit(exportCommand);
  ASSERT_EQ(first.exitCode, 0) << first.err;
  const std::string modelBefore = readFile(onnx), dataBefore = readFile(onnx + ".data");
  const auto filesBefore = listDirectory(dir);

  // SIGXFSZ ignored (inherited through exec), so the write reports EFBIG; 2048 blocks
  // of 512 bytes hold the .onnx but not resnet18's 45 MB of weights.
  auto limited = runSplit("trap '' XFSZ; ulimit -f 2048; exec " + shellQuote(MODELEXPORT_EXE) + " " + exportCommand);
  EXPECT_EQ(limited.exitCode, 1) << limited.err;
  EXPECT_EQ(limited.err, "modelexport: error: " + onnx + ".data: cannot write: File too large\n");
  EXPECT_EQ(readFile(onnx), modelBefore);
  EXPECT_EQ(readFile(onnx + ".data"), dataBefore);
  EXPECT_EQ(listDirectory(dir), filesBefore);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ExternalData, ::testing::Values("resnet18", "bert_tiny"));

}  // namespace
}  // namespace modelexport::e2e

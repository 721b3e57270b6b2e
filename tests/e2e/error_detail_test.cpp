// End-to-end: LibTorch's errors reach the user as one line in our words (the cause, how
// much memory an allocation asked for), and -v adds LibTorch's full text after it.
#include <gtest/gtest.h>

#include "e2e_support.h"

namespace modelexport::e2e {
namespace {

size_t lineCount(const std::string& text) { return static_cast<size_t>(std::count(text.begin(), text.end(), '\n')); }

class ErrorDetailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = freshWorkDir(std::string("e2e/error_detail/") +
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  CommandResult exportResnet(const std::string& extra) {
    return runModelexportSplit("export " + shellQuote(fixturePath("resnet18")) + " " + shellQuote(dir_ + "/out.onnx") +
                               extra);
  }
  std::string dir_;
};

TEST_F(ErrorDetailTest, AnExampleInputTooLargeForMemorySaysHowMuchItNeeded) {
  auto run = exportResnet(" --input-shape 1,3,100000,100000");
  EXPECT_EQ(run.exitCode, 1) << run.err;
  EXPECT_EQ(lineCount(run.err), 1u) << run.err;
  // 1 x 3 x 100000 x 100000 float32 = 1.2e11 bytes = 111.8 GiB.
  EXPECT_NE(run.err.find("cannot make the example input 'x' (1x3x100000x100000, Float): it needs 111.8 GiB of memory"),
            std::string::npos)
      << run.err;
  EXPECT_NE(run.err.find("--input-shape"), std::string::npos) << run.err;
  EXPECT_EQ(run.err.find("enforce fail"), std::string::npos) << run.err;
  EXPECT_EQ(listDirectory(dir_), std::vector<std::string>{});
}

TEST_F(ErrorDetailTest, VerboseAddsLibTorchsFullTextAfterTheOneLine) {
  // A 2-d input to a convolution fails in LibTorch at the run stage.
  auto quiet = exportResnet(" --input-shape 1,3");
  auto verbose = exportResnet(" --input-shape 1,3 -v");
  EXPECT_EQ(quiet.exitCode, 1);
  EXPECT_EQ(verbose.exitCode, 1);
  ASSERT_EQ(lineCount(quiet.err), 1u) << quiet.err;
  EXPECT_NE(quiet.err.find("the model failed on the example inputs at aten::"), std::string::npos) << quiet.err;
  const size_t at = verbose.err.find(quiet.err);
  ASSERT_NE(at, std::string::npos) << "the one line should be in the -v output too:\n" << verbose.err;
  const std::string after = verbose.err.substr(at + quiet.err.size());
  EXPECT_EQ(after.rfind("modelexport: the full error:\n", 0), 0u) << after;
  EXPECT_GT(lineCount(after), 1u) << after;
  EXPECT_EQ(listDirectory(dir_), std::vector<std::string>{});
}

// An operator no converter handles is reported with the Python line that called it: from
// the TorchScript file's debug info, or from the .pt2 node's stack_trace.
TEST(UnsupportedOpSource, TheErrorNamesThePythonLineOfTheCall) {
  const std::string dir = freshWorkDir("e2e/error_detail/unsupported_source");
  auto made = runSplit(shellQuote(MODELEXPORT_VENV_PYTHON) + " " +
                       shellQuote(std::string(MODELEXPORT_SOURCE_DIR) + "/tests/tools/make_unsupported_models.py") + " " +
                       shellQuote(dir));
  ASSERT_EQ(made.exitCode, 0) << made.out << made.err;
  const auto where = readJson(dir + "/where.json");
  const std::string line = where.at("file").get<std::string>() + ":" + std::to_string(where.at("line").get<int>());
  for (const std::string model : {"unsupported_traced.pt", "unsupported.pt2"}) {
    auto run = runModelexportSplit("export " + shellQuote(dir + "/" + model) + " " + shellQuote(dir + "/out.onnx") +
                                   " --input-shape 4,4");
    EXPECT_EQ(run.exitCode, 1) << run.err;
    EXPECT_EQ(lineCount(run.err), 1u) << run.err;
    EXPECT_NE(run.err.find("aten::linalg_det x1 (first in /Root/Solver at " + line + ": "), std::string::npos)
        << model << ": " << run.err;
  }
}

}  // namespace
}  // namespace modelexport::e2e

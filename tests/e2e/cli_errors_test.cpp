// End-to-end: what the binary does with bad input, unsupported operators and -v.
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>

#include <unistd.h>

#include <gtest/gtest.h>
#include <torch/script.h>

#include "e2e_support.h"
#include "kept_model_scripts.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace modelexport::e2e {
namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> result;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) result.push_back(line);
  return result;
}

// Exit 1, one line on stderr that starts with "modelexport: error:" and contains
// `mentions` (the file involved, when there is one), nothing written to `outDir`.
void expectCleanFailure(const CommandResult& run, const std::vector<std::string>& mentions,
                        const std::string& outDir, const std::string& outputPath) {
  EXPECT_EQ(run.exitCode, 1) << "stdout: " << run.out << "\nstderr: " << run.err;
  auto errLines = lines(run.err);
  ASSERT_EQ(errLines.size(), 1u) << "stderr should be one line:\n" << run.err;
  EXPECT_EQ(errLines[0].rfind("modelexport: error: ", 0), 0u) << errLines[0];
  for (const auto& text : mentions) EXPECT_NE(errLines[0].find(text), std::string::npos) << errLines[0] << "\nshould mention " << text;
  std::error_code ec;
  EXPECT_FALSE(fs::exists(outputPath, ec)) << outputPath << " was written";
  EXPECT_FALSE(fs::exists(fs::path(outputPath).parent_path() / (fs::path(outputPath).stem().string() + "_hierarchy.json"), ec));
  if (!outDir.empty()) {
    const auto left = listDirectory(outDir);
    EXPECT_TRUE(left.empty()) << "left behind in " << outDir << ": " << (left.empty() ? "" : left.front());
  }
}

class BadInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // One directory per process: ctest runs each test in its own process, in parallel.
    inputs_ = freshWorkDir("e2e/bad_inputs/files-" + std::to_string(::getpid()));
    // The files torch writes are kept in the build tree between runs (kept_model_scripts.h:
    // remade when the script or the interpreter's packages change), not remade each time
    // at ~1.3 s of Python importing torch and torchvision.
    testing::MadeModels made =
        testing::runKeptModelScripts("bad_inputs", {{MODELEXPORT_PYTHON, "tests/tools/make_bad_inputs.py"}}, "");
    madeByTorch_ = made.dir;
    pythonLog_ = made.log;
    pythonOk_ = made.ok;

    std::mt19937 random(42);
    std::string bytes(4096, '\0');
    for (auto& c : bytes) c = static_cast<char>(random() & 0xff);
    bytes[0] = 0x13;  // not a pickle or zip magic by accident
    std::ofstream(inputs_ + "/random_bytes.pt", std::ios::binary) << bytes;
    std::ofstream(inputs_ + "/empty.pt", std::ios::binary);
    fs::create_directories(inputs_ + "/a_directory.pt");
    const std::string full = readFile(fixturePath("custom_scripted"));
    std::ofstream(inputs_ + "/truncated.pt", std::ios::binary) << full.substr(0, full.size() / 2);
    std::ofstream(inputs_ + "/regular_file") << "not a directory\n";
  }

  void SetUp() override { out_ = freshWorkDir(std::string("e2e/bad_inputs/out/") +
                                              ::testing::UnitTest::GetInstance()->current_test_info()->name()); }

  // export MODEL OUT/model.onnx ARGS; expects a clean failure that mentions `mentions`.
  void expectModelRejected(const std::string& model, const std::vector<std::string>& mentions,
                           const std::string& extraArgs = "") {
    const std::string output = out_ + "/model.onnx";
    auto run = runModelexportSplit("export " + shellQuote(model) + " " + shellQuote(output) + extraArgs);
    expectCleanFailure(run, mentions, out_, output);
  }

  static std::string inputs_;
  static std::string madeByTorch_;  // make_bad_inputs.py's files
  static std::string pythonLog_;
  static bool pythonOk_;
  std::string out_;
};

std::string BadInputTest::inputs_;
std::string BadInputTest::madeByTorch_;
std::string BadInputTest::pythonLog_;
bool BadInputTest::pythonOk_ = false;

TEST_F(BadInputTest, MissingFile) {
  expectModelRejected(inputs_ + "/does_not_exist.pt", {"does_not_exist.pt", "no such file"});
}

TEST_F(BadInputTest, RandomBytes) { expectModelRejected(inputs_ + "/random_bytes.pt", {"random_bytes.pt", "not"}); }

TEST_F(BadInputTest, StateDictZip) {
  ASSERT_TRUE(pythonOk_) << pythonLog_;
  expectModelRejected(madeByTorch_ + "/state_dict.pt", {"state_dict.pt", "torch.save", "torch.jit.trace"});
}

TEST_F(BadInputTest, LegacyPickle) {
  ASSERT_TRUE(pythonOk_) << pythonLog_;
  expectModelRejected(madeByTorch_ + "/legacy_pickle.pt", {"legacy_pickle.pt", "pickle", "torch.jit.trace"});
}

// LibTorch's message starts with a newline; the one line must still carry the cause.
TEST_F(BadInputTest, OperatorOfALibraryTheBinaryDoesNotRegister) {
  ASSERT_TRUE(pythonOk_) << pythonLog_;
  expectModelRejected(madeByTorch_ + "/library_op.pt",
                      {"library_op.pt", "cannot load: uses boxlib::nms, an operator of the boxlib library, which this "
                                        "binary does not register"});
}

// torchvision's operators are registered in the binary: a scripted torchvision.ops.nms loads and exports.
TEST_F(BadInputTest, TorchvisionOperatorsLoad) {
  ASSERT_TRUE(pythonOk_) << pythonLog_;
  auto run = runModelexportSplit("export " + shellQuote(madeByTorch_ + "/torchvision_nms.pt") + " " +
                                 shellQuote(out_ + "/nms.onnx") + " --input-spec boxes:float32:10x4,scores:float32:10");
  EXPECT_EQ(run.exitCode, 0) << run.out << run.err;
}

TEST_F(BadInputTest, OperatorThisLibTorchDoesNotKnow) {
  ASSERT_TRUE(pythonOk_) << pythonLog_;
  expectModelRejected(madeByTorch_ + "/unknown_op.pt",
                      {"unknown_op.pt", "cannot load: unknown operator aten::frobnicate (the file needs a newer LibTorch"});
}

TEST(CommandLine, UnknownCommandIsNamedWithTheKnownOnes) {
  auto run = runModelexportSplit("frobnicate model.pt out.onnx");
  EXPECT_EQ(run.exitCode, 109);
  EXPECT_EQ(run.err,
            "modelexport: error: 'frobnicate' is not a command (commands: export, analyze, validate, compare, "
            "import-onnx, profile, restamp; modelexport --help says more)\n");
  EXPECT_EQ(runModelexportSplit("--version").exitCode, 0);
}

TEST_F(BadInputTest, TruncatedTorchScript) { expectModelRejected(inputs_ + "/truncated.pt", {"truncated.pt"}); }

TEST_F(BadInputTest, EmptyFile) { expectModelRejected(inputs_ + "/empty.pt", {"empty.pt", "empty"}); }

TEST_F(BadInputTest, Directory) { expectModelRejected(inputs_ + "/a_directory.pt", {"a_directory.pt", "directory"}); }

TEST_F(BadInputTest, OutputInNonexistentDirectory) {
  const std::string output = out_ + "/no/such/dir/model.onnx";
  auto run = runModelexportSplit("export " + shellQuote(fixturePath("custom_scripted")) + " " + shellQuote(output));
  expectCleanFailure(run, {output}, out_, output);
}

// Tests run as root, whom chmod does not stop: a path below a regular file cannot be
// written by anyone.
TEST_F(BadInputTest, OutputBelowRegularFile) {
  for (const std::string& output : {inputs_ + "/regular_file/model.onnx", std::string("/etc/hostname/x.onnx")}) {
    if (output.rfind("/etc/", 0) == 0 && !fs::is_regular_file("/etc/hostname")) continue;
    auto run = runModelexportSplit("export " + shellQuote(fixturePath("custom_scripted")) + " " + shellQuote(output));
    expectCleanFailure(run, {output}, "", output);
  }
  EXPECT_EQ(readFile(inputs_ + "/regular_file"), "not a directory\n");
}

TEST_F(BadInputTest, OutputIsDirectory) {
  fs::create_directories(out_ + "/taken.onnx");
  auto run = runModelexportSplit("export " + shellQuote(fixturePath("custom_scripted")) + " " +
                                 shellQuote(out_ + "/taken.onnx"));
  expectCleanFailure(run, {out_ + "/taken.onnx"}, "", out_ + "/taken.onnx/x");
  EXPECT_EQ(listDirectory(out_), std::vector<std::string>{"taken.onnx"});
  EXPECT_TRUE(listDirectory(out_ + "/taken.onnx").empty());
}

TEST_F(BadInputTest, BadInputShape) {
  for (const std::string shape : {"1,abc", "0,128", "-1", "", "1,,128"}) {
    SCOPED_TRACE("--input-shape '" + shape + "'");
    expectModelRejected(fixturePath("custom_scripted"), {"--input-shape"}, " --input-shape " + shellQuote(shape));
  }
}

// A shape the model cannot run with: the error names the model and the inputs tried.
TEST_F(BadInputTest, InputShapeTheModelCannotRun) {
  expectModelRejected(fixturePath("custom_scripted"), {"custom_scripted.pt", "--input-shape"},
                      " --input-shape 1,77");
}

TEST_F(BadInputTest, UnknownStrategy) {
  expectModelRejected(fixturePath("custom_scripted"), {"--strategy", "bogus"}, " --strategy bogus");
}

// --dump-io runs last; a directory it cannot make must fail before the ONNX file exists.
TEST_F(BadInputTest, DumpIoDirectoryThatCannotBeMade) {
  expectModelRejected(fixturePath("custom_scripted"), {"--dump-io", "regular_file/io"},
                      " --dump-io " + shellQuote(inputs_ + "/regular_file/io"));
}

TEST_F(BadInputTest, OutputNamesOfWrongCountOrClashing) {
  expectModelRejected(fixturePath("bert_tiny"), {"bert_tiny.pt", "--output-names gives 1 names", "2 outputs"},
                      " --output-names only_one");
  expectModelRejected(fixturePath("bert_tiny"), {"bert_tiny.pt", "'input_ids'"}, " --output-names input_ids,b");
  expectModelRejected(fixturePath("bert_tiny"), {"bert_tiny.pt", "'a'"}, " --output-names a,a");
}

TEST(OutputNames, NameTheOnnxOutputs) {
  const std::string dir = freshWorkDir("e2e/output_names");
  auto run = runModelexportSplit("export " + shellQuote(fixturePath("bert_tiny")) + " " + shellQuote(dir + "/m.onnx") +
                                 " --output-names sequence,pooled");
  ASSERT_EQ(run.exitCode, 0) << run.out << run.err;
  const auto model = loadModel(dir + "/m.onnx");
  ASSERT_EQ(model.graph().output_size(), 2);
  EXPECT_EQ(model.graph().output(0).name(), "sequence");
  EXPECT_EQ(model.graph().output(1).name(), "pooled");
}

TEST_F(BadInputTest, OpsetOutsideSupportedRange) {
  for (const std::string opset : {"10", "18", "0", "-3"}) {
    SCOPED_TRACE("--opset-version " + opset);
    expectModelRejected(fixturePath("custom_scripted"), {"--opset-version", opset}, " --opset-version " + opset);
  }
}

// A model with operators no converter handles: one message listing each kind, its count
// and the tag of its first use; no file written.
TEST(UnsupportedOps, ListedWithCountAndFirstTag) {
  const std::string dir = freshWorkDir("e2e/unsupported_ops");
  const std::string model = dir + "/unsupported.pt";
  {
    torch::jit::Module solver("Solver");
    solver.define(R"(
def forward(self, x):
    return torch.linalg_det(x) + torch.linalg_det(x * 2.0)
)");
    torch::jit::Module root("Root");
    root.register_module("solver", solver);
    root.define(R"(
def forward(self, x):
    y = self.solver.forward(x)
    return torch.cumprod(x, 0) * y
)");
    root.save(model);
  }
  const std::string output = dir + "/out/model.onnx";
  fs::create_directories(dir + "/out");
  auto run = runModelexportSplit("export " + shellQuote(model) + " " + shellQuote(output) + " --input-shape 4,4");
  expectCleanFailure(run, {"unsupported.pt", "unsupported"}, dir + "/out", output);
  const std::string message = run.err;
  EXPECT_NE(message.find("aten::linalg_det x2 (first in /Root/Solver"), std::string::npos) << message;
  EXPECT_NE(message.find("aten::cumprod x1 (first in /Root"), std::string::npos) << message;
  EXPECT_EQ(message.find("aten::cumprod x1 (first in /Root/Solver"), std::string::npos) << message;
}

TEST(Verbose, PrintsEachStageWithItsTime) {
  const std::string dir = freshWorkDir("e2e/verbose");
  auto run = runModelexportSplit("export " + shellQuote(fixturePath("custom_scripted")) + " " +
                                 shellQuote(dir + "/model.onnx") + " -v");
  ASSERT_EQ(run.exitCode, 0) << run.out << run.err;
  const std::vector<std::string> stages{"load", "prepare", "run", "tag", "convert", "build", "check", "write"};
  size_t next = 0;
  for (const auto& line : lines(run.err)) {
    std::smatch m;
    if (!std::regex_search(line, m, std::regex(R"(^\[\s*([a-z-]+)\]\s+([0-9]+\.[0-9]+) s\b)"))) continue;
    if (next < stages.size() && m[1] == stages[next]) ++next;
  }
  EXPECT_EQ(next, stages.size()) << "stages in order with times expected; missing '"
                                 << (next < stages.size() ? stages[next] : "") << "' in:\n" << run.err;
  // The weights are views of the mapped .pt, not copies.
  EXPECT_TRUE(std::regex_search(run.err, std::regex(R"(\[\s*load\].* [0-9.]+ MiB mapped, [0-9.]+ MiB copied)")))
      << run.err;

  // Without -v there is nothing on stderr.
  auto quiet = runModelexportSplit("export " + shellQuote(fixturePath("custom_scripted")) + " " +
                                   shellQuote(dir + "/quiet.onnx"));
  ASSERT_EQ(quiet.exitCode, 0) << quiet.out << quiet.err;
  EXPECT_EQ(quiet.err, "");
}

// The binary without its export engine: export says so in one line; the commands that do
// not need LibTorch still work.
TEST(ExportEngine, BinaryWithoutTheEngineLibrary) {
  const std::string dir = freshWorkDir("e2e/engine_missing");
  const std::string model = dir + "/model.onnx";
  auto made = runModelexportSplit("export " + shellQuote(fixturePath("custom_scripted")) + " " + shellQuote(model));
  ASSERT_EQ(made.exitCode, 0) << made.out << made.err;
  const std::string alone = dir + "/bin/modelexport";
  fs::create_directories(dir + "/bin");
  fs::copy_file(MODELEXPORT_EXE, alone);

  auto run = runSplit(shellQuote(alone) + " export " + shellQuote(fixturePath("custom_scripted")) + " " +
                      shellQuote(dir + "/again.onnx"));
  EXPECT_EQ(run.exitCode, 1);
  auto errLines = lines(run.err);
  ASSERT_EQ(errLines.size(), 1u) << run.err;
  EXPECT_NE(errLines[0].find("libmodelexport_export.so: cannot load the export engine"), std::string::npos)
      << errLines[0];
  EXPECT_FALSE(fs::exists(dir + "/again.onnx"));

  auto validate = runSplit(shellQuote(alone) + " validate " + shellQuote(model));
  EXPECT_EQ(validate.exitCode, 0) << validate.out << validate.err;
  auto help = runSplit(shellQuote(alone) + " --help");
  EXPECT_EQ(help.exitCode, 0);
  EXPECT_NE(help.out.find("export"), std::string::npos) << help.out;
}

}  // namespace
}  // namespace modelexport::e2e

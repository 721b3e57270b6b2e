// End-to-end: inputs as users give them (issue "Inputs as users give them"): model
// directories with tokenizer files, --input-text, the local Hugging Face cache,
// --input-spec and example inputs embedded in the archive. Every export is checked in
// onnxruntime against LibTorch on the inputs the tool made.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "e2e_support.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace modelexport::e2e {
namespace {

const std::string kTokenizerData = std::string(MODELEXPORT_SOURCE_DIR) + "/tests/data/tokenizers";

// A model directory: the fixture's TorchScript file plus the given tokenizer files.
std::string makeModelDirectory(const std::string& dir, const std::string& fixture,
                               const std::vector<std::string>& tokenizerFiles) {
  fs::create_directories(dir);
  fs::copy_file(fixturePath(fixture), dir + "/model.pt", fs::copy_options::overwrite_existing);
  for (const auto& file : tokenizerFiles)
    fs::copy_file(kTokenizerData + "/" + file, dir + "/" + fs::path(file).filename().string(),
                  fs::copy_options::overwrite_existing);
  return dir;
}

std::vector<int64_t> readInt64s(const std::string& path) {
  const std::string bytes = readFile(path);
  std::vector<int64_t> values(bytes.size() / sizeof(int64_t));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(int64_t));
  return values;
}

// The dumped example input called `name` (io.json written by --dump-io).
nlohmann::json dumpedInput(const std::string& ioDir, const std::string& name) {
  const nlohmann::json io = readJson(ioDir + "/io.json");  // named: the loop reads into it
  for (const auto& input : io["inputs"])
    if (input["name"] == name) return input;
  ADD_FAILURE() << "no input " << name << " in " << ioDir << "/io.json";
  return nlohmann::json::object();
}

std::vector<int64_t> dumpedIds(const std::string& ioDir, const std::string& name) {
  const auto input = dumpedInput(ioDir, name);
  if (!input.contains("file")) return {};
  return readInt64s(ioDir + "/" + input["file"].get<std::string>());
}

std::vector<int64_t> graphInputShape(const onnx::ModelProto& model, const std::string& name) {
  for (const auto& input : model.graph().input()) {
    if (input.name() != name) continue;
    std::vector<int64_t> dims;
    for (const auto& d : input.type().tensor_type().shape().dim()) dims.push_back(d.dim_value());
    return dims;
  }
  ADD_FAILURE() << "no graph input " << name;
  return {};
}

// Exports, expects success, runs onnxruntime against LibTorch; returns the work dir.
void exportAndVerify(const std::string& commandPrefix, const std::string& model, const std::string& dir,
                     const std::string& args) {
  const std::string command = commandPrefix + shellQuote(MODELEXPORT_EXE) + " export " + shellQuote(model) + " " +
                              shellQuote(dir + "/model.onnx") + " --dump-io " + shellQuote(dir + "/io") + " " + args;
  auto run = runSplit(command);
  ASSERT_EQ(run.exitCode, 0) << command << "\n" << run.out << run.err;
  auto ort = testing::ortCheck(dir + "/model.onnx", dir + "/io", 1e-4);
  EXPECT_EQ(ort.exitCode, 0) << ort.output;
}

TEST(TextInputs, BertDirectoryTokenizesPadsAndMasks) {
  const std::string dir = freshWorkDir("e2e/inputs/bert_text");
  const std::string model = makeModelDirectory(dir + "/bert", "bert_tiny", {"wordpiece/vocab.txt"});
  exportAndVerify("", model, dir, "--input-text 'Hello, WORLD!' --input-shape 1,8 -v");
  // [CLS] hello , world ! [SEP] [PAD] [PAD] with ids from tests/data/tokenizers/wordpiece/vocab.txt.
  EXPECT_EQ(dumpedIds(dir + "/io", "input_ids"), (std::vector<int64_t>{2, 5, 8, 6, 7, 3, 0, 0}));
  EXPECT_EQ(dumpedIds(dir + "/io", "attention_mask"), (std::vector<int64_t>{1, 1, 1, 1, 1, 1, 0, 0}));
  EXPECT_EQ(dumpedIds(dir + "/io", "token_type_ids"), (std::vector<int64_t>(8, 0)));
  EXPECT_EQ(graphInputShape(loadModel(dir + "/model.onnx"), "input_ids"), (std::vector<int64_t>{1, 8}));
}

TEST(TextInputs, TruncatesToTheSequenceLength) {
  const std::string dir = freshWorkDir("e2e/inputs/bert_truncate");
  const std::string model = makeModelDirectory(dir + "/bert", "bert_tiny", {"wordpiece/vocab.txt"});
  exportAndVerify("", model, dir, "--input-text 'hello world hello world hello' --input-shape 1,5");
  EXPECT_EQ(dumpedIds(dir + "/io", "input_ids"), (std::vector<int64_t>{2, 5, 6, 5, 3}));
}

TEST(TextInputs, DirectoryWithTokenizerDefaultsToHelloWorld) {
  const std::string dir = freshWorkDir("e2e/inputs/bert_default_text");
  const std::string model = makeModelDirectory(dir + "/bert", "bert_tiny", {"wordpiece/vocab.txt"});
  exportAndVerify("", model, dir, "");
  EXPECT_EQ(dumpedIds(dir + "/io", "input_ids"), (std::vector<int64_t>{2, 5, 6, 3}));
}

TEST(TextInputs, Gpt2DirectoryUsesByteLevelBpe) {
  const std::string dir = freshWorkDir("e2e/inputs/gpt2_text");
  const std::string model = makeModelDirectory(dir + "/gpt2", "gpt2_tiny", {"bpe/vocab.json", "bpe/merges.txt"});
  exportAndVerify("", model, dir, "--input-text 'Hello world!'");
  EXPECT_EQ(dumpedIds(dir + "/io", "input_ids"), (std::vector<int64_t>{264, 260, 33}));
}

TEST(TextInputs, TextWithoutTokenizerIsRefused) {
  const std::string dir = freshWorkDir("e2e/inputs/no_tokenizer");
  auto run = runModelexportSplit("export " + shellQuote(fixturePath("bert_tiny")) + " " + shellQuote(dir + "/m.onnx") +
                                 " --input-text hi");
  EXPECT_EQ(run.exitCode, 1);
  EXPECT_NE(run.err.find("--input-text needs the model's tokenizer"), std::string::npos) << run.err;
  EXPECT_FALSE(fs::exists(dir + "/m.onnx"));
}

TEST(HuggingFaceCache, NameResolvesToTheSnapshotDirectory) {
  const std::string dir = freshWorkDir("e2e/inputs/hf_cache");
  const std::string snapshot = dir + "/hf/hub/models--tiny-org--bert-tiny/snapshots/0123abcd";
  makeModelDirectory(snapshot, "bert_tiny", {"wordpiece/vocab.txt"});
  exportAndVerify("HF_HUB_CACHE= HF_HOME=" + shellQuote(dir + "/hf") + " ", "tiny-org/bert-tiny", dir,
                  "--input-text 'the cafe'");
  EXPECT_EQ(dumpedIds(dir + "/io", "input_ids"), (std::vector<int64_t>{2, 10, 11, 3}));
}

// A snapshot with a config.json goes to the Python front end; one without weights fails
// there, in one line that names the model, and nothing is written.
TEST(HuggingFaceCache, SnapshotWithoutWeightsIsOneLineErrorFromTheFrontEnd) {
  const std::string dir = freshWorkDir("e2e/inputs/hf_cache_no_weights");
  const std::string snapshot = dir + "/hf/hub/models--tiny-org--bert-tiny/snapshots/0123abcd";
  fs::create_directories(snapshot);
  fs::copy_file(kTokenizerData + "/wordpiece/vocab.txt", snapshot + "/vocab.txt");
  std::ofstream(snapshot + "/config.json") << "{\"model_type\": \"bert\", \"architectures\": [\"BertModel\"]}\n";
  const std::string env = "HF_HUB_OFFLINE=1 HF_HUB_CACHE= MODELEXPORT_CACHE=" + shellQuote(dir + "/cache") +
                          " HF_HOME=" + shellQuote(dir + "/hf") + " ";
  auto run = runSplit(env + shellQuote(MODELEXPORT_EXE) + " export tiny-org/bert-tiny " + shellQuote(dir + "/m.onnx"));
  EXPECT_EQ(run.exitCode, 1) << run.out << run.err;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  EXPECT_EQ(run.err.rfind("modelexport: error: tiny-org/bert-tiny: ", 0), 0u) << run.err;
  EXPECT_FALSE(fs::exists(dir + "/m.onnx"));

  auto missing = runSplit(env + shellQuote(MODELEXPORT_EXE) + " export other-org/none " + shellQuote(dir + "/m.onnx"));
  EXPECT_EQ(missing.exitCode, 1);
  EXPECT_NE(missing.err.find("HF_HUB_OFFLINE is set"), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("models--other-org--none"), std::string::npos) << missing.err;
}

TEST(InputSpec, OverridesShapeAndIsCheckedInOnnxruntime) {
  const std::string dir = freshWorkDir("e2e/inputs/spec");
  exportAndVerify("", fixturePath("custom_scripted"), dir, "--input-spec x:float32:3x128");
  EXPECT_EQ(graphInputShape(loadModel(dir + "/model.onnx"), "x"), (std::vector<int64_t>{3, 128}));
}

TEST(InputSpec, BertWithInt32IdsAndShorterSequence) {
  const std::string dir = freshWorkDir("e2e/inputs/spec_bert");
  exportAndVerify("", fixturePath("bert_tiny"), dir,
                  "--input-spec input_ids:int32:2x16,attention_mask:int64:2x16,token_type_ids:int64:2x16");
  const auto model = loadModel(dir + "/model.onnx");
  EXPECT_EQ(graphInputShape(model, "input_ids"), (std::vector<int64_t>{2, 16}));
  EXPECT_EQ(model.graph().input(0).type().tensor_type().elem_type(), onnx::TensorProto::INT32);
}

TEST(InputSpec, MalformedSpecIsOneLineError) {
  const std::string dir = freshWorkDir("e2e/inputs/spec_bad");
  for (const std::string spec : {"x:complex64:1x2", "x:float32", "x:float32:1xq"}) {
    auto run = runModelexportSplit("export " + shellQuote(fixturePath("custom_scripted")) + " " +
                                   shellQuote(dir + "/m.onnx") + " --input-spec " + shellQuote(spec));
    EXPECT_EQ(run.exitCode, 1) << spec;
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
    EXPECT_NE(run.err.find("--input-spec"), std::string::npos) << run.err;
    EXPECT_FALSE(fs::exists(dir + "/m.onnx"));
  }
}

// A shape the model rejects: LibTorch's message plus the inputs tried and how to change them.
TEST(InputSpec, ShapeTheModelRejectsShowsTorchMessageAndSpec) {
  const std::string dir = freshWorkDir("e2e/inputs/spec_rejected");
  auto run = runModelexportSplit("export " + shellQuote(fixturePath("resnet18")) + " " + shellQuote(dir + "/m.onnx") +
                                 " --input-spec x:float32:1x3x224");
  EXPECT_EQ(run.exitCode, 1);
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  for (const char* text : {"resnet18.pt", "aten::_convolution", "x:float32:1x3x224", "--input-spec"})
    EXPECT_NE(run.err.find(text), std::string::npos) << text << " not in " << run.err;
}

// tools/embed_inputs.py MODEL OUT SPECS, kept in the build tree under a key of the model's
// and the script's bytes and the specs (keptScriptOutput): run again when one of them
// changes, not every run (~1.3 s of Python importing torch). Returns OUT; fails the test
// when the script fails.
std::string keptEmbedding(const std::string& model, const std::string& specs) {
  std::string log;
  const std::string kept = keptScriptOutput(
      "embedded_inputs", fs::path(model).stem().string(), ".pt",
      {model, std::string(MODELEXPORT_SOURCE_DIR) + "/tools/embed_inputs.py"}, specs, "tools/embed_inputs.py",
      [&](const std::string& out) { return shellQuote(model) + " " + shellQuote(out) + " " + specs; }, log);
  EXPECT_FALSE(kept.empty()) << "tools/embed_inputs.py " << model << ":\n" << log;
  return kept;
}

TEST(EmbeddedInputs, UsedWhenNoInputOptionIsGiven) {
  const std::string dir = freshWorkDir("e2e/inputs/embedded");
  const std::string withInputs = keptEmbedding(
      fixturePath("bert_tiny"), "input_ids:int64:1x4=2,5,6,3 attention_mask:int64:1x4=1,1,1,0 token_type_ids:int64:1x4");
  ASSERT_TRUE(fs::exists(withInputs)) << withInputs;
  exportAndVerify("", withInputs, dir, "");
  EXPECT_EQ(dumpedIds(dir + "/io", "input_ids"), (std::vector<int64_t>{2, 5, 6, 3}));
  EXPECT_EQ(dumpedIds(dir + "/io", "attention_mask"), (std::vector<int64_t>{1, 1, 1, 0}));
  EXPECT_EQ(graphInputShape(loadModel(dir + "/model.onnx"), "token_type_ids"), (std::vector<int64_t>{1, 4}));

  // An input option wins over the embedded inputs.
  const std::string other = dir + "/explicit";
  fs::create_directories(other);
  exportAndVerify("", withInputs, other, "--input-shape 1,6");
  EXPECT_EQ(graphInputShape(loadModel(other + "/model.onnx"), "input_ids"), (std::vector<int64_t>{1, 6}));
}

}  // namespace
}  // namespace modelexport::e2e

// --input-spec parsing, inputs given by name, inputs embedded in the archive, and the
// model locator on a fake Hugging Face cache.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/script.h>

#include "modelexport/errors.h"
#include "modelexport/input_resolution.h"
#include "modelexport/input_spec_parser.h"
#include "modelexport/model_locator.h"
#include "modelexport/named_inputs.h"
#include "test_support.h"

namespace modelexport {
namespace {

namespace fs = std::filesystem;

std::string errorOf(const std::function<void()>& action) {
  try {
    action();
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

// What torch.save writes: a zip with data.pkl and no code/ folder.
void saveCheckpoint(const fs::path& path) {
  std::vector<char> bytes = torch::jit::pickle_save(c10::IValue(torch::ones({2})));
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void saveTinyModule(const fs::path& path, const torch::jit::ExtraFilesMap& extra = {}) {
  torch::jit::Module module("Tiny");
  module.define("def forward(self, input_ids, attention_mask):\n  return input_ids + attention_mask\n");
  module.save(path.string(), extra);
}

TEST(InputSpecParser, ParsesNamesDtypesAndShapes) {
  auto specs = parseInputSpecs("input_ids:int64:1x128, mask:bool:2x3x4,x:float16:scalar,y:float32:7,z:int32:1x1");
  ASSERT_EQ(specs.size(), 5u);
  EXPECT_EQ(specs[0].name, "input_ids");
  EXPECT_EQ(specs[0].dtype, at::kLong);
  EXPECT_EQ(specs[0].shape, (std::vector<int64_t>{1, 128}));
  EXPECT_EQ(specs[1].dtype, at::kBool);
  EXPECT_EQ(specs[1].shape, (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(specs[2].dtype, at::kHalf);
  EXPECT_TRUE(specs[2].shape.empty());
  EXPECT_EQ(specs[3].dtype, at::kFloat);
  EXPECT_EQ(specs[4].dtype, at::kInt);
  EXPECT_EQ(formatInputSpecs(specs), "input_ids:int64:1x128,mask:bool:2x3x4,x:float16:scalar,y:float32:7,z:int32:1x1");
}

TEST(InputSpecParser, RejectsMalformedSpecs) {
  EXPECT_NE(errorOf([] { parseInputSpecs("x:float64:1x2"); }).find("unknown dtype 'float64'"), std::string::npos);
  EXPECT_NE(errorOf([] { parseInputSpecs("x:float32:1,128"); }).find("'128'"), std::string::npos);
  EXPECT_NE(errorOf([] { parseInputSpecs("x:float32:1x0"); }).find("positive integers"), std::string::npos);
  EXPECT_NE(errorOf([] { parseInputSpecs("x:float32:1xx2"); }).find("positive integers"), std::string::npos);
  EXPECT_NE(errorOf([] { parseInputSpecs("x:float32"); }).find("name:dtype:shape"), std::string::npos);
  EXPECT_NE(errorOf([] { parseInputSpecs(":float32:1"); }).find("name is empty"), std::string::npos);
  EXPECT_NE(errorOf([] { parseInputSpecs("x:int64:1,x:int64:2"); }).find("given twice"), std::string::npos);
  EXPECT_NE(errorOf([] { parseInputSpecs(""); }).find("empty"), std::string::npos);
}

TEST(NamedInputs, OverrideByNameAndCastValues) {
  std::vector<InputSpec> specs{{"input_ids", at::kLong, {1, 8}, 100}, {"attention_mask", at::kFloat, {1, 8}, 0}};
  NamedInput ids{"input_ids", std::nullopt, std::nullopt, torch::tensor({{5, 6, 7}}), true, "--input-text"};
  NamedInput mask{"attention_mask", std::nullopt, std::nullopt, torch::tensor({{1, 1, 0}}), true, "--input-text"};
  NamedInput unused{"token_type_ids", std::nullopt, std::nullopt, torch::tensor({{0, 0, 0}}), true, "--input-text"};
  auto inputs = assembleExampleInputs(specs, {ids, mask, unused});
  ASSERT_EQ(inputs.size(), 2u);
  EXPECT_TRUE(inputs[0].toTensor().equal(torch::tensor({{5, 6, 7}})));
  EXPECT_EQ(inputs[1].toTensor().scalar_type(), at::kFloat);  // the model's dtype wins over the tokenizer's
  EXPECT_EQ(specs[0].shape, (std::vector<int64_t>{1, 3}));

  std::vector<InputSpec> more{{"x", at::kFloat, {1, 4}, 0}};
  NamedInput spec{"x", at::kHalf, std::vector<int64_t>{2, 2}, at::Tensor(), false, "--input-spec"};
  auto generated = assembleExampleInputs(more, {spec});
  EXPECT_EQ(generated[0].toTensor().scalar_type(), at::kHalf);
  EXPECT_EQ(generated[0].toTensor().sizes().vec(), (std::vector<int64_t>{2, 2}));

  NamedInput wrong{"pixels", at::kFloat, std::vector<int64_t>{1}, at::Tensor(), false, "--input-spec"};
  EXPECT_NE(errorOf([&] { assembleExampleInputs(more, {wrong}); }).find("--input-spec names input 'pixels', but the model's inputs are x"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { assembleExampleInputs(more, {ids}); }).find("none of which the model takes"),
            std::string::npos);
}

TEST(EmbeddedInputs, ReadsModelexportInputsJson) {
  auto dir = fs::path(testing::freshWorkDir("embedded_inputs"));
  saveTinyModule(dir / "plain.pt");
  EXPECT_FALSE(readEmbeddedInputs((dir / "plain.pt").string()));
  saveTinyModule(dir / "with.pt", {{kEmbeddedInputsFile,
                                    R"({"inputs": [{"name": "input_ids", "dtype": "int64", "shape": [1, 3], "values": [7, 8, 9]},)"
                                    R"( {"name": "attention_mask", "dtype": "int64", "shape": [1, 3]}]})"}});
  auto inputs = readEmbeddedInputs((dir / "with.pt").string());
  ASSERT_TRUE(inputs);
  ASSERT_EQ(inputs->size(), 2u);
  EXPECT_TRUE((*inputs)[0].values.equal(torch::tensor({{7, 8, 9}})));
  EXPECT_FALSE((*inputs)[1].values.defined());
  EXPECT_EQ(*(*inputs)[1].shape, (std::vector<int64_t>{1, 3}));
  saveTinyModule(dir / "bad.pt", {{kEmbeddedInputsFile, R"({"inputs": [{"name": "x", "dtype": "int64", "shape": [2], "values": [1]}]})"}});
  EXPECT_NE(errorOf([&] { readEmbeddedInputs((dir / "bad.pt").string()); }).find("1 values for shape 2"), std::string::npos);
}

class ModelLocator : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(testing::freshWorkDir(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    for (const char* name : {"HF_HOME", "HF_HUB_CACHE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"}) {
      const char* value = std::getenv(name);
      saved_.emplace_back(name, value ? std::optional<std::string>(value) : std::nullopt);
      unsetenv(name);
    }
    setenv("HF_HOME", (root_ / "hf").string().c_str(), 1);
  }
  void TearDown() override {
    for (const auto& [name, value] : saved_) value ? (void)setenv(name.c_str(), value->c_str(), 1) : (void)unsetenv(name.c_str());
  }
  // models--ORG--NAME/{refs/main, snapshots/<commit>/FILE -> ../../blobs/...} as the hub writes it.
  fs::path cacheRepo(const std::string& folder, const std::string& commit) {
    fs::path repo = root_ / "hf" / "hub" / folder;
    fs::create_directories(repo / "refs");
    fs::create_directories(repo / "blobs");
    fs::create_directories(repo / "snapshots" / commit);
    std::ofstream(repo / "refs" / "main") << commit;
    return repo;
  }
  void addBlob(const fs::path& repo, const std::string& commit, const std::string& name, const std::string& blob) {
    fs::create_symlink(fs::path("../../blobs") / blob, repo / "snapshots" / commit / name);
  }
  fs::path root_;
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST_F(ModelLocator, FileAndDirectory) {
  fs::create_directories(root_ / "model");
  saveTinyModule(root_ / "model" / "traced.pt");
  saveCheckpoint(root_ / "model" / "pytorch_model.bin");  // a checkpoint, not TorchScript
  std::ofstream(root_ / "model" / "vocab.txt") << "[UNK]\n";
  auto file = locateModel((root_ / "model" / "traced.pt").string());
  EXPECT_EQ(file.origin, "file");
  EXPECT_EQ(file.directory, (root_ / "model").string());
  auto dir = locateModel((root_ / "model").string());
  EXPECT_EQ(dir.modelFile, (root_ / "model" / "traced.pt").string());
  EXPECT_EQ(dir.origin, "directory");

  saveTinyModule(root_ / "model" / "second.pt");
  EXPECT_NE(errorOf([&] { locateModel((root_ / "model").string()); }).find("holds 2 model files (second.pt, traced.pt)"),
            std::string::npos);
  fs::create_directories(root_ / "weights_only");
  saveCheckpoint(root_ / "weights_only" / "pytorch_model.bin");
  std::string error = errorOf([&] { locateModel((root_ / "weights_only").string()); });
  EXPECT_NE(error.find("no config.json, no TorchScript or torch.export file"), std::string::npos) << error;
  EXPECT_NE(error.find("pytorch_model.bin"), std::string::npos) << error;
  EXPECT_NE(error.find("save_pretrained"), std::string::npos) << error;
  EXPECT_NE(error.find("torch.export.save"), std::string::npos) << error;
  // With a config.json it is a transformers model directory: the front end exports it.
  std::ofstream(root_ / "weights_only" / "config.json") << "{}";
  const ModelLocation transformers = locateModel((root_ / "weights_only").string());
  EXPECT_TRUE(transformers.needsFrontEnd);
  EXPECT_TRUE(transformers.modelFile.empty());
  EXPECT_EQ(transformers.directory, (root_ / "weights_only").string());
  EXPECT_NE(errorOf([&] { locateModel("./missing.pt"); }).find("no such file or directory"), std::string::npos);
}

TEST_F(ModelLocator, HuggingFaceCacheName) {
  fs::path repo = cacheRepo("models--tiny-org--tiny-bert", "0123abcd");
  saveTinyModule(repo / "blobs" / "aa11");
  std::ofstream(repo / "blobs" / "bb22") << "{}";
  addBlob(repo, "0123abcd", "model.pt", "aa11");
  addBlob(repo, "0123abcd", "config.json", "bb22");
  fs::create_directories(repo / "snapshots" / "old");  // another snapshot; refs/main decides
  auto found = locateModel("tiny-org/tiny-bert");
  EXPECT_EQ(found.origin, "huggingface-cache");
  EXPECT_EQ(found.directory, (repo / "snapshots" / "0123abcd").string());
  EXPECT_EQ(found.modelFile, (repo / "snapshots" / "0123abcd" / "model.pt").string());

  // HF_HUB_CACHE wins over HF_HOME.
  setenv("HF_HUB_CACHE", (root_ / "elsewhere").string().c_str(), 1);
  setenv("HF_HUB_OFFLINE", "1", 1);
  EXPECT_EQ(huggingFaceHubCache(), (root_ / "elsewhere").string());
  EXPECT_NE(errorOf([] { locateModel("tiny-org/tiny-bert"); }).find("elsewhere/models--tiny-org--tiny-bert"),
            std::string::npos);
  unsetenv("HF_HUB_CACHE");
}

TEST_F(ModelLocator, TransformersSnapshotsAndMissingModelsGoToTheFrontEnd) {
  fs::path repo = cacheRepo("models--gpt2", "c0ffee");
  saveCheckpoint(repo / "blobs" / "w1");
  std::ofstream(repo / "blobs" / "c1") << "{}";
  addBlob(repo, "c0ffee", "pytorch_model.bin", "w1");
  addBlob(repo, "c0ffee", "config.json", "c1");
  const ModelLocation snapshot = locateModel("gpt2");
  EXPECT_TRUE(snapshot.needsFrontEnd);
  EXPECT_EQ(snapshot.origin, "huggingface-cache");
  EXPECT_EQ(snapshot.directory, (repo / "snapshots" / "c0ffee").string());

  // Not in the cache: transformers downloads it, unless offline.
  unsetenv("HF_HUB_OFFLINE");
  unsetenv("TRANSFORMERS_OFFLINE");
  const ModelLocation missing = locateModel("someone/never-downloaded");
  EXPECT_TRUE(missing.needsFrontEnd);
  EXPECT_EQ(missing.origin, "huggingface-hub");
  EXPECT_TRUE(missing.directory.empty());
  setenv("HF_HUB_OFFLINE", "1", 1);
  const std::string error = errorOf([] { locateModel("someone/never-downloaded"); });
  EXPECT_NE(error.find("not in the Hugging Face cache"), std::string::npos) << error;
  EXPECT_NE(error.find("models--someone--never-downloaded"), std::string::npos) << error;
  EXPECT_NE(error.find("HF_HUB_OFFLINE is set"), std::string::npos) << error;
}

}  // namespace
}  // namespace modelexport

// End-to-end: an output path that is one of the command's inputs (the same path, a
// symlink or a hard link to it, or a side file that would land on it) is refused before
// any work, with one line naming the file, and the input stays byte for byte as it was.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "e2e_support.h"

namespace fs = std::filesystem;

namespace modelexport::e2e {
namespace {

class OutputOverInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = freshWorkDir(std::string("e2e/output_over_input/") +
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    model_ = dir_ + "/model.pt";
    fs::copy_file(fixturePath("bert_tiny"), model_);
    modelBytes_ = readFile(model_);
  }

  // Exit 1 (validate: 2, could not run), one "modelexport: error:" line naming `named` and saying it is the input;
  // `input` unchanged; no temporary file or other output left in the directory.
  void expectRefused(const CommandResult& run, const std::string& named, const std::string& input,
                     const std::string& inputBytes, const std::vector<std::string>& allowed, int exitCode = 1) {
    EXPECT_EQ(run.exitCode, exitCode) << run.out << run.err;
    EXPECT_EQ(run.err.find('\n'), run.err.size() - 1) << "one line expected:\n" << run.err;
    EXPECT_EQ(run.err.rfind("modelexport: error: " + named + ": is the input", 0), 0u) << run.err;
    EXPECT_EQ(readFile(input), inputBytes) << input << " was changed";
    for (const auto& name : listDirectory(dir_))
      EXPECT_NE(std::find(allowed.begin(), allowed.end(), name), allowed.end()) << "left behind: " << name;
  }

  CommandResult exportTo(const std::string& output, const std::string& extra = "") {
    return runModelexportSplit("export " + shellQuote(model_) + " " + shellQuote(output) + cliArgs("bert_tiny") + extra);
  }

  std::string dir_, model_, modelBytes_;
};

TEST_F(OutputOverInputTest, ExportOntoItsOwnInputIsRefused) {
  expectRefused(exportTo(model_), model_, model_, modelBytes_, {"model.pt"});
  // The same file through another spelling of its path.
  const std::string dotted = dir_ + "/./model.pt";
  expectRefused(exportTo(dotted), dotted, model_, modelBytes_, {"model.pt"});
}

TEST_F(OutputOverInputTest, ExportOntoASymlinkOrHardLinkToTheInputIsRefused) {
  fs::create_symlink(model_, dir_ + "/link.onnx");
  fs::create_hard_link(model_, dir_ + "/hard.onnx");
  const std::vector<std::string> present{"model.pt", "link.onnx", "hard.onnx"};
  expectRefused(exportTo(dir_ + "/link.onnx"), dir_ + "/link.onnx", model_, modelBytes_, present);
  expectRefused(exportTo(dir_ + "/hard.onnx"), dir_ + "/hard.onnx", model_, modelBytes_, present);
  EXPECT_TRUE(fs::is_symlink(dir_ + "/link.onnx"));
}

TEST_F(OutputOverInputTest, ExportWhoseSideFilesWouldLandOnTheInputIsRefused) {
  // out.onnx's sidecar is out_hierarchy.json; a model file of that name would be replaced.
  const std::string sidecarNamed = dir_ + "/out_hierarchy.json";
  fs::rename(model_, sidecarNamed);
  model_ = sidecarNamed;
  expectRefused(exportTo(dir_ + "/out.onnx"), sidecarNamed, sidecarNamed, modelBytes_, {"out_hierarchy.json"});
  // --with-graphml side files.
  const std::string graphmlNamed = dir_ + "/out_hierarchical_graph.graphml";
  fs::rename(model_, graphmlNamed);
  model_ = graphmlNamed;
  expectRefused(exportTo(dir_ + "/out.onnx", " --with-graphml"), graphmlNamed, graphmlNamed, modelBytes_,
                {"out_hierarchical_graph.graphml"});
}

TEST_F(OutputOverInputTest, ExportOntoTheModelDirectorysTokenizerIsRefused) {
  fs::copy_file(fs::path(MODELEXPORT_SOURCE_DIR) / "tests/data/tokenizers/wordpiece/vocab.txt", dir_ + "/vocab.txt");
  const std::string vocab = readFile(dir_ + "/vocab.txt");
  auto run = runModelexportSplit("export " + shellQuote(dir_) + " " + shellQuote(dir_ + "/vocab.txt"));
  expectRefused(run, dir_ + "/vocab.txt", dir_ + "/vocab.txt", vocab, {"model.pt", "vocab.txt"});
}

TEST_F(OutputOverInputTest, OtherCommandsRefuseToWriteOverTheirInput) {
  const std::string onnx = dir_ + "/m.onnx";
  ASSERT_EQ(exportTo(onnx, " --with-graphml").exitCode, 0);
  const std::vector<std::string> present{"model.pt", "m.onnx", "m_hierarchy.json", "m_hierarchical_graph.graphml",
                                         "m_hierarchical_graph.onnxdata", "m_htp_metadata.json"};
  const std::string onnxBytes = readFile(onnx), sidecarBytes = readFile(dir_ + "/m_hierarchy.json");
  const std::string graphml = dir_ + "/m_hierarchical_graph.graphml", graphmlBytes = readFile(graphml);
  const std::string data = dir_ + "/m_hierarchical_graph.onnxdata", dataBytes = readFile(data);

  expectRefused(runModelexportSplit("analyze " + shellQuote(onnx) + " --output-file " + shellQuote(onnx)), onnx, onnx,
                onnxBytes, present);
  expectRefused(runModelexportSplit("analyze " + shellQuote(onnx) + " --extract-subgraph /BertModel/BertPooler" +
                                    " --output-model " + shellQuote(onnx)),
                onnx, onnx, onnxBytes, present);
  expectRefused(runModelexportSplit("validate " + shellQuote(onnx) + " --repair --output " + shellQuote(onnx)), onnx,
                onnx, onnxBytes, present, 2);
  // A symlink to the input is the input.
  fs::create_symlink(onnx, dir_ + "/alias.onnx");
  auto aliasPresent = present;
  aliasPresent.push_back("alias.onnx");
  expectRefused(runModelexportSplit("validate " + shellQuote(onnx) + " --repair --output " + shellQuote(dir_ + "/alias.onnx")),
                dir_ + "/alias.onnx", onnx, onnxBytes, aliasPresent, 2);
  expectRefused(runModelexportSplit("import-onnx " + shellQuote(graphml) + " " + shellQuote(graphml)), graphml, graphml,
                graphmlBytes, aliasPresent);
  expectRefused(runModelexportSplit("import-onnx " + shellQuote(graphml) + " " + shellQuote(data)), data, data,
                dataBytes, aliasPresent);
  expectRefused(runModelexportSplit("import-onnx " + shellQuote(graphml) + " " + shellQuote(onnx) + " --reference " +
                                    shellQuote(onnx)),
                onnx, onnx, onnxBytes, aliasPresent);
  EXPECT_EQ(readFile(dir_ + "/m_hierarchy.json"), sidecarBytes);
  // Writing next to the inputs under a new name still works.
  EXPECT_EQ(runModelexportSplit("import-onnx " + shellQuote(graphml) + " " + shellQuote(dir_ + "/rebuilt.onnx")).exitCode, 0);
}

}  // namespace
}  // namespace modelexport::e2e

// modelexport analyze on real exports and on a torch.onnx file. The exports and torch.onnx
// files are the build tree's shared ones (analysis_test_support.h): every test only reads them.
#include <fstream>
#include <set>

#include <gtest/gtest.h>

#include "analysis_test_support.h"
#include "modelexport/hierarchy_stamps.h"
#include "modelexport/model_analysis.h"
#include "modelexport/model_writer.h"

namespace modelexport::testing {
namespace {

const char* kBertLayer0 = "/BertModel/BertEncoder/BertLayer.0";

TEST(AnalysisAnalyze, SummaryShowsFactsTreeHistogramAndCoverage) {
  const std::string onnx = sharedFixtureExport("bert_tiny");
  ProcessResult r = runModelexport("analyze " + shellQuote(onnx));
  ASSERT_EQ(r.exitCode, 0) << r.output;
  for (const char* expected : {"IR version: 8", "ai.onnx 14", "Producer:   modelexport", "input_ids: int64 [1,128]",
                               "last_hidden_state", "Parameters: ", "from metadata_props", "(100.0%)",
                               "/BertModel  (", "├── BertEncoder", "│   ├── BertLayer.0", "└── ", "MatMul"})
    EXPECT_NE(r.output.find(expected), std::string::npos) << "missing '" << expected << "' in\n" << r.output;
}

TEST(AnalysisAnalyze, JsonCountsAddUp) {
  const std::string dir = freshWorkDir("analyze/json");
  const std::string onnx = sharedFixtureExport("bert_tiny");
  ProcessResult r = runModelexport("analyze " + shellQuote(onnx) + " --output-format json --output-file " +
                                   shellQuote(dir + "/report.json"));
  ASSERT_EQ(r.exitCode, 0) << r.output;
  nlohmann::json report = readJsonFile(dir + "/report.json");
  onnx::ModelProto model = readModel(onnx);
  const auto& h = report["hierarchy"];
  EXPECT_EQ(h["source"], "metadata_props");
  EXPECT_EQ(h["nodes_total"].get<int>(), model.graph().node_size());
  EXPECT_EQ(h["coverage"].get<double>(), 1.0);
  EXPECT_EQ(report["nodes"].size(), static_cast<size_t>(model.graph().node_size()));
  size_t histogram = 0;
  for (const auto& [op, count] : report["op_types"].items()) histogram += count.get<size_t>();
  EXPECT_EQ(histogram, static_cast<size_t>(model.graph().node_size()));
  // total = own + children's totals, and the root holds every node.
  std::map<std::string, size_t> childTotals;
  for (const auto& m : h["modules"])
    if (!m["parent"].is_null()) childTotals[m["parent"].get<std::string>()] += m["total_nodes"].get<size_t>();
  for (const auto& m : h["modules"])
    EXPECT_EQ(m["total_nodes"].get<size_t>(), m["own_nodes"].get<size_t>() + childTotals[m["tag"].get<std::string>()])
        << m["tag"];
  EXPECT_EQ(h["modules"][0]["tag"], "/BertModel");
  EXPECT_EQ(h["modules"][0]["total_nodes"].get<int>(), model.graph().node_size());
  size_t parameterElements = 0;
  for (const auto& init : model.graph().initializer()) {
    size_t n = 1;
    for (auto d : init.dims()) n *= static_cast<size_t>(d);
    parameterElements += n;
  }
  EXPECT_EQ(report["model"]["parameters"]["elements"].get<size_t>(), parameterElements);
  EXPECT_GT(report["model"]["parameters"]["bytes"].get<size_t>(), parameterElements);  // float32: 4 bytes each
}

TEST(AnalysisAnalyze, FilterTagSelectsOneModuleAndItsDescendants) {
  const std::string onnx = sharedFixtureExport("bert_tiny");
  ProcessResult r = runModelexport("analyze " + shellQuote(onnx) + " --output-format json --filter-tag " + kBertLayer0);
  ASSERT_EQ(r.exitCode, 0) << r.output;
  nlohmann::json report = jsonFromOutput(r.output);
  ASSERT_FALSE(report["nodes"].empty());
  EXPECT_LT(report["nodes"].size(), report["hierarchy"]["nodes_total"].get<size_t>());
  for (const auto& n : report["nodes"])
    EXPECT_TRUE(tagHasPrefix(n["hierarchy_path"].get<std::string>(), kBertLayer0)) << n["hierarchy_path"];
  for (const auto& m : report["hierarchy"]["modules"])
    EXPECT_TRUE(tagHasPrefix(m["tag"].get<std::string>(), kBertLayer0)) << m["tag"];
  EXPECT_EQ(report["hierarchy"]["modules"][0]["total_nodes"].get<size_t>(), report["nodes"].size());

  ProcessResult unknown = runModelexport("analyze " + shellQuote(onnx) + " --filter-tag /BertModel/NoSuchModule");
  EXPECT_EQ(unknown.exitCode, 1);
  EXPECT_NE(unknown.output.find("no module with that tag"), std::string::npos) << unknown.output;
}

TEST(AnalysisAnalyze, FilterAuxiliarySelectsProjectedNodes) {
  const std::string onnx = sharedFixtureExport("bert_tiny");
  nlohmann::json all = jsonFromOutput(runModelexport("analyze " + shellQuote(onnx) + " --output-format json").output);
  nlohmann::json aux =
      jsonFromOutput(runModelexport("analyze " + shellQuote(onnx) + " --output-format json --filter-tag auxiliary").output);
  size_t projected = 0;
  for (const auto& n : all["nodes"]) projected += n["hierarchy_method"] == "project" ? 1 : 0;
  ASSERT_GT(projected, 0u);
  EXPECT_EQ(aux["nodes"].size(), projected);
  for (const auto& n : aux["nodes"]) EXPECT_EQ(n["hierarchy_method"], "project");
}

TEST(AnalysisAnalyze, DetailedAndCsvListEveryNode) {
  const std::string dir = freshWorkDir("analyze/csv");
  const std::string onnx = sharedFixtureExport("resnet18");
  onnx::ModelProto model = readModel(onnx);
  ProcessResult csv = runModelexport("analyze " + shellQuote(onnx) + " --output-format csv --output-file " +
                                     shellQuote(dir + "/nodes.csv"));
  ASSERT_EQ(csv.exitCode, 0) << csv.output;
  std::ifstream in(dir + "/nodes.csv");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line.rfind("index,name,op_type,hierarchy_path", 0), 0u) << line;
  int rows = 0;
  bool sawConv1 = false;
  while (std::getline(in, line)) {
    ++rows;
    sawConv1 = sawConv1 || line.find("/ResNet/Sequential.layer1/BasicBlock.0/Conv2d.conv1") != std::string::npos;
  }
  EXPECT_EQ(rows, model.graph().node_size());
  EXPECT_TRUE(sawConv1);
  ProcessResult detailed = runModelexport("analyze " + shellQuote(onnx) + " --output-format detailed");
  ASSERT_EQ(detailed.exitCode, 0);
  EXPECT_NE(detailed.output.find("hierarchy_module: layer1.0.conv1"), std::string::npos);
  EXPECT_NE(detailed.output.find("hierarchy_method: trace"), std::string::npos);
}

// Writes the graph inputs of a model as ort_run.js input specs.
std::string writeInputSpecs(const onnx::ModelProto& model, const std::string& path) {
  nlohmann::json specs = nlohmann::json::array();
  for (const auto& in : model.graph().input()) {
    std::vector<int64_t> shape;
    for (const auto& d : in.type().tensor_type().shape().dim()) shape.push_back(d.dim_value());
    specs.push_back({{"name", in.name()}, {"dtype", onnxDataTypeName(in.type().tensor_type().elem_type())}, {"shape", shape}});
  }
  std::ofstream(path) << specs.dump();
  return path;
}

void expectExtractionRuns(const std::string& fixture, const std::string& tag, const std::string& dirName) {
  const std::string dir = freshWorkDir(dirName);
  const std::string onnx = sharedFixtureExport(fixture);
  const std::string sub = dir + "/sub.onnx";
  ProcessResult r = runModelexport("analyze " + shellQuote(onnx) + " --extract-subgraph " + shellQuote(tag) +
                                   " --output-model " + shellQuote(sub));
  ASSERT_EQ(r.exitCode, 0) << r.output;
  ProcessResult checker = pythonOnnxCheck(sub);
  EXPECT_EQ(checker.exitCode, 0) << checker.output;
  onnx::ModelProto model = readModel(sub);
  EXPECT_GT(model.graph().node_size(), 0);
  EXPECT_GT(model.graph().output_size(), 0);
  // Every node of the subgraph belongs to the module, and the analysis of the
  // extracted file sees the same module tree below the tag.
  nlohmann::json report = jsonFromOutput(runModelexport("analyze " + shellQuote(sub) + " --output-format json").output);
  for (const auto& n : report["nodes"]) EXPECT_TRUE(tagHasPrefix(n["hierarchy_path"].get<std::string>(), tag));
  ProcessResult run = runCommand(std::string(MODELEXPORT_NODE) + " " +
                                 shellQuote(std::string(MODELEXPORT_SOURCE_DIR) + "/tests/tools/ort_run.js") + " " +
                                 shellQuote(sub) + " " + shellQuote(writeInputSpecs(model, dir + "/inputs.json")));
  EXPECT_EQ(run.exitCode, 0) << run.output;
  EXPECT_NE(run.output.find("ort_run: OK"), std::string::npos) << run.output;
}

TEST(AnalysisAnalyze, ExtractedBertLayerPassesCheckerAndRuns) {
  expectExtractionRuns("bert_tiny", kBertLayer0, "analyze/extract_bert");
}

TEST(AnalysisAnalyze, ExtractedResnetBlockPassesCheckerAndRuns) {
  expectExtractionRuns("resnet18", "/ResNet/Sequential.layer2/BasicBlock.0", "analyze/extract_resnet");
}

// A file written by torch.onnx.export: no stamps, scoped node names.
TEST(AnalysisAnalyze, TorchOnnxFileGivesModuleTreeFromScopedNames) {
  for (const std::string fixture : {"bert_tiny", "resnet18"}) {
    const std::string theirs = torchOnnxFile(fixture);
    ASSERT_FALSE(theirs.empty());
    ProcessResult r = runModelexport("analyze " + shellQuote(theirs) + " --output-format json");
    ASSERT_EQ(r.exitCode, 0) << r.output;
    nlohmann::json report = jsonFromOutput(r.output);
    EXPECT_EQ(report["hierarchy"]["source"], "scoped_names");
    std::map<std::string, std::string> pathOf;
    for (const auto& m : report["hierarchy"]["modules"]) pathOf[m["tag"].get<std::string>()] = m["path"].get<std::string>();
    if (fixture == "bert_tiny") {
      EXPECT_EQ(pathOf["/encoder/layer.0/attention/self/query"], "encoder.layer.0.attention.self.query");
      EXPECT_EQ(pathOf["/embeddings/word_embeddings"], "embeddings.word_embeddings");
      ProcessResult summary = runModelexport("analyze " + shellQuote(theirs));
      EXPECT_NE(summary.output.find("from scoped_names"), std::string::npos) << summary.output;
      EXPECT_NE(summary.output.find("└── "), std::string::npos) << summary.output;
    } else {
      // Sequential elements repeat their parent's name; a second call gets "_1".
      EXPECT_EQ(pathOf["/layer1/layer1.0/conv1"], "layer1.0.conv1");
      EXPECT_EQ(pathOf["/layer1/layer1.0/relu"], "layer1.0.relu");
      EXPECT_EQ(pathOf.count("/layer1/layer1.0/relu_1"), 0u);
    }
  }
}

}  // namespace
}  // namespace modelexport::testing

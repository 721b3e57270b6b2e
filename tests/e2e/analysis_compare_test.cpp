// modelexport compare, and the usage_based strategy checked against htp with it. The htp
// exports and the torch.onnx baseline are the build tree's shared ones (analysis_test_support.h);
// the usage_based exports run in the test process (in_process_export.h), as what is tested
// is the file they write.
#include <iostream>
#include <set>

#include <gtest/gtest.h>

#include "analysis_test_support.h"
#include "modelexport/model_writer.h"

namespace modelexport::testing {
namespace {

TEST(AnalysisCompare, FileAgainstItselfMatchesEverything) {
  const std::string dir = freshWorkDir("compare/self");
  const std::string onnx = sharedFixtureExport("custom_scripted");
  ProcessResult r = runModelexport("compare " + shellQuote(onnx) + " " + shellQuote(onnx) + " --output-file " +
                                   shellQuote(dir + "/report.json"));
  ASSERT_EQ(r.exitCode, 0) << r.output;
  EXPECT_NE(r.output.find("op types: same counts"), std::string::npos) << r.output;
  nlohmann::json report = readJsonFile(dir + "/report.json");
  const int nodes = readModel(onnx).graph().node_size();
  EXPECT_EQ(report["hierarchy"]["matched_nodes"].get<int>(), nodes);
  EXPECT_EQ(report["hierarchy"]["unmatched_b"].get<int>(), 0);
  EXPECT_EQ(report["hierarchy"]["different_tag"].get<int>(), 0);
  EXPECT_EQ(report["structure"]["initializers"]["identical"], report["structure"]["initializers"]["a"]);
  EXPECT_TRUE(report["hierarchy"]["modules_only_in_a"].empty());
}

// The README workflow: a plain torch.onnx.export baseline against our tagged export.
TEST(AnalysisCompare, TorchOnnxBaselineAgainstTaggedExport) {
  const std::string dir = freshWorkDir("compare/baseline");
  const std::string ours = sharedFixtureExport("bert_tiny");
  const std::string theirs = torchOnnxFile("bert_tiny");
  ASSERT_FALSE(theirs.empty());
  ProcessResult r = runModelexport("compare " + shellQuote(theirs) + " " + shellQuote(ours) + " --output-file " +
                                   shellQuote(dir + "/report.json"));
  ASSERT_EQ(r.exitCode, 0) << r.output;
  nlohmann::json report = readJsonFile(dir + "/report.json");
  EXPECT_EQ(report["a"]["hierarchy_source"], "scoped_names");
  EXPECT_EQ(report["b"]["hierarchy_source"], "metadata_props");
  EXPECT_EQ(report["hierarchy"]["compared_by"], "module_path");
  EXPECT_EQ(report["structure"]["inputs"]["equal"], true) << report["structure"]["inputs"].dump();
  // The same modules exist on both sides, e.g. every BERT Linear.
  std::set<std::string> onlyA, onlyB;
  for (const auto& m : report["hierarchy"]["modules_only_in_a"]) onlyA.insert(m.get<std::string>());
  for (const auto& m : report["hierarchy"]["modules_only_in_b"]) onlyB.insert(m.get<std::string>());
  EXPECT_EQ(onlyA.count("encoder.layer.0.attention.self.query"), 0u);
  EXPECT_EQ(onlyB.count("encoder.layer.0.attention.self.query"), 0u);
  EXPECT_GT(report["hierarchy"]["same_tag"].get<int>(), report["hierarchy"]["different_tag"].get<int>());
}

class UsageBasedStrategy : public ::testing::TestWithParam<std::string> {};

TEST_P(UsageBasedStrategy, AgreesWithHtpOnEveryNodeThatReadsAParameter) {
  const std::string fixture = GetParam();
  const std::string dir = freshWorkDir("compare/usage_" + fixture);
  const std::string htp = sharedFixtureExport(fixture);
  const std::string usage = exportFixtureInProcess(fixture, dir, "usage.onnx",
                                                   [](e2e::ExportArguments& a) { a.strategy = "usage_based"; });
  ASSERT_FALSE(::testing::Test::HasFailure());
  // Fully stamped, and valid (export already ran the checker).
  nlohmann::json analysis = jsonFromOutput(runModelexport("analyze " + shellQuote(usage) + " --output-format json").output);
  EXPECT_EQ(analysis["hierarchy"]["coverage"].get<double>(), 1.0);
  ASSERT_TRUE(analysis["hierarchy"]["methods"].contains("usage")) << analysis["hierarchy"]["methods"].dump();
  EXPECT_GT(analysis["hierarchy"]["methods"]["usage"].get<int>(), 0);
  EXPECT_FALSE(analysis["hierarchy"]["methods"].contains("trace"));
  EXPECT_EQ(runModelexport("validate " + shellQuote(usage) + " --check-consistency").exitCode, 0);

  ProcessResult r = runModelexport("compare " + shellQuote(htp) + " " + shellQuote(usage) + " --output-file " +
                                   shellQuote(dir + "/report.json"));
  ASSERT_EQ(r.exitCode, 0) << r.output;
  nlohmann::json report = readJsonFile(dir + "/report.json");
  const auto& h = report["hierarchy"];
  EXPECT_EQ(h["unmatched_a"].get<int>(), 0);
  EXPECT_EQ(h["unmatched_b"].get<int>(), 0);
  EXPECT_EQ(report["structure"]["op_types"]["equal"], true);
  size_t usageNodes = 0;
  for (const auto& n : analysis["nodes"]) usageNodes += n["hierarchy_method"] == "usage" ? 1 : 0;
  size_t disagreeOnParameterReaders = 0;
  for (const auto& d : h["tag_differences"])
    if (d["b_method"] == "usage") {
      ++disagreeOnParameterReaders;
      ADD_FAILURE() << d["op_type"] << " htp " << d["a_tag"] << " usage " << d["b_tag"];
    }
  EXPECT_EQ(disagreeOnParameterReaders, 0u);
  RecordProperty("usage_nodes", static_cast<int>(usageNodes));
  RecordProperty("different_tag", h["different_tag"].get<int>());
  std::cout << fixture << ": " << h["matched_nodes"] << " nodes matched, " << usageNodes
            << " read parameters (all agree), " << h["different_tag"] << " projected nodes differ\n";
}

INSTANTIATE_TEST_SUITE_P(AllFixtures, UsageBasedStrategy,
                         ::testing::Values("bert_tiny", "gpt2_tiny", "resnet18", "mobilenet_v2", "custom_scripted"));

}  // namespace
}  // namespace modelexport::testing

// modelexport validate: checker, --check-consistency, --repair, exit codes. Plain fixture
// exports are the build tree's shared ones (analysis_test_support.h), copied where changed;
// the others run in the test process (in_process_export.h).
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "analysis_test_support.h"
#include "modelexport/model_writer.h"
#include "modelexport/node_metadata.h"

namespace modelexport::testing {
namespace {

TEST(AnalysisValidate, FreshExportIsValidAndConsistent) {
  const std::string onnx = sharedFixtureExport("gpt2_tiny");
  ProcessResult r = runModelexport("validate " + shellQuote(onnx) + " --check-consistency");
  EXPECT_EQ(r.exitCode, 0) << r.output;
  EXPECT_NE(r.output.find("consistency: passed"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("_hierarchy.json"), std::string::npos) << r.output;  // the sidecar was checked
  ProcessResult json = runModelexport("validate " + shellQuote(onnx) + " --check-consistency --output-format json");
  EXPECT_EQ(json.exitCode, 0);
  EXPECT_EQ(jsonFromOutput(json.output)["valid"], true);
}

TEST(AnalysisValidate, CouldNotRunExitsTwo) {
  const std::string dir = freshWorkDir("validate/missing");
  EXPECT_EQ(runModelexport("validate " + shellQuote(dir + "/none.onnx")).exitCode, 2);
  std::ofstream(dir + "/junk.onnx") << "this is not protobuf at all \x01\x02";
  ProcessResult junk = runModelexport("validate " + shellQuote(dir + "/junk.onnx"));
  EXPECT_EQ(junk.exitCode, 2) << junk.output;
  EXPECT_NE(junk.output.find("not an ONNX model"), std::string::npos) << junk.output;
}

TEST(AnalysisValidate, RepairMovesHierarchyAttributesIntoMetadata) {
  const std::string dir = freshWorkDir("validate/attrs");
  const std::string onnx = exportFixtureInProcess("custom_scripted", dir, "custom_scripted.onnx",
                                                  [](e2e::ExportArguments& a) { a.hierarchyAttrs = true; });
  ProcessResult before = runModelexport("validate " + shellQuote(onnx));
  EXPECT_EQ(before.exitCode, 1) << before.output;
  EXPECT_NE(before.output.find("FAILED"), std::string::npos) << before.output;
  const std::string fixed = dir + "/fixed.onnx";
  ProcessResult repair = runModelexport("validate " + shellQuote(onnx) + " --repair --output " + shellQuote(fixed));
  EXPECT_EQ(repair.exitCode, 0) << repair.output;
  EXPECT_NE(repair.output.find("hierarchy_* attribute(s) into metadata_props"), std::string::npos) << repair.output;
  EXPECT_FALSE(std::filesystem::exists(onnx + ".bak"));
  EXPECT_EQ(runModelexport("validate " + shellQuote(fixed) + " --check-consistency").exitCode, 0);
  EXPECT_EQ(pythonOnnxCheck(fixed).exitCode, 0);
  // The stamps survived the move.
  onnx::ModelProto model = readModel(fixed);
  for (const auto& node : model.graph().node()) {
    EXPECT_EQ(node.attribute_size() == 0 || node.attribute(0).name().rfind("hierarchy_", 0) != 0, true);
    bool stamped = false;
    for (const auto& [key, value] : getNodeMetadata(node)) stamped = stamped || (key == "hierarchy_path" && !value.empty());
    EXPECT_TRUE(stamped) << node.name();
  }
  // The original is untouched by --output.
  EXPECT_EQ(runModelexport("validate " + shellQuote(onnx)).exitCode, 1);
}

// Damages the stamps of an export in place (next to its sidecar) the way other tools
// might: stamps dropped, a wrong count, a path missing from the tags, a duplicate name.
TEST(AnalysisValidate, ConsistencyListsProblemsAndRepairInPlaceFixesThem) {
  const std::string dir = freshWorkDir("validate/damaged");
  const std::string onnx = copyOfFixtureExport("bert_tiny", dir);
  onnx::ModelProto model = readModel(onnx);
  auto* graph = model.mutable_graph();
  ASSERT_GT(graph->node_size(), 20);
  for (int i : {3, 10, 11}) setNodeMetadata(*graph->mutable_node(i), {});
  auto withValue = [](MetadataEntries entries, const std::string& key, const std::string& value) {
    for (auto& [k, v] : entries)
      if (k == key) v = value;
    return entries;
  };
  setNodeMetadata(*graph->mutable_node(15), withValue(getNodeMetadata(graph->node(15)), "hierarchy_count", "7"));
  setNodeMetadata(*graph->mutable_node(16), withValue(getNodeMetadata(graph->node(16)), "hierarchy_tags", "[\"/Elsewhere\"]"));
  const std::string duplicated = graph->node(17).name();
  graph->mutable_node(18)->set_name(duplicated);
  // Renamed since the export: the sidecar no longer knows it, so projection stamps it.
  const std::string renamed = graph->node(10).name() + "_edited";
  graph->mutable_node(10)->set_name(renamed);
  writeModelAtomically(model, onnx);

  ProcessResult check = runModelexport("validate " + shellQuote(onnx) + " --check-consistency --output-format json");
  EXPECT_EQ(check.exitCode, 1) << check.output;
  nlohmann::json report = jsonFromOutput(check.output);
  std::map<std::string, int> byCheck;
  for (const auto& p : report["problems"]) byCheck[p["check"].get<std::string>()]++;
  EXPECT_EQ(byCheck["stamps"], 3) << check.output;
  EXPECT_EQ(byCheck["count"], 1) << check.output;
  EXPECT_GE(byCheck["tags"], 1) << check.output;
  EXPECT_EQ(byCheck["names"], 1) << check.output;
  EXPECT_GE(byCheck["sidecar"], 1) << check.output;
  EXPECT_GE(byCheck["tree"], 1) << check.output;  // "/Elsewhere" is a second root

  ProcessResult repair = runModelexport("validate " + shellQuote(onnx) + " --repair");
  EXPECT_EQ(repair.exitCode, 0) << repair.output;
  EXPECT_NE(repair.output.find(renamed + ": stamped by projection"), std::string::npos) << repair.output;
  EXPECT_NE(repair.output.find(graph->node(3).name() + ": stamped from the sidecar"), std::string::npos) << repair.output;
  EXPECT_NE(repair.output.find(graph->node(11).name() + ": stamped from the sidecar"), std::string::npos)
      << repair.output;
  EXPECT_NE(repair.output.find("renamed to " + duplicated + "_1"), std::string::npos) << repair.output;
  EXPECT_TRUE(std::filesystem::exists(onnx + ".bak"));
  EXPECT_EQ(runModelexport("validate " + shellQuote(onnx + ".bak") + " --check-consistency").exitCode, 1);
  ProcessResult after = runModelexport("validate " + shellQuote(onnx) + " --check-consistency");
  EXPECT_EQ(after.exitCode, 0) << after.output;
  EXPECT_EQ(pythonOnnxCheck(onnx).exitCode, 0);
}

std::map<std::string, std::string> hierarchyStamps(const onnx::NodeProto& node) {
  std::map<std::string, std::string> stamps;
  for (const auto& [key, value] : getNodeMetadata(node))
    if (key.rfind("hierarchy_", 0) == 0 || key == "namespace") stamps[key] = value;
  return stamps;
}

// --no-hierarchy-attrs leaves the stamps in the sidecar only; --repair puts them back,
// the same as a plain export writes them.
TEST(AnalysisValidate, RepairStampsABareExportFromItsSidecar) {
  const std::string dir = freshWorkDir("validate/bare");
  const std::string stamped = sharedFixtureExport("gpt2_tiny");
  const std::string bare = exportFixtureInProcess("gpt2_tiny", dir, "bare.onnx",
                                                  [](e2e::ExportArguments& a) { a.noHierarchyAttrs = true; });
  const std::string fixed = dir + "/fixed.onnx";
  ProcessResult repair = runModelexport("validate " + shellQuote(bare) + " --repair --output " + shellQuote(fixed));
  EXPECT_EQ(repair.exitCode, 0) << repair.output;
  EXPECT_NE(repair.output.find("stamped from the sidecar"), std::string::npos) << repair.output;
  EXPECT_EQ(repair.output.find("stamped by projection"), std::string::npos) << repair.output;
  onnx::ModelProto expected = readModel(stamped), actual = readModel(fixed);
  ASSERT_EQ(expected.graph().node_size(), actual.graph().node_size());
  for (int i = 0; i < expected.graph().node_size(); ++i) {
    ASSERT_EQ(expected.graph().node(i).name(), actual.graph().node(i).name());
    EXPECT_FALSE(hierarchyStamps(expected.graph().node(i)).empty());
    EXPECT_EQ(hierarchyStamps(expected.graph().node(i)), hierarchyStamps(actual.graph().node(i)))
        << actual.graph().node(i).name();
  }
  EXPECT_EQ(pythonOnnxCheck(fixed).exitCode, 0);

  // Without the sidecar there is nothing to repair from: exit 2, the file named, nothing written.
  std::filesystem::remove(dir + "/bare_hierarchy.json");
  const std::string none = dir + "/none.onnx";
  ProcessResult nothing = runModelexport("validate " + shellQuote(bare) + " --repair --output " + shellQuote(none));
  EXPECT_EQ(nothing.exitCode, 2) << nothing.output;
  EXPECT_NE(nothing.output.find(bare + ": the file carries no hierarchy stamps"), std::string::npos) << nothing.output;
  EXPECT_FALSE(std::filesystem::exists(none));
}

}  // namespace
}  // namespace modelexport::testing

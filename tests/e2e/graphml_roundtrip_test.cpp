// export --with-graphml then import-onnx on every fixture: the rebuilt graph serializes to
// the original's bytes and runs in onnxruntime with LibTorch's outputs; networkx reads
// the GraphML with the right node and edge counts. The round trip's exports run in the
// test process (in_process_export.h); the command line's GraphML line and exit code 3 are
// checked through the binary by GraphmlExport.
#include <filesystem>

#include <gtest/gtest.h>

#include "e2e_support.h"
#include "graphml_test_support.h"
#include "in_process_export.h"
#include "modelexport/model_writer.h"
#include "modelexport/node_metadata.h"

namespace modelexport::testing {
namespace {

class GraphmlRoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(GraphmlRoundTrip, ImportRebuildsTheExportedModel) {
  const std::string fixture = GetParam();
  const std::string dir = freshWorkDir("graphml_roundtrip_" + fixture);
  const std::string onnxPath = dir + "/" + fixture + ".onnx";
  const std::string graphml = dir + "/" + fixture + "_hierarchical_graph.graphml";
  e2e::ExportArguments arguments = e2e::fixtureExportArguments(fixture, onnxPath);
  arguments.withGraphml = true;
  arguments.dumpIoDir = dir + "/io";
  const e2e::InProcessExport exported = e2e::exportInProcess(arguments);
  ASSERT_TRUE(exported.ok) << exported.error << "\n" << exported.log;
  EXPECT_EQ(exported.summary.graphmlError, "");
  EXPECT_EQ(exported.summary.graphmlPath, graphml);  // what the command prints as "graphml: PATH"
  for (const char* suffix : {"_hierarchical_graph.graphml", "_hierarchical_graph.onnxdata", "_htp_metadata.json"})
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + fixture + suffix)) << suffix;

  const std::string imported = dir + "/imported.onnx";
  ProcessResult r = runModelexport("import-onnx " + shellQuote(graphml) + " " + shellQuote(imported) +
                                   " --validate --reference " + shellQuote(onnxPath));
  ASSERT_EQ(r.exitCode, 0) << r.output;
  EXPECT_NE(r.output.find("checker: ok"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("reference: graph equal"), std::string::npos) << r.output;

  onnx::ModelProto original = readModel(onnxPath);
  onnx::ModelProto rebuilt = readModel(imported);
  EXPECT_EQ(rebuilt.graph().SerializeAsString(), original.graph().SerializeAsString());
  EXPECT_EQ(rebuilt.SerializeAsString(), original.SerializeAsString());
  ASSERT_GT(rebuilt.graph().node_size(), 0);
  EXPECT_FALSE(getNodeMetadata(rebuilt.graph().node(0)).empty());

  ProcessResult ort = ortCheck(imported, dir + "/io");
  EXPECT_EQ(ort.exitCode, 0) << ort.output;
  ProcessResult nx = networkxCheck(graphml, onnxPath);
  EXPECT_EQ(nx.exitCode, 0) << nx.output;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GraphmlRoundTrip,
                         ::testing::Values("bert_tiny", "gpt2_tiny", "resnet18", "mobilenet_v2", "custom_scripted"));

TEST(GraphmlExport, NoHierarchyAttrsKeepsModulesInTheGraphmlOnly) {
  const std::string dir = freshWorkDir("graphml_no_hierarchy_attrs");
  ProcessResult exported = exportFixtureTo("bert_tiny", dir, "--with-graphml --no-hierarchy-attrs");
  ASSERT_EQ(exported.exitCode, 0) << exported.output;
  onnx::ModelProto model = readModel(dir + "/bert_tiny.onnx");
  for (const auto& node : model.graph().node()) ASSERT_TRUE(getNodeMetadata(node).empty()) << node.name();
  const std::string graphml = dir + "/bert_tiny_hierarchical_graph.graphml";
  EXPECT_NE(exported.output.find("graphml: " + graphml), std::string::npos) << exported.output;
  EXPECT_NE(readText(graphml).find("yfiles.foldertype=\"group\""), std::string::npos);
  ProcessResult r = runModelexport("import-onnx " + shellQuote(graphml) + " " + shellQuote(dir + "/imported.onnx") +
                                   " --reference " + shellQuote(dir + "/bert_tiny.onnx"));
  EXPECT_EQ(r.exitCode, 0) << r.output;
  ProcessResult nx = networkxCheck(graphml, dir + "/bert_tiny.onnx");
  EXPECT_EQ(nx.exitCode, 0) << nx.output;
}

TEST(GraphmlExport, AFailedGraphmlLeavesTheOnnxFileAndExitsWithThree) {
  const std::string dir = freshWorkDir("graphml_write_failure");
  // A directory where the GraphML file should go makes the final rename fail.
  std::filesystem::create_directories(dir + "/custom_scripted_hierarchical_graph.graphml");
  ProcessResult exported = exportFixtureTo("custom_scripted", dir, "--with-graphml");
  EXPECT_EQ(exported.exitCode, 3) << exported.output;
  EXPECT_NE(exported.output.find("GraphML not written"), std::string::npos) << exported.output;
  EXPECT_EQ(pythonOnnxCheck(dir + "/custom_scripted.onnx").exitCode, 0);
  EXPECT_FALSE(std::filesystem::exists(dir + "/custom_scripted_hierarchical_graph.onnxdata"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/custom_scripted_htp_metadata.json"));
}

TEST(GraphmlImport, ReferenceMismatchIsReportedFieldByField) {
  const std::string dir = freshWorkDir("graphml_reference_mismatch");
  ASSERT_EQ(exportFixtureTo("custom_scripted", dir, "--with-graphml").exitCode, 0);
  onnx::ModelProto other = readModel(dir + "/custom_scripted.onnx");
  other.mutable_graph()->mutable_node(0)->set_op_type("Changed");
  writeModelAtomically(other, dir + "/other.onnx");
  ProcessResult r = runModelexport("import-onnx " + shellQuote(dir + "/custom_scripted_hierarchical_graph.graphml") +
                                   " " + shellQuote(dir + "/imported.onnx") + " --validate --reference " +
                                   shellQuote(dir + "/other.onnx"));
  EXPECT_EQ(r.exitCode, 2) << r.output;
  EXPECT_NE(r.output.find("node 0"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("op_type: 'Changed' vs"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace modelexport::testing

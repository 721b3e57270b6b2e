// The report structs of analyze, compare, profile and validate --repair, computed on
// small hand-made graphs in-process, and their JSON, text and CSV forms (restamp's text too).
#include <gtest/gtest.h>

#include "modelexport/errors.h"
#include "modelexport/hierarchy_reader.h"
#include "modelexport/hierarchy_stamps.h"
#include "modelexport/model_analysis.h"
#include "modelexport/model_comparison.h"
#include "modelexport/model_validation.h"
#include "modelexport/node_metadata.h"
#include "modelexport/report_csv.h"
#include "modelexport/report_json.h"
#include "modelexport/report_text.h"
#include "modelexport/runtime_profile.h"

namespace modelexport {
namespace {

onnx::NodeProto& addNode(onnx::GraphProto& graph, const std::string& name, const std::string& op,
                         std::vector<std::string> inputs, std::vector<std::string> outputs) {
  auto* node = graph.add_node();
  node->set_name(name);
  node->set_op_type(op);
  for (const auto& in : inputs) node->add_input(in);
  for (const auto& out : outputs) node->add_output(out);
  return *node;
}

void stampNode(onnx::NodeProto& node, const std::string& tag, const std::string& method, const std::string& module) {
  setNodeMetadata(node, hierarchyEntries(tag, {tag}, method, module));
}

void addInitializer(onnx::GraphProto& graph, const std::string& name, std::vector<int64_t> dims, bool raw) {
  auto* t = graph.add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  int64_t n = 1;
  for (auto d : dims) {
    t->add_dims(d);
    n *= d;
  }
  if (raw) t->set_raw_data(std::string(static_cast<size_t>(n) * 4, '\1'));
  else
    for (int64_t i = 0; i < n; ++i) t->add_float_data(1.0f);
}

void addValue(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* values, const std::string& name, int type,
              std::vector<int64_t> dims) {
  auto* v = values->Add();
  v->set_name(name);
  auto* tensor = v->mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(type);
  for (auto d : dims) {
    auto* dim = tensor->mutable_shape()->add_dim();
    if (d >= 0) dim->set_dim_value(d);  // -1: a dim with neither size nor name
  }
}

// /M: Tanh; /M/Emb: Gather; /M/Layer.0: Add (projected); /M/Layer.0/Linear.q: MatMul;
// one unnamed Shape without stamps. "table" is an initializer listed as an input too.
onnx::ModelProto smallModel() {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  model.set_producer_name("test");
  auto* graph = model.mutable_graph();
  graph->set_name("g");
  addValue(graph->mutable_input(), "ids", onnx::TensorProto::INT64, {1, -1});
  addValue(graph->mutable_input(), "table", onnx::TensorProto::FLOAT, {10, 4});
  addValue(graph->mutable_output(), "y", onnx::TensorProto::FLOAT, {1, 4});
  addInitializer(*graph, "table", {10, 4}, true);
  addInitializer(*graph, "w", {4, 4}, false);
  stampNode(addNode(*graph, "emb", "Gather", {"table", "ids"}, {"e"}), "/M/Emb", "trace", "emb");
  stampNode(addNode(*graph, "q", "MatMul", {"e", "w"}, {"qo"}), "/M/Layer.0/Linear.q", "trace", "layer.0.q");
  stampNode(addNode(*graph, "add", "Add", {"qo", "e"}, {"s"}), "/M/Layer.0", "project", "layer.0");
  addNode(*graph, "", "Shape", {"s"}, {"sh"});
  stampNode(addNode(*graph, "out", "Tanh", {"s"}, {"y"}), "/M", "trace", "");
  return model;
}

AnalysisReport analyze(const onnx::ModelProto& model, const std::string& filter = "", const std::string& exclude = "") {
  return buildAnalysisReport(model, readHierarchy(model.graph()), filter, "m.onnx", exclude);
}

TEST(AnalysisReport, ModelFactsLeaveInitializersOutOfTheInputs) {
  const ModelFacts facts = modelFacts(smallModel());
  ASSERT_EQ(facts.inputs.size(), 1u);
  EXPECT_EQ(facts.inputs[0].name, "ids");
  EXPECT_EQ(facts.inputs[0].dtype, "int64");
  ASSERT_EQ(facts.inputs[0].shape.size(), 2u);
  EXPECT_EQ(facts.inputs[0].shape[0].size, 1);
  EXPECT_FALSE(facts.inputs[0].shape[1].size);
  EXPECT_EQ(facts.inputs[0].shape[1].param, "?");
  EXPECT_EQ(facts.initializers, 2);
  EXPECT_EQ(facts.parameterElements, 56u);
  EXPECT_EQ(facts.parameterBytes, 160u + 64u);  // raw bytes, and float_data by its type
}

TEST(AnalysisReport, CountsAddUpOverTheTree) {
  const AnalysisReport report = analyze(smallModel());
  const HierarchyCoverage& h = report.hierarchy;
  EXPECT_EQ(h.source, "metadata_props");
  EXPECT_EQ(h.nodesTotal, 5);
  EXPECT_EQ(h.nodesTagged, 4u);
  EXPECT_DOUBLE_EQ(h.coverage, 0.8);
  EXPECT_EQ(h.nodesSelected, 5u);
  EXPECT_EQ(h.nodesSelectedTagged, 4u);
  EXPECT_EQ(h.methods, (std::map<std::string, size_t>{{"project", 1}, {"trace", 3}}));
  EXPECT_EQ(report.opTypes.size(), 5u);
  ASSERT_EQ(h.modules.size(), 4u);
  const std::vector<std::tuple<std::string, int, size_t, size_t>> expected = {
      {"/M", 0, 1, 4}, {"/M/Emb", 1, 1, 1}, {"/M/Layer.0", 1, 1, 2}, {"/M/Layer.0/Linear.q", 2, 1, 1}};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(h.modules[i].tag, std::get<0>(expected[i]));
    EXPECT_EQ(h.modules[i].depth, std::get<1>(expected[i]));
    EXPECT_EQ(h.modules[i].ownNodes, std::get<2>(expected[i])) << h.modules[i].tag;
    EXPECT_EQ(h.modules[i].totalNodes, std::get<3>(expected[i])) << h.modules[i].tag;
  }
  EXPECT_FALSE(h.modules[0].parent);
  EXPECT_EQ(h.modules[3].parent, "/M/Layer.0");
  ASSERT_EQ(report.nodes.size(), 5u);
  EXPECT_FALSE(report.nodes[3].path);  // the unstamped Shape
  EXPECT_FALSE(report.nodes[3].module);
  EXPECT_EQ(report.nodes[1].module, "layer.0.q");
  EXPECT_EQ(report.nodes[1].inputs, (std::vector<std::string>{"e", "w"}));
}

TEST(AnalysisReport, FilterExcludeAndAuxiliarySelectNodesAndModules) {
  const AnalysisReport layer = analyze(smallModel(), "/M/Layer.0");
  EXPECT_EQ(layer.hierarchy.nodesSelected, 2u);
  ASSERT_EQ(layer.hierarchy.modules.size(), 2u);
  EXPECT_EQ(layer.hierarchy.modules[0].tag, "/M/Layer.0");
  EXPECT_EQ(layer.hierarchy.modules[0].totalNodes, 2u);

  const AnalysisReport rest = analyze(smallModel(), "", "/M/Layer.0");
  EXPECT_EQ(rest.hierarchy.nodesSelected, 3u);  // the unstamped node is in no module, so not excluded
  EXPECT_EQ(rest.hierarchy.nodesSelectedTagged, 2u);
  ASSERT_EQ(rest.hierarchy.modules.size(), 2u);
  EXPECT_EQ(rest.hierarchy.modules[0].totalNodes, 2u);
  EXPECT_EQ(rest.hierarchy.modules[1].tag, "/M/Emb");

  const AnalysisReport projected = analyze(smallModel(), kAuxiliaryFilter);
  ASSERT_EQ(projected.nodes.size(), 1u);
  EXPECT_EQ(projected.nodes[0].name, "add");

  EXPECT_THROW(analyze(smallModel(), "/M/Nope"), UserError);
  EXPECT_THROW(analyze(smallModel(), "", "/Nope"), UserError);
}

TEST(AnalysisReport, WrittenAsJsonTextAndCsv) {
  const AnalysisReport report = analyze(smallModel());
  const nlohmann::json json = toJson(report);
  EXPECT_EQ(json["format"], "modelexport-analysis");
  EXPECT_EQ(json["model"]["inputs"][0]["shape"], nlohmann::json::parse(R"([1, "?"])"));
  EXPECT_TRUE(json["nodes"][3]["hierarchy_path"].is_null());
  EXPECT_TRUE(json["hierarchy"]["modules"][0]["parent"].is_null());
  EXPECT_EQ(json["hierarchy"]["modules"][2]["total_nodes"], 2);
  EXPECT_EQ(json["op_types"]["Tanh"], 1);

  const std::string summary = renderAnalysisSummary(report);
  EXPECT_NE(summary.find("Module tree (own / total nodes):\n/M  (1 / 4)\n├── Emb  (1 / 1)\n└── Layer.0  (1 / 2)\n"
                         "    └── Linear.q  (1 / 1)\n"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("Hierarchy:  from metadata_props; 4 of 5 nodes tagged (80.0%)"), std::string::npos) << summary;
  EXPECT_NE(summary.find("  ids: int64 [1,?]\n"), std::string::npos) << summary;
  EXPECT_EQ(renderAnalysisNames(report), "emb\nq\nadd\nout\n");  // the unnamed node has no name to list
  EXPECT_NE(renderAnalysisDetailed(report).find("[3]   Shape\n    (no hierarchy)\n"), std::string::npos);
  const std::string csv = renderAnalysisCsv(report);
  EXPECT_NE(csv.find("\n1,q,MatMul,/M/Layer.0/Linear.q,trace,layer.0.q,/M/Layer.0/Linear.q,e;w,qo\n"), std::string::npos)
      << csv;
  EXPECT_EQ(csvField("a,\"b\""), "\"a,\"\"b\"\"\"");
  EXPECT_EQ(csvField("plain"), "plain");
}

// B: "add" moved to /M/Emb, a Relu added in /M, one byte of "w" changed.
onnx::ModelProto changedModel() {
  onnx::ModelProto model = smallModel();
  auto* graph = model.mutable_graph();
  stampNode(*graph->mutable_node(2), "/M/Emb", "trace", "emb");
  stampNode(addNode(*graph, "relu", "Relu", {"y"}, {"z"}), "/M", "trace", "");
  graph->mutable_initializer(1)->set_float_data(0, 2.0f);
  return model;
}

TEST(ComparisonReport, FileAgainstItselfMatchesEveryNode) {
  const onnx::ModelProto model = smallModel();
  const ComparisonReport report = compareModels(model, model, "a.onnx", "b.onnx");
  EXPECT_TRUE(report.structure.inputs.equal);
  EXPECT_TRUE(report.structure.opTypesEqual);
  EXPECT_EQ(report.structure.initializers.identical, 2u);
  EXPECT_EQ(report.hierarchy.comparedBy, "tag");
  EXPECT_EQ(report.hierarchy.matchedNodes, 5u);
  EXPECT_EQ(report.hierarchy.sameTag, 5u);  // the unstamped pair too: both keys are empty
  EXPECT_TRUE(report.hierarchy.tagDifferences.empty());
  EXPECT_TRUE(report.hierarchy.moduleNodeCounts.empty());
}

TEST(ComparisonReport, DifferencesInOpsInitializersModulesAndTags) {
  const ComparisonReport report = compareModels(smallModel(), changedModel(), "a.onnx", "b.onnx");
  const StructureComparison& s = report.structure;
  EXPECT_FALSE(s.opTypesEqual);
  EXPECT_EQ(s.initializers.identical, 1u);
  EXPECT_EQ(s.initializers.bytesDiffer, std::vector<std::string>{"w"});
  const HierarchyComparison& h = report.hierarchy;
  EXPECT_EQ(h.matchedNodes, 5u);
  EXPECT_EQ(h.matchedBy, (std::map<std::string, size_t>{{"output", 5}}));
  EXPECT_EQ(h.unmatchedA, 0u);
  EXPECT_EQ(h.unmatchedB, 1u);
  ASSERT_EQ(h.tagDifferences.size(), 1u);
  EXPECT_EQ(h.tagDifferences[0].aName, "add");
  EXPECT_EQ(h.tagDifferences[0].aTag, "/M/Layer.0");
  EXPECT_EQ(h.tagDifferences[0].bTag, "/M/Emb");
  ASSERT_EQ(h.moduleNodeCounts.size(), 3u);
  EXPECT_EQ(h.moduleNodeCounts[2].module, "/M/Layer.0");
  EXPECT_EQ(h.moduleNodeCounts[2].a, 1u);
  EXPECT_EQ(h.moduleNodeCounts[2].b, 0u);

  const nlohmann::json json = toJson(report);
  EXPECT_EQ(json["hierarchy"]["different_tag"], 1);
  EXPECT_EQ(json["structure"]["op_types"]["counts"][3], nlohmann::json::parse(R"({"op_type":"Relu","a":0,"b":1})"));
  const std::string text = renderComparisonSummary(report);
  EXPECT_NE(text.find("  op types: counts differ\n    Relu: 0 vs 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("    Add A /M/Layer.0 (project)  B /M/Emb (trace)\n"), std::string::npos) << text;
}

RuntimeProfile smallProfile() {
  RuntimeProfile profile;
  profile.runs = 2;
  profile.modelRunUs = 200;
  for (int run = 0; run < 2; ++run) {
    profile.kernels.push_back({"q", "MatMul", "CPU", 30});
    profile.kernels.push_back({"emb", "Gather", "CPU", 10});
    profile.kernels.push_back({"add_new_reshape", "Reshape", "CPU", 4});      // derived from "add"
    profile.kernels.push_back({"/M/Layer.0/Linear.q/Extra", "Mul", "CPU", 6});  // a module scope
    profile.kernels.push_back({"zzz", "Cast", "CPU", 20});                      // nowhere
  }
  return profile;
}

TEST(ProfileReport, TimesPerRunByModuleOpTypeAndNode) {
  const onnx::ModelProto model = smallModel();
  ProfileOptions options;
  options.top = 2;
  options.modelLabel = "m.onnx";
  options.profileLabel = "p.json";
  const ProfileReport report = buildProfileReport(model, readHierarchy(model.graph()), smallProfile(), options);
  EXPECT_EQ(report.kernelEvents, 10u);
  EXPECT_DOUBLE_EQ(report.runUs, 70);
  EXPECT_DOUBLE_EQ(report.modelRunUs, 100);
  EXPECT_DOUBLE_EQ(report.attributedUs, 50);
  EXPECT_DOUBLE_EQ(report.unattributedUs, 20);
  EXPECT_EQ(report.attribution,
            (std::map<std::string, size_t>{{kAttributedByDerivation, 1}, {kAttributedByName, 2}, {kAttributedByScope, 1}}));
  ASSERT_EQ(report.modules.size(), 4u);
  EXPECT_DOUBLE_EQ(report.modules[0].totalUs, 50);  // /M
  EXPECT_DOUBLE_EQ(report.modules[2].ownUs, 4);     // /M/Layer.0
  EXPECT_DOUBLE_EQ(report.modules[2].totalUs, 40);
  EXPECT_DOUBLE_EQ(report.modules[3].ownShare, 36.0 / 70);
  EXPECT_DOUBLE_EQ(report.modules[3].ownCalls, 2);
  ASSERT_EQ(report.topModules.size(), 2u);
  EXPECT_EQ(report.topModules[0].tag, "/M/Layer.0/Linear.q");
  EXPECT_EQ(report.topModules[1].tag, "/M/Emb");
  ASSERT_EQ(report.opTypes.size(), 5u);
  EXPECT_EQ(report.opTypes[1].opType, "Cast");
  EXPECT_EQ(report.topOpTypes.size(), 2u);
  ASSERT_EQ(report.nodes.size(), 4u);
  EXPECT_EQ(report.nodes[0].name, "q");
  EXPECT_EQ(report.nodes[3].attribution, kAttributedByDerivation);
  EXPECT_EQ(report.nodes[3].module, "/M/Layer.0");
  ASSERT_EQ(report.unattributed.size(), 1u);
  EXPECT_EQ(report.unattributed[0].name, "zzz");

  const nlohmann::json json = toJson(report);
  EXPECT_FALSE(json["unattributed"][0].contains("module"));
  EXPECT_EQ(json["nodes"][0]["module"], "/M/Layer.0/Linear.q");
  const std::string text = renderProfileText(report);
  EXPECT_NE(text.find("Attributed: 50.0 us (71.4%) in 4 nodes (by derived 1, by name 2, by scope 1); unattributed 20.0 us"),
            std::string::npos)
      << text;
  EXPECT_NE(renderProfileCsv(report).find("\n/M/Layer.0,layer.0,1,4.000,40.000,0.057143,0.571429,1,3\n"),
            std::string::npos)
      << renderProfileCsv(report);
}

TEST(ProfileReport, FilterKeepsTheModuleAndLeavesUnattributedTimeOut) {
  const onnx::ModelProto model = smallModel();
  ProfileOptions options;
  options.filterTag = "/M/Layer.0";
  const ProfileReport report = buildProfileReport(model, readHierarchy(model.graph()), smallProfile(), options);
  EXPECT_DOUBLE_EQ(report.selectedUs, 40);
  EXPECT_DOUBLE_EQ(report.runUs, 70);  // shares stay shares of the whole run
  EXPECT_EQ(report.modules.size(), 2u);
  EXPECT_TRUE(report.unattributed.empty());
  options.filterTag = "/M/Nope";
  EXPECT_THROW(buildProfileReport(model, readHierarchy(model.graph()), smallProfile(), options), UserError);
}

void addStringAttribute(onnx::NodeProto& node, const std::string& name, const std::string& value) {
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(value);
}

TEST(RepairReport, ChangesInTheOrderTheStepsMakeThem) {
  onnx::ModelProto model;
  auto* graph = model.mutable_graph();
  auto& a = addNode(*graph, "a", "Gather", {"t", "i"}, {"x"});
  addStringAttribute(a, "hierarchy_path", "/M/Emb");
  addStringAttribute(a, "hierarchy_tags", "[\"/M/Emb\"]");
  addStringAttribute(a, "hierarchy_method", "trace");
  auto& b = addNode(*graph, "b", "MatMul", {"x", "w"}, {"u"});
  MetadataEntries stamps = hierarchyEntries("/M/L", {"/M/L"}, "trace", "l");
  for (auto& [key, value] : stamps)
    if (key == "hierarchy_count") value = "3";
  setNodeMetadata(b, stamps);
  addNode(*graph, "", "Add", {"u", "u"}, {"v"});
  stampNode(addNode(*graph, "b", "Tanh", {"v"}, {"y"}), "/M/L", "trace", "l");
  graph->add_output()->set_name("y");

  const std::vector<RepairChange> changes = repairHierarchy(model, nullptr);
  std::vector<std::string> lines;
  for (const auto& c : changes) lines.push_back(c.node + ": " + c.change);
  EXPECT_EQ(lines, (std::vector<std::string>{"a: moved 3 hierarchy_* attribute(s) into metadata_props",
                                             "a: hierarchy_count missing -> 1", "b: hierarchy_count 3 -> 1",
                                             "#2 (Add): stamped by projection as /M/L", "#2 (Add): renamed to /M/L/Add",
                                             "b: renamed to b_1"}));
  const ModelHierarchy repaired = readHierarchy(model.graph());
  EXPECT_EQ(repaired.taggedNodes(), 4u);
  EXPECT_EQ(repaired.nodes[2].method, "project");

  const RepairReport report{"m.onnx", "m.onnx", std::string("m.onnx.bak"), changes};
  EXPECT_EQ(renderRepairText(report).substr(0, 69),
            "repaired m.onnx -> m.onnx: 6 change(s) (original kept as m.onnx.bak)\n");
  const nlohmann::json json = toJson(ValidationReport{}, &report);
  EXPECT_EQ(json["repair"]["changes"][5], "b: renamed to b_1");
  EXPECT_EQ(json["repair"]["backup"], "m.onnx.bak");
}

TEST(ValidationReport, TextAndJsonListTheProblems) {
  ValidationReport report;
  report.file = "m.onnx";
  report.checkerPassed = true;
  report.consistencyChecked = true;
  report.hierarchySource = "metadata_props";
  report.problems.push_back({"count", "n1", "hierarchy_count 3, but 1 tag(s)"});
  EXPECT_EQ(renderValidationText(report),
            "m.onnx\n  ONNX checker (full): passed\n  hierarchy: from metadata_props; no sidecar\n"
            "  consistency: 1 problem(s)\n    [count] n1: hierarchy_count 3, but 1 tag(s)\ninvalid\n");
  const nlohmann::json json = toJson(report);
  EXPECT_EQ(json["valid"], false);
  EXPECT_TRUE(json["checker"]["error"].is_null());
  EXPECT_TRUE(json["sidecar"].is_null());
  EXPECT_FALSE(json.contains("repair"));
  EXPECT_EQ(json["problems"][0]["check"], "count");
}

TEST(RestampReport, TextCountsEachMethod) {
  RestampSummary summary;
  summary.nodes = 4;
  summary.byMethod = {{"name", 3}, {"projection", 1}};
  summary.spanning = 1;
  const std::string text = renderRestampText({"o.onnx", "out.onnx", "ref.onnx", "checker passed", summary});
  EXPECT_EQ(text.substr(0, text.find('\n') + 1),
            "restamped o.onnx -> out.onnx from ref.onnx: 4 nodes, all stamped; checker passed\n");
  EXPECT_NE(text.find("\n  stamp           0  (  0.0%)  kept the stamp"), std::string::npos) << text;
  EXPECT_NE(text.find("\n  name            3  ( 75.0%)  from the reference node"), std::string::npos) << text;
  EXPECT_NE(text.find("\n  1 nodes span several modules (hierarchy_count > 1)\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace modelexport

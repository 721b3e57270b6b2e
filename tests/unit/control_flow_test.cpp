// Branches and loops that depend on tensor values become ONNX If/Loop: the file is run in
// onnxruntime on inputs that take each way, against LibTorch on the same inputs, and
// the nodes inside the bodies carry their modules' stamps.
#include <gtest/gtest.h>

#include "modelexport/exporter.h"
#include "modelexport/model_writer.h"
#include "modelexport/node_metadata.h"
#include "modelexport/reference_io.h"
#include "test_support.h"

namespace modelexport::testing {
namespace {

// Root module with two children, `pos` and `neg`, each with its own forward.
torch::jit::Module branchingModel(const std::string& rootForward) {
  torch::jit::Module pos("Pos"), neg("Neg"), root("Root");
  pos.define("def forward(self, x):\n  return torch.relu(x) * 2.0\n");
  neg.define("def forward(self, x):\n  return torch.neg(x) - 1.0\n");
  root.register_module("pos", pos);
  root.register_module("neg", neg);
  root.define(rootForward);
  return root;
}

// Exports `module` on `example`, then checks onnxruntime against LibTorch on every input
// of `others` (inputs the example does not represent, e.g. taking the other branch).
onnx::ModelProto exportAndRunOn(const std::string& name, torch::jit::Module module, const at::Tensor& example,
                                const std::vector<at::Tensor>& others) {
  const std::string dir = freshWorkDir("control_flow/" + name);
  module.save(dir + "/model.pt");
  ExportOptions options;
  options.modelPath = dir + "/model.pt";
  options.outputPath = dir + "/model.onnx";
  NamedInput input;
  input.name = "x";
  input.values = example;
  options.namedInputs = {input};
  options.dumpIoDir = dir + "/io_example";
  std::ostringstream log;
  ExportSummary summary;
  try {
    summary = exportModel(options, log);
  } catch (const std::exception& e) {
    ADD_FAILURE() << name << ": export failed: " << e.what();
    return {};
  }
  onnx::ModelProto model = readModel(options.outputPath);
  expectGolden("control_flow_" + name, model, summary.convertedKeys);
  EXPECT_EQ(ortCheck(options.outputPath, options.dumpIoDir, 1e-5).exitCode, 0);
  for (size_t k = 0; k < others.size(); ++k) {
    const std::string io = dir + "/io_" + std::to_string(k);
    at::Tensor reference = module.forward({others[k]}).toTensor();
    writeReferenceIo(io, {"x"}, {others[k]}, {model.graph().output(0).name()}, {reference});
    ProcessResult ort = ortCheck(options.outputPath, io, 1e-5);
    EXPECT_EQ(ort.exitCode, 0) << name << " on input " << k << ": " << ort.output;
  }
  return model;
}

const onnx::NodeProto* findNode(const onnx::GraphProto& graph, const std::string& opType) {
  for (const auto& node : graph.node())
    if (node.op_type() == opType) return &node;
  return nullptr;
}

const onnx::GraphProto& graphAttribute(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& a : node.attribute())
    if (a.name() == name) return a.g();
  static const onnx::GraphProto none;
  ADD_FAILURE() << node.op_type() << " has no attribute " << name;
  return none;
}

// Every node of the graph is stamped; returns their hierarchy paths.
std::vector<std::string> stampedPaths(const onnx::GraphProto& graph) {
  std::vector<std::string> paths;
  for (const auto& node : graph.node()) {
    std::string path;
    for (const auto& [key, value] : getNodeMetadata(node))
      if (key == "hierarchy_path") path = value;
    EXPECT_FALSE(path.empty()) << node.op_type() << " " << node.name() << " has no hierarchy_path";
    paths.push_back(path);
  }
  return paths;
}

bool anyContains(const std::vector<std::string>& paths, const std::string& text) {
  for (const auto& p : paths)
    if (p.find(text) != std::string::npos) return true;
  return false;
}

TEST(ControlFlow, IfOnTensorDataRunsBothWaysWithStampedBranches) {
  auto model = exportAndRunOn("if_tensor",
                              branchingModel("def forward(self, x):\n"
                                             "  s = torch.sum(x)\n"
                                             "  if bool(s > 0.0):\n"
                                             "    y = self.pos.forward(x) + s\n"
                                             "  else:\n"
                                             "    y = self.neg.forward(x)\n"
                                             "  return y * 3.0\n"),
                              torch::ones({2, 3}), {-torch::ones({2, 3}), torch::rand({2, 3}) + 0.5});
  const onnx::NodeProto* ifNode = findNode(model.graph(), "If");
  ASSERT_NE(ifNode, nullptr) << "no If node";
  auto thenPaths = stampedPaths(graphAttribute(*ifNode, "then_branch"));
  auto elsePaths = stampedPaths(graphAttribute(*ifNode, "else_branch"));
  EXPECT_TRUE(anyContains(thenPaths, "Pos")) << "then_branch nodes should belong to pos";
  EXPECT_TRUE(anyContains(elsePaths, "Neg")) << "else_branch nodes should belong to neg";
  EXPECT_FALSE(anyContains(thenPaths, "Neg"));
}

TEST(ControlFlow, IfDecidedByShapesIsFolded) {
  auto model = exportAndRunOn("if_shape",
                              branchingModel("def forward(self, x):\n"
                                             "  if x.size(0) > 1:\n"
                                             "    y = self.pos.forward(x)\n"
                                             "  else:\n"
                                             "    y = self.neg.forward(x)\n"
                                             "  return y\n"),
                              torch::randn({2, 3}), {-torch::ones({2, 3})});
  EXPECT_EQ(findNode(model.graph(), "If"), nullptr);
}

TEST(ControlFlow, LoopWithTripCountFromDataBecomesOnnxLoop) {
  // Trip count = number of positive elements; each trip goes through `pos`.
  auto model = exportAndRunOn("loop_trip_count",
                              branchingModel("def forward(self, x):\n"
                                             "  n = int(torch.sum(x > 0.0))\n"
                                             "  y = x\n"
                                             "  for i in range(n):\n"
                                             "    y = self.pos.forward(y) * 0.25 + float(i)\n"
                                             "  return y\n"),
                              torch::tensor({{1.0f, -2.0f, 3.0f}}),
                              {torch::tensor({{-1.0f, -2.0f, -3.0f}}), torch::tensor({{1.0f, 2.0f, 3.0f}})});
  const onnx::NodeProto* loop = findNode(model.graph(), "Loop");
  ASSERT_NE(loop, nullptr) << "no Loop node";
  EXPECT_TRUE(anyContains(stampedPaths(graphAttribute(*loop, "body")), "Pos"));
}

TEST(ControlFlow, WhileOnTensorDataBecomesOnnxLoop) {
  auto model = exportAndRunOn("while_tensor",
                              branchingModel("def forward(self, x):\n"
                                             "  y = x\n"
                                             "  while bool(torch.max(torch.abs(y)) > 1.0):\n"
                                             "    y = self.neg.forward(y) * 0.3\n"
                                             "  return y\n"),
                              torch::tensor({{4.0f, -2.0f}}), {torch::tensor({{0.5f, 0.1f}}), torch::tensor({{90.0f, 3.0f}})});
  const onnx::NodeProto* loop = findNode(model.graph(), "Loop");
  ASSERT_NE(loop, nullptr) << "no Loop node";
  EXPECT_TRUE(anyContains(stampedPaths(graphAttribute(*loop, "body")), "Neg"));
}

TEST(ControlFlow, LoopWithConstantTripCountIsUnrolled) {
  auto model = exportAndRunOn("loop_constant",
                              branchingModel("def forward(self, x):\n"
                                             "  y = x\n"
                                             "  for i in range(3):\n"
                                             "    y = self.pos.forward(y) - 0.5\n"
                                             "  return y\n"),
                              torch::randn({2, 3}), {torch::randn({2, 3})});
  EXPECT_EQ(findNode(model.graph(), "Loop"), nullptr);
  int relus = 0;
  for (const auto& node : model.graph().node()) relus += node.op_type() == "Relu";
  EXPECT_EQ(relus, 3);
}

}  // namespace
}  // namespace modelexport::testing

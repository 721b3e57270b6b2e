// The convert stage never hands the user its own invariants' messages (issue 23 item 5):
// an exception a converter throws outside the converter protocol is reported at its node
// (op, module, source line) like an unsupported form, and a graph output that has no ONNX
// tensor is one line naming the output and what made it.
#include <gtest/gtest.h>

#include <torch/csrc/jit/ir/irparser.h>

#include "modelexport/errors.h"
#include "modelexport/graph_converter.h"
#include "modelexport/onnx_graph_builder.h"

namespace modelexport {
namespace {

struct Converted {
  std::string error;  // "" when it converted
};

// Converts `ir` (inputs float tensors of shape [2, 3], every value not static) with
// `registry`, every node tagged with the root module "/Net" but aten::relu's, tagged
// "/Net/Linear" (the tree names it).
Converted convert(const std::string& ir, const ConverterRegistry& registry) {
  auto graph = std::make_shared<torch::jit::Graph>();
  torch::jit::parseIR(ir, graph.get());
  PreparedGraph prepared;
  prepared.graph = graph;
  ValueFacts facts;
  std::unordered_map<const torch::jit::Node*, NodeTag> tags;
  for (const torch::jit::Value* in : graph->inputs()) {
    prepared.inputNames.push_back(in->debugName());
    ValueFact& f = facts.set(in);
    f.isTensor = true, f.dtype = at::kFloat, f.sizes = {2, 3};
  }
  for (const torch::jit::Node* n : graph->nodes()) {
    tags[n] = NodeTag{n->kind() == c10::Symbol::fromQualString("aten::relu") ? 1 : 0, TagMethod::Trace};
    for (const torch::jit::Value* out : n->outputs()) {
      ValueFact& f = facts.set(out);
      f.isTensor = out->type()->kind() == c10::TypeKind::TensorType;
      f.dtype = at::kFloat, f.sizes = {2, 3};
    }
  }
  for (size_t i = 0; i < graph->outputs().size(); ++i) prepared.outputNames.push_back("out" + std::to_string(i));
  ModuleInfo root, proj;
  root.className = "Net", root.tag = "/Net";
  proj.path = proj.name = "proj", proj.className = "Linear", proj.parent = 0;
  const ModuleTree tree({root, proj});
  OnnxGraphBuilder builder;
  try {
    convertGraph(prepared, facts, tags, tree, registry, 14, builder);
  } catch (const UserError& e) {
    return {e.what()};
  }
  return {};
}

TEST(ConvertInternalErrors, AConvertersOwnFailureIsReportedAtItsNode) {
  ConverterRegistry registry;
  registry.add("aten::relu", [](ConvertContext&) { TORCH_CHECK(false, "expected a constant, got a Tensor"); });
  registry.add("aten::neg", [](ConvertContext&) { throw std::out_of_range("vector::_M_range_check"); });
  const auto converted = convert(
      "graph(%x : Tensor):\n"
      "  %y : Tensor = aten::relu(%x)\n"
      "  %z : Tensor = aten::neg(%x)\n"
      "  return (%y, %z)\n",
      registry);
  EXPECT_NE(converted.error.find("aten::relu x1 (first in /Net/Linear: internal error in its converter: "
                                 "expected a constant, got a Tensor)"),
            std::string::npos)
      << converted.error;
  EXPECT_NE(converted.error.find("aten::neg x1 (first in /Net: internal error in its converter: "
                                 "vector::_M_range_check)"),
            std::string::npos)
      << converted.error;
  EXPECT_EQ(converted.error.find('\n'), std::string::npos) << converted.error;
}

// A list returned as it is (prepare returns a plain list's tensors; one changed at run
// time stays a list): one line naming the output, its type and its maker.
TEST(ConvertInternalErrors, AnOutputWithNoOnnxTensorIsNamed) {
  ConverterRegistry registry;
  registry.add("aten::relu", [](ConvertContext& ctx) { ctx.setOutput(ctx.op("Relu", {ctx.input(ctx.in("self"))})); });
  registry.add("prim::ListConstruct", [](ConvertContext&) {});
  const auto converted = convert(
      "graph(%x : Tensor):\n"
      "  %y : Tensor = aten::relu(%x)\n"
      "  %l : Tensor[] = prim::ListConstruct(%x, %y)\n"
      "  return (%l)\n",
      registry);
  EXPECT_NE(converted.error.find("output 0 ('out0'), a Tensor[] made by prim::ListConstruct in /Net, is no tensor"),
            std::string::npos)
      << converted.error;
  EXPECT_EQ(converted.error.find("never produced"), std::string::npos) << converted.error;
}

}  // namespace
}  // namespace modelexport

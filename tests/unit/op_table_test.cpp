// The op table: entries keyed by kind or overload, the overload tried first, and the
// facts other stages read from it.
#include <algorithm>

#include <gtest/gtest.h>
#include <torch/csrc/jit/ir/irparser.h>

#include "modelexport/convert_context.h"
#include "modelexport/op_facts.h"

namespace modelexport::testing {
namespace {

std::shared_ptr<torch::jit::Graph> parse(const std::string& ir) {
  auto graph = std::make_shared<torch::jit::Graph>();
  torch::jit::parseIR(ir, graph.get());
  return graph;
}

const torch::jit::Node* nodeOfKind(const torch::jit::Graph& graph, const std::string& kind, size_t nth = 0) {
  for (const torch::jit::Node* node : graph.nodes())
    if (node->kind().toQualString() == kind && nth-- == 0) return node;
  return nullptr;
}

TEST(OpTable, OverloadBeforeKind) {
  auto graph = parse(
      "graph(%x : Tensor, %y : Tensor):\n"
      "  %mode : str = prim::Constant[value=\"floor\"]()\n"
      "  %a : Tensor = aten::div(%x, %y)\n"
      "  %b : Tensor = aten::div(%x, %y, %mode)\n"
      "  return (%a, %b)\n");
  const torch::jit::Node* plain = nodeOfKind(*graph, "aten::div", 0);
  const torch::jit::Node* rounded = nodeOfKind(*graph, "aten::div", 1);
  ASSERT_EQ(plain->schema().overload_name(), "Tensor");
  ASSERT_EQ(rounded->schema().overload_name(), "Tensor_mode");

  int called = 0;
  ConverterRegistry r;
  r.add("aten::div", [&](ConvertContext&) { called = 1; }, keepsSize());
  r.declare("aten::div.Tensor_mode", dataBlind());
  // The overload's entry has no converter: the kind's converts it; its facts replace the kind's.
  ASSERT_NE(r.find(rounded), nullptr);
  EXPECT_EQ(r.facts(plain)->keepsInputSize, KeepsInputSize::Always);
  EXPECT_EQ(r.facts(rounded)->keepsInputSize, KeepsInputSize::No);
  EXPECT_TRUE(r.facts(rounded)->has(OpFacts::kDataBlind));

  r.add("aten::div.Tensor_mode", [&](ConvertContext&) { called = 2; });
  OnnxGraphBuilder builder;
  ValueFacts facts;
  ConvertContext ctx(builder, facts, 14);
  (*r.find(rounded))(ctx);
  EXPECT_EQ(called, 2);
  (*r.find(plain))(ctx);
  EXPECT_EQ(called, 1);
  EXPECT_EQ(r.kinds(), (std::vector<std::string>{"aten::div", "aten::div.Tensor_mode"}));
}

TEST(OpTable, DefaultFacts) {
  auto graph = parse(
      "graph(%x : Tensor, %w : Tensor, %ids : Tensor, %xs : Tensor[]):\n"
      "  %mode : str = prim::Constant[value=\"floor\"]()\n"
      "  %no : bool = prim::Constant[value=0]()\n"
      "  %n : int = aten::len(%x)\n"
      "  %m : int = aten::len(%xs)\n"
      "  %a : Tensor = aten::div(%x, %x)\n"
      "  %b : Tensor = aten::div(%x, %x, %mode)\n"
      "  %e : Tensor = aten::embedding(%w, %ids, %n, %no, %no)\n"
      "  %r : Tensor = aten::relu_(%x)\n"
      "  return (%n, %m, %a, %b, %r)\n");
  EXPECT_TRUE(opFacts(nodeOfKind(*graph, "aten::len", 0))->has(OpFacts::kShapeOnly));
  EXPECT_FALSE(opFactsOrNone(nodeOfKind(*graph, "aten::len", 1)).has(OpFacts::kShapeOnly));
  EXPECT_EQ(opFacts(nodeOfKind(*graph, "aten::div", 0))->keepsInputSize, KeepsInputSize::SameSizeOperand);
  EXPECT_FALSE(opFacts(nodeOfKind(*graph, "aten::div", 1))->dataBlind());
  const OpFacts* embedding = opFacts(nodeOfKind(*graph, "aten::embedding"));
  EXPECT_EQ(embedding->indexInput, 1);
  EXPECT_EQ(embedding->indexTable, 0);
  EXPECT_TRUE(opFacts(nodeOfKind(*graph, "prim::Constant"))->has(OpFacts::kAuxiliary));
  // In-place forms have facts of their own and convert through the out-of-place converter.
  const torch::jit::Node* relu = nodeOfKind(*graph, "aten::relu_");
  EXPECT_EQ(opFacts(relu)->keepsInputSize, KeepsInputSize::Always);
  EXPECT_EQ(defaultConverters().find(relu), nullptr);
  EXPECT_NE(defaultConverters().findOutOfPlace(relu), nullptr);
}

// An entry with facts only is not a converter: the op is still reported as unsupported.
TEST(OpTable, FactsOnlyIsNoConverter) {
  auto graph = parse(
      "graph(%x : Tensor):\n"
      "  %n : int = aten::dim(%x)\n"
      "  return (%n)\n");
  const torch::jit::Node* dim = nodeOfKind(*graph, "aten::dim");
  ASSERT_NE(opFacts(dim), nullptr);
  EXPECT_EQ(defaultConverters().find(dim), nullptr);
  const auto kinds = defaultConverters().kinds();
  EXPECT_EQ(std::find(kinds.begin(), kinds.end(), "aten::dim"), kinds.end());
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "aten::size"), kinds.end());
}

}  // namespace
}  // namespace modelexport::testing

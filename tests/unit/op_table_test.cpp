// The op table: entries keyed by kind or overload, the overload tried first, and the
// facts other stages read from it.
#include <algorithm>

#include <gtest/gtest.h>
#include <torch/csrc/jit/ir/irparser.h>

#include "modelexport/convert_context.h"
#include "modelexport/node_op_facts.h"
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

// The product's table, as the pipeline hands it to the stages.
const OpFactsTable& ops() { return defaultConverters().opFacts(); }

// The table alone, keyed by name: no converter, no node.
TEST(OpTable, FactsTableByName) {
  OpFactsTable table;
  table.add("aten::div", keepsSize());
  table.add("aten::div", dataBlind());
  table.add("aten::div.Tensor_mode", {});
  ASSERT_NE(table.find("aten::div"), nullptr);
  EXPECT_EQ(table.find("aten::div")->keepsInputSize, KeepsInputSize::Always);
  EXPECT_TRUE(table.find("aten::div")->has(OpFacts::kDataBlind));
  EXPECT_TRUE(table.find("aten::div", "Tensor")->has(OpFacts::kDataBlind)) << "no entry of its own: the kind's";
  EXPECT_FALSE(table.find("aten::div", "Tensor_mode")->dataBlind()) << "an entry of its own replaces the kind's";
  EXPECT_EQ(table.find("aten::mul"), nullptr);
}

// Facts the example inputs and the run read, declared with the converters instead of
// lists of kinds in those stages.
TEST(OpTable, ExampleInputAndRunFacts) {
  for (const char* kind : {"aten::slice", "aten::unsqueeze", "aten::select", "aten::view", "aten::reshape",
                           "aten::squeeze", "aten::expand", "aten::contiguous", "aten::index"})
    EXPECT_TRUE(ops().find(kind)->has(OpFacts::kMovesElements)) << kind;
  EXPECT_TRUE(ops().find("aten::to")->has(OpFacts::kDtypeCast));
  EXPECT_TRUE(ops().find("aten::type_as")->has(OpFacts::kDtypeCast));
  EXPECT_EQ(ops().find("aten::full_like")->fillInput, 1);
  EXPECT_EQ(ops().find("aten::new_full")->fillInput, 2);
  EXPECT_EQ(ops().find("aten::zeros_like")->fillInput, -1);
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
  ASSERT_NE(r.find(rounded, kDefaultOpset), nullptr);
  EXPECT_EQ(opFacts(r.opFacts(), plain)->keepsInputSize, KeepsInputSize::Always);
  EXPECT_EQ(opFacts(r.opFacts(), rounded)->keepsInputSize, KeepsInputSize::No);
  EXPECT_TRUE(opFacts(r.opFacts(), rounded)->has(OpFacts::kDataBlind));

  r.add("aten::div.Tensor_mode", [&](ConvertContext&) { called = 2; });
  OnnxGraphBuilder builder;
  ValueFacts facts;
  ConvertContext ctx(builder, facts, 14);
  (*r.find(rounded, kDefaultOpset))(ctx);
  EXPECT_EQ(called, 2);
  (*r.find(plain, kDefaultOpset))(ctx);
  EXPECT_EQ(called, 1);
  EXPECT_EQ(r.kinds(), (std::vector<std::string>{"aten::div", "aten::div.Tensor_mode"}));
}

// A converter's forms by opset range, as its registration declares them: each opset gets
// the last form that starts at or below it; the forms must start at kMinOpset and increase.
TEST(OpTable, ConverterFormsAreFoundByOpsetRange) {
  int called = 0;
  ConverterRegistry r;
  r.add("aten::celu", OpsetForms{{kMinOpset, [&](ConvertContext&) { called = 11; }},
                                 {13, [&](ConvertContext&) { called = 13; }},
                                 {16, [&](ConvertContext&) { called = 16; }}});
  r.add("aten::relu", [&](ConvertContext&) { called = 1; });  // one form at every opset
  OnnxGraphBuilder builder;
  ValueFacts facts;
  ConvertContext ctx(builder, facts, kDefaultOpset);
  auto formAt = [&](const std::string& key, int opset) {
    called = 0;
    const ConverterFn* fn = r.find(key, opset);
    if (fn) (*fn)(ctx);
    return called;
  };
  EXPECT_EQ(formAt("aten::celu", kMinOpset), 11);
  EXPECT_EQ(formAt("aten::celu", 12), 11);  // the last opset before the next form
  EXPECT_EQ(formAt("aten::celu", 13), 13);  // a form's first opset
  EXPECT_EQ(formAt("aten::celu", 15), 13);
  EXPECT_EQ(formAt("aten::celu", 16), 16);
  EXPECT_EQ(formAt("aten::celu", kMaxOpset), 16);  // the last form runs to the last opset
  EXPECT_EQ(formAt("aten::relu", kMinOpset), 1);
  EXPECT_EQ(formAt("aten::relu", kMaxOpset), 1);
  EXPECT_EQ(r.find("aten::gelu", kDefaultOpset), nullptr);  // no entry
  // Opsets outside those written never reach the table: asking is an internal error.
  EXPECT_THROW(r.find("aten::celu", kMinOpset - 1), std::logic_error);
  EXPECT_THROW(r.find("aten::celu", kMaxOpset + 1), std::logic_error);
  const ConverterFn none = [](ConvertContext&) {};
  EXPECT_THROW(r.add("aten::a", OpsetForms{{12, none}}), std::logic_error);  // no form at kMinOpset
  EXPECT_THROW(r.add("aten::b", OpsetForms{{kMinOpset, none}, {kMinOpset, none}}), std::logic_error);
  EXPECT_THROW(r.add("aten::c", OpsetForms{{kMinOpset, none}, {14, none}, {13, none}}), std::logic_error);
  EXPECT_THROW(r.add("aten::d", OpsetForms{}), std::logic_error);
  EXPECT_EQ(r.kinds(), (std::vector<std::string>{"aten::celu", "aten::relu"}));
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
  EXPECT_TRUE(opFacts(ops(), nodeOfKind(*graph, "aten::len", 0))->has(OpFacts::kShapeOnly));
  EXPECT_FALSE(opFactsOrNone(ops(), nodeOfKind(*graph, "aten::len", 1)).has(OpFacts::kShapeOnly));
  EXPECT_EQ(opFacts(ops(), nodeOfKind(*graph, "aten::div", 0))->keepsInputSize, KeepsInputSize::SameSizeOperand);
  EXPECT_FALSE(opFacts(ops(), nodeOfKind(*graph, "aten::div", 1))->dataBlind());
  const OpFacts* embedding = opFacts(ops(), nodeOfKind(*graph, "aten::embedding"));
  EXPECT_EQ(embedding->indexInput, 1);
  EXPECT_EQ(embedding->indexTable, 0);
  EXPECT_TRUE(opFacts(ops(), nodeOfKind(*graph, "prim::Constant"))->has(OpFacts::kAuxiliary));
  // In-place forms have facts of their own and convert through the out-of-place converter.
  const torch::jit::Node* relu = nodeOfKind(*graph, "aten::relu_");
  EXPECT_EQ(opFacts(ops(), relu)->keepsInputSize, KeepsInputSize::Always);
  EXPECT_EQ(defaultConverters().find(relu, kDefaultOpset), nullptr);
  EXPECT_NE(defaultConverters().findOutOfPlace(relu, kDefaultOpset), nullptr);
}

// An entry with facts only is not a converter: the op is still reported as unsupported.
TEST(OpTable, FactsOnlyIsNoConverter) {
  auto graph = parse(
      "graph(%x : Tensor):\n"
      "  %n : int = aten::dim(%x)\n"
      "  return (%n)\n");
  const torch::jit::Node* dim = nodeOfKind(*graph, "aten::dim");
  ASSERT_NE(opFacts(ops(), dim), nullptr);
  EXPECT_EQ(defaultConverters().find(dim, kDefaultOpset), nullptr);
  const auto kinds = defaultConverters().kinds();
  EXPECT_EQ(std::find(kinds.begin(), kinds.end(), "aten::dim"), kinds.end());
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "aten::size"), kinds.end());
}

}  // namespace
}  // namespace modelexport::testing

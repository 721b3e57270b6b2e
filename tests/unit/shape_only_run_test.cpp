// Sizing convolutions and matrix products without computing them: the formulas against
// LibTorch running the same nodes, and the analysis of which nodes' data is needed.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/irparser.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/jit.h>
#include <torch/script.h>

#include "modelexport/convert_context.h"
#include "modelexport/shape_only_run.h"
#include "modelexport/value_facts.h"

namespace modelexport::testing {
namespace {

// The product's op table: the facts these tests check are the registrations' own.
const OpFactsTable& ops() { return defaultConverters().opFacts(); }

// Parses IR whose graph inputs are `inputs`, runs every node in LibTorch and checks that
// each heavy node's formula size equals the size LibTorch computes; with `layoutToo`,
// that its stand-in's strides equal those of LibTorch's result as well (views downstream
// read them). Returns how many heavy nodes were sized.
int expectFormulaSizesMatch(const std::string& ir, const std::vector<at::Tensor>& inputs, bool layoutToo = false) {
  auto graph = std::make_shared<torch::jit::Graph>();
  torch::jit::parseIR(ir, graph.get());
  std::unordered_map<const torch::jit::Value*, c10::IValue> env;
  for (size_t i = 0; i < inputs.size(); ++i) env[graph->inputs()[i]] = inputs[i];
  int sized = 0;
  for (torch::jit::Node* node : graph->nodes()) {
    torch::jit::Stack stack;
    if (node->kind() == c10::prim::Constant) {
      env[node->output()] = *constantValue(node->output());
      continue;
    }
    for (const torch::jit::Value* in : node->inputs()) stack.push_back(env.at(in));
    auto sizes = outputSizesWithoutComputing(node, ops(), stack);
    const at::Tensor standIn = sizes && layoutToo ? standInOfSize(node, ops(), stack, *sizes) : at::Tensor();
    node->getOperation()(stack);
    const at::Tensor result = stack.back().toTensor();
    env[node->output()] = result;
    EXPECT_TRUE(sizes.has_value()) << "no formula for " << *node;
    if (!sizes) continue;
    EXPECT_EQ(*sizes, result.sizes().vec()) << *node;
    if (layoutToo) {
      EXPECT_EQ(standIn.strides(), result.strides()) << *node;
    }
    ++sized;
  }
  return sized;
}

TEST(ShapeOnlyRun, ConvolutionSizesMatchLibTorch) {
  const std::string ir = R"IR(
graph(%x2 : Tensor, %w2 : Tensor, %b2 : Tensor, %x1 : Tensor, %w1 : Tensor, %x3 : Tensor, %w3 : Tensor,
      %xt : Tensor, %wt : Tensor, %xt1 : Tensor, %wt1 : Tensor):
  %none : NoneType = prim::Constant()
  %false : bool = prim::Constant[value=0]()
  %true : bool = prim::Constant[value=1]()
  %g1 : int = prim::Constant[value=1]()
  %g2 : int = prim::Constant[value=2]()
  %s21 : int[] = prim::Constant[value=[2, 1]]()
  %p10 : int[] = prim::Constant[value=[1, 0]]()
  %d12 : int[] = prim::Constant[value=[1, 2]]()
  %one : int[] = prim::Constant[value=[1]]()
  %three : int[] = prim::Constant[value=[3]]()
  %zero : int[] = prim::Constant[value=[0]]()
  %two : int[] = prim::Constant[value=[2]]()
  %s111 : int[] = prim::Constant[value=[1, 1, 1]]()
  %p010 : int[] = prim::Constant[value=[0, 1, 0]]()
  %s22 : int[] = prim::Constant[value=[2, 2]]()
  %p11 : int[] = prim::Constant[value=[1, 1]]()
  %d11 : int[] = prim::Constant[value=[1, 1]]()
  %op11 : int[] = prim::Constant[value=[1, 1]]()
  %op00 : int[] = prim::Constant[value=[0, 0]]()
  %a : Tensor = aten::conv2d(%x2, %w2, %b2, %s21, %p10, %d12, %g2)
  %b : Tensor = aten::conv1d(%x1, %w1, %none, %three, %one, %one, %g1)
  %c : Tensor = aten::conv3d(%x3, %w3, %none, %s111, %p010, %s111, %g1)
  %d : Tensor = aten::conv_transpose2d(%xt, %wt, %none, %s22, %p11, %op11, %g1, %d11)
  %e : Tensor = aten::conv_transpose1d(%xt1, %wt1, %none, %three, %zero, %two, %g2, %two)
  %f : Tensor = aten::_convolution(%x2, %w2, %b2, %s21, %p10, %d12, %false, %op00, %g2, %false, %false, %true, %true)
  %g : Tensor = aten::_convolution(%xt, %wt, %none, %s22, %p11, %d11, %true, %op11, %g1, %false, %false, %true, %true)
  return (%a, %b, %c, %d, %e, %f, %g)
)IR";
  std::vector<at::Tensor> inputs = {
      at::randn({2, 4, 9, 10}), at::randn({6, 2, 3, 3}), at::randn({6}),      // grouped, strided, dilated
      at::randn({1, 2, 17}),    at::randn({5, 2, 4}),                         // 1-d, no bias
      at::randn({1, 1, 5, 6, 7}), at::randn({2, 1, 2, 3, 2}),                 // 3-d
      at::randn({1, 4, 5, 6}),  at::randn({4, 3, 3, 3}),                      // transposed, output padding
      at::randn({1, 4, 7}),     at::randn({4, 2, 3})};                        // transposed, grouped, dilated
  EXPECT_EQ(expectFormulaSizesMatch(ir, inputs), 7);
}

TEST(ShapeOnlyRun, MatrixProductSizesMatchLibTorch) {
  const std::string ir = R"IR(
graph(%x : Tensor, %w : Tensor, %m1 : Tensor, %m2 : Tensor, %bias : Tensor, %b1 : Tensor, %b2 : Tensor,
      %bb : Tensor, %a4 : Tensor, %b3 : Tensor):
  %none : NoneType = prim::Constant()
  %one : int = prim::Constant[value=1]()
  %l : Tensor = aten::linear(%x, %w, %none)
  %mm : Tensor = aten::mm(%m1, %m2)
  %am : Tensor = aten::addmm(%bias, %m1, %m2, %one, %one)
  %bm : Tensor = aten::bmm(%b1, %b2)
  %bam : Tensor = aten::baddbmm(%bb, %b1, %b2, %one, %one)
  %mt : Tensor = aten::matmul(%a4, %b3)
  %mt2 : Tensor = aten::matmul(%m1, %b3)
  return (%l, %mm, %am, %bm, %bam, %mt, %mt2)
)IR";
  std::vector<at::Tensor> inputs = {
      at::randn({2, 5, 3}),    at::randn({7, 3}),                       // linear on 3-d
      at::randn({5, 3}),       at::randn({3, 6}),  at::randn({6}),      // mm, addmm with a row bias
      at::randn({4, 5, 3}),    at::randn({4, 3, 6}), at::randn({1, 5, 1}),  // bmm, baddbmm broadcasting self
      at::randn({2, 1, 5, 3}), at::randn({4, 3, 6})};                   // matmul with batch broadcast
  EXPECT_EQ(expectFormulaSizesMatch(ir, inputs), 7);
}

TEST(ShapeOnlyRun, AttentionSizesAndLayoutMatchLibTorch) {
  // Causal, float and boolean masks that broadcast, grouped-query heads, 3-d inputs; a value
  // width other than the query's; the query laid out as Hugging Face's projections leave it.
  const std::string ir = R"IR(
graph(%q : Tensor, %k : Tensor, %v : Tensor, %fmask : Tensor, %bmask : Tensor, %kg : Tensor, %vg : Tensor,
      %q3 : Tensor, %k3 : Tensor, %v3 : Tensor):
  %none : NoneType = prim::Constant()
  %zero : float = prim::Constant[value=0.]()
  %false : bool = prim::Constant[value=0]()
  %true : bool = prim::Constant[value=1]()
  %a : Tensor = aten::scaled_dot_product_attention(%q, %k, %v, %none, %zero, %true, %none, %false)
  %b : Tensor = aten::scaled_dot_product_attention(%q, %k, %v, %fmask, %zero, %false, %none, %false)
  %c : Tensor = aten::scaled_dot_product_attention(%q, %k, %v, %bmask, %zero, %false, %none, %false)
  %d : Tensor = aten::scaled_dot_product_attention(%q, %kg, %vg, %none, %zero, %false, %none, %true)
  %e : Tensor = aten::scaled_dot_product_attention(%q3, %k3, %v3, %none, %zero, %false, %none, %false)
  return (%a, %b, %c, %d, %e)
)IR";
  std::vector<at::Tensor> inputs = {
      at::randn({2, 5, 4, 8}).transpose(1, 2), at::randn({2, 4, 6, 8}), at::randn({2, 4, 6, 3}),
      at::randn({1, 1, 5, 6}), at::rand({5, 6}) > 0.3, at::randn({2, 2, 6, 8}), at::randn({2, 2, 6, 3}),
      at::randn({3, 5, 8}), at::randn({3, 6, 8}), at::randn({3, 6, 8})};
  EXPECT_EQ(expectFormulaSizesMatch(ir, inputs, /*layoutToo=*/true), 5);
}

TEST(ShapeOnlyRun, FormsWithoutAFormulaAreLeftToLibTorch) {
  const std::string ir = R"IR(
graph(%x : Tensor, %w : Tensor, %v : Tensor, %ints : Tensor):
  %none : NoneType = prim::Constant()
  %same : str = prim::Constant[value="same"]()
  %s : int[] = prim::Constant[value=[1, 1]]()
  %g : int = prim::Constant[value=1]()
  %a : Tensor = aten::conv2d(%x, %w, %none, %s, %same, %s, %g)
  %b : Tensor = aten::matmul(%x, %v)
  %c : Tensor = aten::mm(%ints, %ints)
  return (%a, %b, %c)
)IR";
  auto graph = std::make_shared<torch::jit::Graph>();
  torch::jit::parseIR(ir, graph.get());
  std::vector<c10::IValue> convArgs = {at::randn({1, 2, 5, 5}), at::randn({3, 2, 3, 3}), c10::IValue(),
                                       std::vector<int64_t>{1, 1}, std::string("same"),
                                       std::vector<int64_t>{1, 1}, int64_t{1}};
  std::vector<torch::jit::Node*> nodes;
  for (torch::jit::Node* node : graph->nodes())
    if (node->kind() != c10::prim::Constant) nodes.push_back(node);
  EXPECT_FALSE(outputSizesWithoutComputing(nodes[0], ops(), convArgs)) << "string padding";
  // Mismatched channels: LibTorch must be the one to report it.
  convArgs[1] = at::randn({3, 4, 3, 3});
  convArgs[4] = std::vector<int64_t>{0, 0};
  EXPECT_FALSE(outputSizesWithoutComputing(nodes[0], ops(), convArgs)) << "channels differ";
  EXPECT_FALSE(outputSizesWithoutComputing(nodes[1], ops(), {at::randn({2, 3}), at::randn({3})})) << "1-d operand";
  EXPECT_FALSE(outputSizesWithoutComputing(nodes[1], ops(), {at::randn({2, 3}), at::randn({4, 5})})) << "inner dims";
  const at::Tensor ints = at::ones({2, 2}, at::kLong);
  EXPECT_FALSE(outputSizesWithoutComputing(nodes[2], ops(), {ints, ints})) << "integer product";
}

TEST(ShapeOnlyRun, InputsStandInOnlyWhereTheResultKeepsTheirSizeAndDtype) {
  const std::string ir = R"IR(
graph(%x : Tensor, %y : Tensor):
  %none : NoneType = prim::Constant()
  %one : int = prim::Constant[value=1]()
  %half : float = prim::Constant[value=0.5]()
  %floor : str = prim::Constant[value="floor"]()
  %int : int = prim::Constant[value=6]()
  %r : Tensor = aten::relu(%x)
  %a : Tensor = aten::add(%x, %y, %one)
  %s : Tensor = aten::softmax(%x, %one, %none)
  %s2 : Tensor = aten::softmax(%x, %one, %int)
  %d : Tensor = aten::div(%x, %y, %floor)
  %c : Tensor = aten::clamp(%x, %y, %none)
  %m : Tensor = aten::mul(%x, %half)
  return (%r, %a, %s, %s2, %d, %c, %m)
)IR";
  auto graph = std::make_shared<torch::jit::Graph>();
  torch::jit::parseIR(ir, graph.get());
  std::map<std::string, const torch::jit::Node*> byOutput;  // r, a, s, s2, ... in order
  const std::vector<std::string> names = {"r", "a", "s", "s2", "d", "c", "m"};
  for (const torch::jit::Node* node : graph->nodes())
    if (node->kind() != c10::prim::Constant) byOutput[names.at(byOutput.size())] = node;
  ASSERT_EQ(byOutput.size(), names.size());
  const at::Tensor x = at::randn({2, 3}), same = at::randn({2, 3}), row = at::randn({3});
  const at::Tensor ints = at::ones({2, 3}, at::kLong);
  const c10::IValue one(int64_t{1}), none;
  EXPECT_TRUE(resultHasInputSizeAndDtype(byOutput["r"], ops(), {x}));
  EXPECT_FALSE(resultHasInputSizeAndDtype(byOutput["r"], ops(), {ints})) << "integer input";
  EXPECT_FALSE(resultHasInputSizeAndDtype(byOutput["r"], ops(), {at::randn({3, 2}).t()})) << "strided input";
  EXPECT_TRUE(resultHasInputSizeAndDtype(byOutput["a"], ops(), {x, same, one}));
  EXPECT_FALSE(resultHasInputSizeAndDtype(byOutput["a"], ops(), {row, x, one})) << "broadcasts to a larger result";
  EXPECT_FALSE(resultHasInputSizeAndDtype(byOutput["a"], ops(), {x, ints, one})) << "other dtype";
  EXPECT_TRUE(resultHasInputSizeAndDtype(byOutput["s"], ops(), {x, one, none}));
  EXPECT_FALSE(resultHasInputSizeAndDtype(byOutput["s2"], ops(), {x, one, c10::IValue(int64_t{6})})) << "dtype argument";
  EXPECT_FALSE(resultHasInputSizeAndDtype(byOutput["d"], ops(), {x, same, std::string("floor")})) << "rounding mode";
  EXPECT_FALSE(resultHasInputSizeAndDtype(byOutput["c"], ops(), {x, row, none})) << "tensor bound";
  EXPECT_TRUE(resultHasInputSizeAndDtype(byOutput["m"], ops(), {x, c10::IValue(0.5)}));
}

std::set<std::string> sizedKinds(const std::string& source) {
  auto unit = torch::jit::compile(source);
  auto graph = toGraphFunction(unit->get_function("f")).graph();
  torch::jit::Inline(*graph);
  std::set<std::string> kinds;
  for (const torch::jit::Node* node : nodesNeedingOnlySizes(*graph, ops()))
    kinds.insert(std::string(node->kind().toQualString()) + "@" + node->output()->debugName());
  return kinds;
}

TEST(ShapeOnlyRun, OnlyNodesWhoseDataReachesNothingButOutputsAreSized) {
  // conv -> relu/add/mul -> output: all sized. The matmul decides an if: computed. The addmm
  // feeds an index (its data picks rows): computed. The bmm is only measured: sized.
  auto kinds = sizedKinds(R"PY(
def f(x, w, m):
    y = torch.conv2d(x, w)
    z = torch.relu(y) + 1.0
    s = torch.matmul(m, m)
    k = 1.0
    if bool(s.sum() > 0):
        k = 2.0
    i = torch.addmm(m, m, m).argmax()
    r = torch.bmm(m.unsqueeze(0), m.unsqueeze(0))
    return z * k, m[i], r.size(1)
)PY");
  std::set<std::string> names;
  for (const auto& k : kinds) names.insert(k.substr(0, k.find('@')));
  EXPECT_EQ(names, (std::set<std::string>{"aten::conv2d", "aten::relu", "aten::add", "aten::mul", "aten::bmm"}));
}

TEST(ShapeOnlyRun, AttentionInAProjectedBlockIsSized) {
  // q/k/v projections -> heads split by a view and a transpose -> attention -> heads merged
  // by a transpose and a view -> output projection (Hugging Face's attention blocks): the
  // projections and the attention are sized, and the run goes through the view on the
  // attention's stand-in, which works only on the layout LibTorch's own result has.
  auto graph = std::make_shared<torch::jit::Graph>();
  torch::jit::parseIR(R"IR(
graph(%x : Tensor, %wq : Tensor, %wk : Tensor, %wv : Tensor, %wo : Tensor):
  %none : NoneType = prim::Constant()
  %zero : float = prim::Constant[value=0.]()
  %true : bool = prim::Constant[value=1]()
  %false : bool = prim::Constant[value=0]()
  %i1 : int = prim::Constant[value=1]()
  %i2 : int = prim::Constant[value=2]()
  %i4 : int = prim::Constant[value=4]()
  %i5 : int = prim::Constant[value=5]()
  %i8 : int = prim::Constant[value=8]()
  %heads : int[] = prim::ListConstruct(%i1, %i5, %i2, %i4)
  %merged : int[] = prim::ListConstruct(%i1, %i5, %i8)
  %ql : Tensor = aten::linear(%x, %wq, %none)
  %qv : Tensor = aten::view(%ql, %heads)
  %q : Tensor = aten::transpose(%qv, %i1, %i2)
  %kl : Tensor = aten::linear(%x, %wk, %none)
  %kv : Tensor = aten::view(%kl, %heads)
  %k : Tensor = aten::transpose(%kv, %i1, %i2)
  %vl : Tensor = aten::linear(%x, %wv, %none)
  %vv : Tensor = aten::view(%vl, %heads)
  %v : Tensor = aten::transpose(%vv, %i1, %i2)
  %a : Tensor = aten::scaled_dot_product_attention(%q, %k, %v, %none, %zero, %true, %none, %false)
  %at : Tensor = aten::transpose(%a, %i1, %i2)
  %av : Tensor = aten::view(%at, %merged)
  %o : Tensor = aten::linear(%av, %wo, %none)
  return (%o)
)IR", graph.get());
  std::set<std::string> sized;
  for (const torch::jit::Node* node : nodesNeedingOnlySizes(*graph, ops())) sized.insert(node->kind().toQualString());
  EXPECT_EQ(sized, (std::set<std::string>{"aten::linear", "aten::scaled_dot_product_attention"}));
  std::vector<c10::IValue> inputs = {at::randn({1, 5, 8}), at::randn({8, 8}), at::randn({8, 8}), at::randn({8, 8}),
                                     at::randn({8, 8})};
  const RunResult run = runForFacts(*graph, inputs, ops());
  EXPECT_EQ(run.sizedNotComputed, 5u);
  EXPECT_EQ(run.facts.of(graph->outputs()[0]).sizes, (std::vector<int64_t>{1, 5, 8}));
}

TEST(ShapeOnlyRun, AnInPlaceWriteIntoANeededValueKeepsItsSourceComputed) {
  // y.add_(conv) writes into y, whose data then decides an if.
  auto kinds = sizedKinds(R"PY(
def f(x, w):
    y = torch.zeros([1, 3, 3, 3])
    y.add_(torch.conv2d(x, w))
    if bool(y.sum() > 0):
        return y * 2.0
    return y
)PY");
  EXPECT_TRUE(kinds.empty()) << *kinds.begin();
}

TEST(ShapeOnlyRun, ValuesUsedInsideABranchAreComputed) {
  auto kinds = sizedKinds(R"PY(
def f(x, w, flag: bool):
    y = torch.conv2d(x, w)
    if flag:
        return y.max()
    return y.min()
)PY");
  EXPECT_TRUE(kinds.empty()) << *kinds.begin();
}

}  // namespace
}  // namespace modelexport::testing

// Shape and layout converters: each test exports the op through the real pipeline and
// compares onnxruntime with LibTorch exactly (these ops move data, they compute nothing).
// Squeeze, Unsqueeze and Split took their axes/sizes as inputs from opset 13, so the
// forms that use them run before and after that change.
#include <gtest/gtest.h>
#include <torch/csrc/jit/ir/irparser.h>

#include "modelexport/convert_context.h"
#include "modelexport/onnx_tensor.h"
#include "test_support.h"

namespace modelexport::testing {
namespace {

const int kOpsets[] = {11, 13, 14, 17};

TEST(ShapeConverters, ViewReshapeUnflatten) {
  expectOpMatches("view_reshape",
                  "def forward(self, x, y):\n"
                  "  return (x.view(-1, 4), x.reshape(2, -1), x.view([3, 2, 4]), torch.reshape(x, [-1]),\n"
                  "         x.view_as(y), x.reshape_as(y), torch.unflatten(x, 2, [2, -1]),\n"
                  "         torch._reshape_alias(x + 1.0, [6, 4], [4, 1]))\n",
                  {floatInput({2, 3, 4}), floatInput({4, 6})}, {14, 0, {"Reshape"}});
}

TEST(ShapeConverters, Flatten) {
  expectOpMatches("flatten",
                  "def forward(self, x):\n"
                  "  return (torch.flatten(x, 1), torch.flatten(x), torch.flatten(x, 1, 2),\n"
                  "         torch.flatten(x, 0, 1), torch.flatten(x, -2), torch.flatten(x, 2, 2))\n",
                  {floatInput({2, 3, 4, 5})}, {14, 0, {"Flatten", "Reshape"}});
}

TEST(ShapeConverters, PermuteTransposeSwapMovedim) {
  expectOpMatches("permute_transpose",
                  "def forward(self, x, m, v):\n"
                  "  return (x.permute(2, 0, 1), torch.permute(x, [-1, 1, 0]), torch.transpose(x, 0, 2),\n"
                  "         x.transpose(-1, -2), torch.t(m), m.t(), torch.t(v), torch.swapaxes(x, 0, 1),\n"
                  "         torch.swapdims(x, 2, 0), torch.movedim(x, 0, 2), torch.movedim(x, [0, 1], [-1, 0]),\n"
                  "         torch.moveaxis(x, -1, 0))\n",
                  {floatInput({2, 3, 4}), floatInput({3, 5}), floatInput({4})}, {14, 0, {"Transpose"}});
}

TEST(ShapeConverters, UnsqueezeSqueeze) {
  for (int opset : kOpsets)
    expectOpMatches(opsetTag("squeeze", opset),
                    "def forward(self, x):\n"
                    "  return (torch.unsqueeze(x, 0), torch.unsqueeze(x, -1), x.unsqueeze(2), torch.squeeze(x),\n"
                    "         torch.squeeze(x, 1), torch.squeeze(x, -1), torch.squeeze(x, 0))\n",
                    {floatInput({2, 1, 3, 1})}, {opset, 0, {"Unsqueeze", "Squeeze"}});
}

TEST(ShapeConverters, ExpandBroadcast) {
  expectOpMatches("expand",
                  "def forward(self, x, y):\n"
                  "  return x.expand(2, 3, 4), x.expand(-1, 4), x.expand_as(y), torch.broadcast_to(x, [5, 3, 4])\n",
                  {floatInput({3, 1}), floatInput({2, 3, 4})}, {14, 0, {"Expand"}});
}

TEST(ShapeConverters, CatConcatStack) {
  expectOpMatches("cat_stack",
                  "def forward(self, a, b, i):\n"
                  "  return (torch.cat([a, b], 1), torch.cat([a, b, a], -1), torch.cat([a, i], 0),\n"
                  "         torch.concat([b, a], 0), torch.cat([a]), torch.stack([a, b]), torch.stack([a, b, a], 2),\n"
                  "         torch.stack([a, b], -1))\n",
                  {floatInput({2, 3}), floatInput({2, 3}), longInput({2, 3}, 9)}, {14, 0, {"Concat"}});
  for (int opset : {11, 13})
    expectOpMatches(opsetTag("stack", opset),
                    "def forward(self, a, b):\n"
                    "  return torch.stack([a, b], 1)\n",
                    {floatInput({2, 3}), floatInput({2, 3})}, {opset, 0, {"Unsqueeze", "Concat"}});
}

TEST(ShapeConverters, CatOfTensorListFromSplit) {
  expectOpMatches("cat_split_list",
                  "def forward(self, x):\n"
                  "  parts = torch.split(x, 2, 1)\n"
                  "  return torch.cat(parts, 0), torch.stack(parts, 0)\n",
                  {floatInput({3, 6})}, {14, 0, {"Split", "Concat"}});
}

TEST(ShapeConverters, Slice) {
  expectOpMatches("slice",
                  "def forward(self, x):\n"
                  "  return (x[1:], x[:-1], x[:, 1:3], x[::2], x[:, -3:], x[1:100], x[-100:2],\n"
                  "         x[:, ::3], x[1::2, 1:-1:2], x[:, 5:], x[3:1])\n",
                  {floatInput({5, 6})}, {14, 0, {"Slice"}});
}

TEST(ShapeConverters, NarrowSelect) {
  expectOpMatches("narrow_select",
                  "def forward(self, x):\n"
                  "  return (torch.narrow(x, 1, 1, 2), x.narrow(-1, -3, 2), torch.select(x, 0, 1), x[-1],\n"
                  "         x[:, -2], torch.select(x, -1, 0))\n",
                  {floatInput({3, 4, 5})}, {14, 0, {"Slice", "Gather"}});
}

TEST(ShapeConverters, SplitChunkUnbind) {
  for (int opset : kOpsets)
    expectOpMatches(opsetTag("split", opset),
                    "def forward(self, x):\n"
                    "  a, b, c = torch.split(x, 2, 1)\n"
                    "  d, e = torch.split(x, [1, 4], 1)\n"
                    "  f, g = torch.split_with_sizes(x, [2, 1], 0)\n"
                    "  h, i, j = torch.chunk(x, 3, -1)\n"
                    "  k, l = torch.unsafe_chunk(x, 2, 0)\n"
                    "  m, n, o = torch.unbind(x)\n"
                    "  p, q, r, s, t = torch.unbind(x, 1)\n"
                    "  return a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, t\n",
                    {floatInput({3, 5})}, {opset, 0, {"Split"}});
}

TEST(ShapeConverters, RepeatTile) {
  expectOpMatches("repeat_tile",
                  "def forward(self, x):\n"
                  "  return (x.repeat(2, 3), x.repeat(2, 1, 3), x.repeat([1, 2, 2, 1]), torch.tile(x, [2]),\n"
                  "         torch.tile(x, [2, 1, 2]), torch.tile(x, [3, 2]))\n",
                  {floatInput({2, 3})}, {14, 0, {"Tile"}});
}

TEST(ShapeConverters, RepeatInterleave) {
  expectOpMatches("repeat_interleave",
                  "def forward(self, x):\n"
                  "  return (torch.repeat_interleave(x, 2, 1), torch.repeat_interleave(x, 3),\n"
                  "         torch.repeat_interleave(x, 2, -2),\n"
                  "         torch.repeat_interleave(x, torch.tensor([1, 0, 2]), 1))\n",
                  {floatInput({2, 3})}, {14, 0, {"Gather"}});
}

TEST(ShapeConverters, ConstantPad) {
  for (int opset : {11, 17})
    expectOpMatches(opsetTag("constant_pad", opset),
                    "def forward(self, x, i):\n"
                    "  return (torch.constant_pad_nd(x, [1, 2]), torch.constant_pad_nd(x, [1, 0, 0, 2], 1.5),\n"
                    "         torch.constant_pad_nd(x, [0, 1, 2, 0, 1, 1], -2.0),\n"
                    "         torch.constant_pad_nd(x, [-1, 1]), torch.constant_pad_nd(i, [2, 2], 7))\n",
                    {floatInput({2, 3, 4}), longInput({3, 2}, 5)}, {opset, 0, {"Pad"}});
}

TEST(ShapeConverters, Flip) {
  expectOpMatches("flip",
                  "def forward(self, x):\n"
                  "  return torch.flip(x, [0]), torch.flip(x, [-1, 1]), x.flip([0, 1, 2])\n",
                  {floatInput({2, 3, 4})}, {14, 0, {"Slice"}});
}

TEST(ShapeConverters, Roll) {
  expectOpMatches("roll",
                  "def forward(self, x):\n"
                  "  return (torch.roll(x, 1, 0), torch.roll(x, [-1, 5], [1, 2]), torch.roll(x, 3),\n"
                  "         torch.roll(x, 4, -1), torch.roll(x, [2], [1]))\n",
                  {floatInput({2, 3, 4})}, {14, 0, {"Slice", "Concat"}});
}

TEST(ShapeConverters, TrilTriu) {
  for (int opset : {13, 14})
    expectOpMatches(opsetTag("tril_triu", opset),
                    "def forward(self, x, m, i):\n"
                    "  return (torch.tril(x), torch.triu(x), torch.tril(x, 1), torch.triu(x, -1), torch.triu(m, 2),\n"
                    "         torch.tril(i, -1))\n",
                    {floatInput({2, 4, 4}), floatInput({3, 5}), longInput({4, 3}, 9)},
                    {opset, 0, {opset >= 14 ? "Trilu" : "Where"}});
}

// aten::size only reaches its converter when a shape is not known at export time, which
// static-shape exports never produce; the converter is driven directly here.
TEST(ShapeConverters, SizeOfADynamicShape) {
  auto graph = std::make_shared<torch::jit::Graph>();
  torch::jit::parseIR(
      "graph(%x : Tensor):\n"
      "  %dim : int = prim::Constant[value=-1]()\n"
      "  %n : int = aten::size(%x, %dim)\n"
      "  %all : int[] = aten::size(%x)\n"
      "  return (%n, %all)\n",
      graph.get());
  ValueFacts facts;
  for (torch::jit::Node* node : graph->nodes()) {
    for (torch::jit::Value* output : node->outputs()) facts.set(output);
    if (node->kind() == c10::prim::Constant) {
      facts.set(node->output()).isStatic = true;
      facts.set(node->output()).value = c10::IValue(int64_t{-1});
    }
  }
  ValueFact& x = facts.set(graph->inputs()[0]);
  x.isTensor = true;
  x.dtype = at::kFloat;
  x.sizes = {2, 3, 4};
  OnnxGraphBuilder builder;
  ConvertContext ctx(builder, facts, 14);
  ctx.bind(graph->inputs()[0], "x");
  for (torch::jit::Node* node : graph->nodes()) {
    if (node->kind() != c10::aten::size) continue;
    ctx.setNode(node);
    (*defaultConverters().find("aten::size", 14))(ctx);
  }
  std::vector<std::string> opTypes;
  for (const auto& node : builder.nodes()) opTypes.push_back(node.proto.op_type());
  EXPECT_EQ(opTypes, (std::vector<std::string>{"Shape", "Gather", "Shape"}));
  const auto& gather = builder.nodes().at(1).proto;
  EXPECT_EQ(gather.input(0), builder.nodes().at(0).proto.output(0));
  EXPECT_EQ(gather.attribute(0).i(), 0);
  // The index is dim -1 normalized against rank 3.
  bool foundIndex = false;
  for (const auto& init : builder.initializers())
    if (init.name() == gather.input(1)) foundIndex = fromTensorProto(init).item<int64_t>() == 2;
  EXPECT_TRUE(foundIndex);
}

// repeat with a run-time repeat count (x.size(0) under a dynamic batch) and more repeats
// than dims; squeeze of a named fixed dim of a tensor whose batch is dynamic.
TEST(ShapeConverters, RepeatAndSqueezeWithADynamicBatch) {
  expectOpMatches("repeat_squeeze_dynamic_batch",
                  "def forward(self, x):\n"
                  "  n = x.size(0)\n"
                  "  return x.repeat(n, 2, 1), x.repeat(1, 3), x.unsqueeze(-1).squeeze(-1), x[:, :1].squeeze(1)\n",
                  {floatInput({2, 3})}, withDynamicBatch(opts(14, 1e-6, {"Tile", "Squeeze"}), 4));
}

// Swin's shifted windows: roll over fixed dims of a tensor whose batch is dynamic.
TEST(ShapeConverters, RollOverFixedDimsWithADynamicBatch) {
  expectOpMatches("roll_dynamic_batch",
                  "def forward(self, x):\n"
                  "  return torch.roll(x, [-1, 2], [1, 2]), torch.roll(x, 1, 2)\n",
                  {floatInput({2, 4, 5})}, withDynamicBatch(opts(14, 1e-6, {"Concat"}), 3));
}

// slice_scatter: a strided slice, a negative start, the whole dim (src itself);
// select_scatter at an index and at a negative one.
TEST(ShapeConverters, SliceAndSelectScatter) {
  expectOpMatches("slice_select_scatter",
                  "def forward(self, x, a, b, c, s):\n"
                  "  return (torch.slice_scatter(x, a, 1, 1, 5, 2), torch.slice_scatter(x, b, 0),\n"
                  "          torch.slice_scatter(x, c, -1, -2), torch.select_scatter(x, s, 1, 2),\n"
                  "          torch.select_scatter(x, s, 1, -1))\n",
                  {floatInput({3, 6, 4}), floatInput({3, 2, 4}), floatInput({3, 6, 4}), floatInput({3, 6, 2}),
                   floatInput({3, 4})},
                  opts(14, 0, {"ScatterElements"}));
}

// The causal-mask builders' writes into a slice under a dynamic batch: positions from
// the run-time sizes, a start computed from the batch, a negative select index.
TEST(ShapeConverters, SliceAndSelectScatterWithADynamicBatch) {
  expectOpMatches("slice_select_scatter_dynamic_batch",
                  "def forward(self, x, a):\n"
                  "  n = x.size(0)\n"
                  "  return (torch.slice_scatter(x, a, 1, 1, 5, 2), torch.slice_scatter(x, x * 2.0, 0),\n"
                  "          torch.slice_scatter(x, x[-1:] * 3.0, 0, n - 1), torch.slice_scatter(x, x[:, -2:] + 1.0, 1, -2),\n"
                  "          torch.select_scatter(x, x[0] - 1.0, 0, n - 1), torch.select_scatter(x, x[:, 0] * 5.0, 1, -1))\n",
                  {floatInput({2, 6, 4}), floatInput({2, 2, 4})},
                  withDynamicBatch(opts(14, 0, {"ScatterElements", "Range"}), 3));
}

// flatten of trailing, middle and leading dims of a tensor whose batch is dynamic
// (Reshape with 0 and -1, the dims after the run from Shape); 1..end stays Flatten.
TEST(ShapeConverters, FlattenWithADynamicBatch) {
  expectOpMatches("flatten_dynamic_batch",
                  "def forward(self, x):\n"
                  "  return torch.flatten(x, 2), torch.flatten(x, 1, 2), torch.flatten(x, 0, 1), torch.flatten(x, 1)\n",
                  {floatInput({2, 3, 4, 5})}, withDynamicBatch(opts(14, 0, {"Reshape", "Flatten"}), 3));
}

// Swin's window padding: pad amounts computed from a dynamic size, at run time.
TEST(ShapeConverters, PadByRunTimeAmountsWithADynamicBatch) {
  expectOpMatches("pad_run_time_amounts_dynamic_batch",
                  "def forward(self, x):\n"
                  "  n = x.size(0)\n"
                  "  return (torch.constant_pad_nd(x, [1, (4 - n % 4) % 4, 0, 0, n, 0], 0.5),\n"
                  "          torch.pad(x, [n, 2], 'reflect'))\n",
                  {floatInput({2, 3, 5})}, withDynamicBatch(opts(14, 0, {"Pad", "Concat"}), 3));
}

// squeeze() of every size-1 dim cannot know at export time whether a dynamic dim will be 1.
TEST(ShapeConverters, SqueezeAllRefusesADynamicDim) {
  const std::string error = exportError("squeeze_all_dynamic", "def forward(self, x):\n  return x.squeeze()\n",
                                        {floatInput({1, 3, 1})}, withDynamicBatch(opts(14, 1e-6, {}), 2));
  EXPECT_NE(error.find("aten::squeeze"), std::string::npos) << error;
  EXPECT_NE(error.find("changes with the dynamic axes"), std::string::npos) << error;
}

}  // namespace
}  // namespace modelexport::testing

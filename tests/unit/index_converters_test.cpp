// Indexing, scatter/gather, einsum and data-dependent factory converters: each test
// exports the op through the real pipeline and compares onnxruntime with LibTorch
// (int64 outputs exactly). Forms the exporter cannot express must fail with a reason.
#include <gtest/gtest.h>
#include <torch/script.h>

#include "modelexport/exporter.h"
#include "test_support.h"

namespace modelexport::testing {
namespace {

TEST(IndexConverters, IndexOneTensor) {
  expectOpMatches("index_one",
                  "def forward(self, x, i):\n"
                  "  return x[i], x[:, i], x[:, :, i]\n",
                  {floatInput({3, 4, 5}), longInput({2, 2}, 3)}, opts(14, 0, {"Gather"}));
}

TEST(IndexConverters, IndexSeveralTensors) {
  // Adjacent indices keep their place (x[:, i, j]); separated ones go first (x[i, :, j]).
  for (int opset : {11, 17})
    expectOpMatches("index_several_" + std::to_string(opset),
                    "def forward(self, x, i, j):\n"
                    "  return x[i, j], x[:, i, j], x[i, :, j], x[i, j, i]\n",
                    {floatInput({3, 3, 3, 2}), longInput({2, 4}, 3), longInput({4}, 3)}, opts(opset, 0, {"GatherND"}));
}

TEST(IndexConverters, IndexStaticBoolMask) {
  expectOpMatches("index_bool_mask",
                  "def forward(self, x):\n"
                  "  m1 = torch.tensor([True, False, True])\n"
                  "  m2 = torch.tensor([[True, False, False, True], [False, False, True, False], "
                  "[True, True, False, False]])\n"
                  "  return x[m1], x[:, :, torch.tensor([False, True, True, False, True])], x[m2]\n",
                  {floatInput({3, 4, 5})}, opts(14, 0, {"Gather", "GatherND"}));
}

// A mask computed from data: NonZero's rows as the indices (a 2-D mask gives two).
// Other inputs, keeping other counts: DetectionConverters.MaskIndexOfADataDependentCount.
TEST(IndexConverters, IndexBoolMaskComputedFromData) {
  expectOpMatches("index_dynamic_mask", "def forward(self, x):\n  return x[x > 0], x[:, x[0] > 0]\n",
                  {floatInput({3, 4})}, opts(14, 0, {"NonZero", "GatherND", "Gather"}));
}

TEST(IndexConverters, IndexPut) {
  expectOpMatches("index_put",
                  "def forward(self, x, v, w):\n"
                  "  a = torch.index_put(x, [torch.tensor([0, 2])], v)\n"
                  "  b = torch.index_put(x, [torch.tensor([1, 0]), torch.tensor([3, 1])], w)\n"
                  "  c = torch.index_put(x, [None, torch.tensor([2, 0])], torch.tensor(5.0))\n"
                  "  d = torch.index_put(x, [torch.tensor([True, False, True])], torch.tensor(-1.0))\n"
                  "  return a, b, c, d\n",
                  {floatInput({3, 4, 2}), floatInput({2, 4, 2}), floatInput({2})}, opts(14, 0, {"ScatterND"}));
}

TEST(IndexConverters, IndexPutAccumulate) {
  expectOpMatches("index_put_accumulate",
                  "def forward(self, x, v):\n"
                  "  return torch.index_put(x, [torch.tensor([0, 2, 0])], v, True)\n",
                  {floatInput({3, 4}), floatInput({3, 4})}, opts(16, 1e-5, {"ScatterND"}));
  const std::string error =
      exportError("index_put_accumulate_15",
                  "def forward(self, x, v):\n  return torch.index_put(x, [torch.tensor([0, 2, 0])], v, True)\n",
                  {floatInput({3, 4}), floatInput({3, 4})}, 15);
  EXPECT_NE(error.find("opset 16"), std::string::npos) << error;
}

TEST(IndexConverters, IndexSelect) {
  expectOpMatches("index_select",
                  "def forward(self, x, i):\n"
                  "  return torch.index_select(x, 1, i), torch.index_select(x, -1, i)\n",
                  {floatInput({2, 5, 5}), longInput({7}, 5)}, opts(14, 0, {"Gather"}));
}

TEST(IndexConverters, Gather) {
  expectOpMatches("gather",
                  "def forward(self, x, i, j):\n"
                  "  return torch.gather(x, 1, i), torch.gather(x, 0, j)\n",
                  {floatInput({3, 4}), longInput({3, 6}, 4), longInput({2, 4}, 3)}, opts(14, 0, {"GatherElements"}));
}

TEST(IndexConverters, ScatterSrcAndValue) {
  // Unique positions per row: with duplicates, which write wins is unspecified.
  for (int opset : {11, 16})
    expectOpMatches("scatter_" + std::to_string(opset),
                    "def forward(self, x, src):\n"
                    "  idx = torch.tensor([[0, 2], [3, 1], [2, 0]])\n"
                    "  return (torch.scatter(x, 1, idx, src), torch.scatter(x, 1, idx, 2.5),\n"
                    "         torch.scatter(x, 0, torch.tensor([[2, 0, 1]]), src))\n",
                    {floatInput({3, 4}), floatInput({3, 3})}, opts(opset, 0, {"ScatterElements"}));
}

TEST(IndexConverters, ScatterReduce) {
  expectOpMatches("scatter_reduce",
                  "def forward(self, x, src):\n"
                  "  idx = torch.tensor([[0, 0], [3, 3], [2, 0]])\n"
                  "  return torch.scatter(x, 1, idx, src, reduce='add'), torch.scatter(x, 1, idx, src, reduce='multiply')\n",
                  {floatInput({3, 4}), floatInput({3, 3})}, opts(16, 1e-5, {"ScatterElements"}));
}

TEST(IndexConverters, ScatterAdd) {
  expectOpMatches("scatter_add",
                  "def forward(self, x, i, src):\n"
                  "  return torch.scatter_add(x, 1, i, src)\n",
                  {floatInput({3, 4}), longInput({3, 5}, 4), floatInput({3, 5})}, opts(16, 1e-5, {"ScatterElements"}));
  const std::string error =
      exportError("scatter_add_15", "def forward(self, x, i, src):\n  return torch.scatter_add(x, 1, i, src)\n",
                  {floatInput({3, 4}), longInput({3, 5}, 4), floatInput({3, 5})}, 15);
  EXPECT_NE(error.find("aten::scatter_add"), std::string::npos) << error;
  EXPECT_NE(error.find("opset 16"), std::string::npos) << error;
}

// The selected count depends on the data: the ONNX output's dim stays unknown.
TEST(IndexConverters, MaskedSelectWithABroadcastMask) {
  expectOpMatches("masked_select",
                  "def forward(self, x, y):\n"
                  "  return torch.masked_select(x, x > 0.0), torch.masked_select(x, y > 0.0)\n",
                  {floatInput({3, 4}), floatInput({4})}, opts(14, 1e-6, {"Compress"}));
}

TEST(IndexConverters, ArangeWithComputedBounds) {
  expectOpMatches("arange_dynamic",
                  "def forward(self, x):\n"
                  "  n = int(torch.argmax(x)) + 3\n"
                  "  return torch.arange(n), torch.arange(1, n, 2), torch.arange(0.5, float(n), 0.75)\n",
                  {floatInput({6})}, opts(14, 1e-6, {"Range"}));
}

TEST(IndexConverters, OneHot) {
  expectOpMatches("one_hot",
                  "def forward(self, i):\n"
                  "  return torch.one_hot(i, 6), torch.one_hot(i)\n",
                  {longInput({3, 4}, 5)}, opts(14, 0, {"OneHot"}));
}

TEST(IndexConverters, Einsum) {
  expectOpMatches("einsum",
                  "def forward(self, a, b, c):\n"
                  "  return (torch.einsum('bij,bjk->bik', [a, b]), torch.einsum('ii->i', [c]),\n"
                  "         torch.einsum('bij, bij -> b', [a, a]))\n",
                  {floatInput({2, 3, 4}), floatInput({2, 4, 5}), floatInput({3, 3})}, opts(12, 1e-5, {"Einsum"}));
  const std::string error = exportError("einsum_11", "def forward(self, a):\n  return torch.einsum('ij->ji', [a])\n",
                                        {floatInput({2, 3})}, 11);
  EXPECT_NE(error.find("opset 12"), std::string::npos) << error;
}

TEST(IndexConverters, Nonzero) {
  expectOpMatches("nonzero",
                  "def forward(self, x):\n"
                  "  return torch.nonzero(x > 0.3)\n",
                  {floatInput({4, 5})}, opts(14, 0, {"NonZero"}));
}

TEST(IndexConverters, WhereOneArgumentAndThreeArguments) {
  expectOpMatches("where_one_arg",
                  "def forward(self, x):\n"
                  "  r, c = torch.where(x > 0.3)\n"
                  "  return r, c, torch.where(x > 0, x, -x)\n",
                  {floatInput({4, 5})}, opts(13, 0, {"NonZero", "Where"}));
}

TEST(IndexConverters, FullWithComputedFillValue) {
  expectOpMatches("full_dynamic",
                  "def forward(self, x):\n"
                  "  return (torch.full([2, 3], float(x.sum())), torch.full_like(x, float(x.max())),\n"
                  "         x.new_full([4], float(x.min())), torch.full([2], int(torch.argmax(x))))\n",
                  {floatInput({3, 2})}, opts(14, 1e-6, {"Expand"}));
}

// With a dynamic batch the filled shapes are only known at run time: Shape of the
// _like input, or the size list built from x.size(0).
TEST(IndexConverters, FilledTensorsFollowADynamicBatch) {
  expectOpMatches("filled_dynamic_batch",
                  "def forward(self, x):\n"
                  "  n = x.size(0)\n"
                  "  return (torch.zeros_like(x) + x, torch.ones_like(x), torch.full_like(x, 2.5),\n"
                  "          x.new_zeros([n, 2]), x.new_ones([n]), torch.ones([n, 3]), torch.zeros([2, n]),\n"
                  "          torch.full([n], 7.0), x.new_full([n, 1], 3.0))\n",
                  {floatInput({2, 4})}, withDynamicBatch(opts(14, 1e-6, {"Expand", "Shape"}), 5));
}

// transformers' causal-mask builders index the padding mask with an arange over the
// batch ([B, 1]) and one over the sequence ([S]): two tensor indices whose sizes follow
// the dynamic axes are broadcast at run time (Shape of their sum).
TEST(IndexConverters, TwoIndicesBroadcastAtRunTimeUnderADynamicBatch) {
  expectOpMatches("index_two_dynamic_indices",
                  "def forward(self, mask):\n"
                  "  b = torch.arange(mask.size(0)).view(-1, 1)\n"
                  "  s = torch.arange(mask.size(1))\n"
                  "  return mask[b, s] * 2, mask[b, s.flip(0)]\n",
                  {longInput({2, 5}, 9)}, withDynamicBatch(opts(14, 0, {"GatherND", "Shape"}), 3));
}

}  // namespace
}  // namespace modelexport::testing

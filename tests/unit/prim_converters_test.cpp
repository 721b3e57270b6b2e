// Structural converters (lists, tuples, casts, identities): each test exports through
// the real pipeline and compares onnxruntime with LibTorch (integer and bool exactly).
#include <gtest/gtest.h>

#include "test_support.h"

namespace modelexport::testing {
namespace {

TEST(PrimConverters, DtypeCasts) {
  for (int opset : {11, 17})
    expectOpMatches("dtype_casts_" + std::to_string(opset),
                    "def forward(self, x, i):\n"
                    "  y = x * 3\n"
                    "  return y.to(4), i.to(6), y.to(11), i.to(11),\\\n"
                    "         y.long(), i.float(), y.int(), y.double(), y.type_as(i), i.type_as(x),\\\n"
                    "         y.to(i.dtype), y.to(7).to(6), y.half()\n",
                    {floatInput({3, 4}), longInput({3, 4}, 5)}, {opset, 1e-3, {"Cast"}});
}

TEST(PrimConverters, IdentitiesInTheMiddleOfTheGraph) {
  expectOpMatches("identities",
                  "def forward(self, x):\n"
                  "  y = torch.relu(x)\n"
                  "  return y.contiguous() + 1, y.clone() * 2, y.detach() - 1, torch.dropout(y, 0.5, False) + 3,\\\n"
                  "         torch.feature_dropout(y, 0.5, False) * 3, torch.alpha_dropout(y, 0.5, False) - 2\n",
                  {floatInput({3, 4})}, {14, 1e-5, {"Relu"}});
}

// LibTorch zeroes random elements in training mode: no inference graph matches that.
TEST(PrimConverters, DropoutInTrainingModeIsRefused) {
  for (const char* op : {"dropout", "feature_dropout", "alpha_dropout"}) {
    const std::string error = exportError(std::string("train_") + op,
                                          std::string("def forward(self, x):\n  return torch.") + op + "(x, 0.5, True)\n",
                                          {floatInput({3, 4})}, 14);
    EXPECT_NE(error.find(std::string("aten::") + op), std::string::npos) << error;
    EXPECT_NE(error.find("model.eval()"), std::string::npos) << error;
  }
}

TEST(PrimConverters, IdentityOfAGraphInputAsOutput) {
  expectOpMatches("identity_io",
                  "def forward(self, x, y):\n"
                  "  return x.contiguous(), y.clone(), x.detach()\n",
                  {floatInput({3, 4}), floatInput({2})}, {14, 0, {}});
}

TEST(PrimConverters, SplitChunkUnpackAndCat) {
  for (int opset : {11, 13, 17})
    expectOpMatches("split_unpack_" + std::to_string(opset),
                    "def forward(self, x):\n"
                    "  a, b = torch.split(x, 2)\n"
                    "  c, d, e = torch.chunk(x, 3, 1)\n"
                    "  f, g = x.split([1, 3], 0)\n"
                    "  return torch.cat([b * 2, a], 0), c + d + e, torch.cat((f, g + 1), 0), torch.stack([c, d], 0)\n",
                    {floatInput({4, 6})}, {opset, 1e-5, {"Concat"}});
}

TEST(PrimConverters, ListAndTupleIndexing) {
  expectOpMatches("list_index",
                  "def forward(self, x):\n"
                  "  parts = torch.split(x, 2, 1)\n"
                  "  t = (x * 2, x + 1)\n"
                  "  return parts[0] * 3, torch.chunk(x, 2)[-1], parts[-1] + parts[1], t[1]\n",
                  {floatInput({4, 6})}, {14, 1e-5, {"Mul"}});
}

TEST(PrimConverters, TupleConstructUnpackAndOutputs) {
  expectOpMatches("tuple_outputs",
                  "def forward(self, x, y):\n"
                  "  t = (x + 1, y * 2)\n"
                  "  a, b = t\n"
                  "  l = [a, x]\n"
                  "  p, q = l\n"
                  "  return (a * b, (b - 1, p + q))\n",
                  {floatInput({3, 4}), floatInput({4})}, {14, 1e-5, {"Mul"}});
}

TEST(PrimConverters, DynamicScalars) {
  // Scalars read from data (item, int(), float()) stay in the graph as 0-d tensors.
  expectOpMatches("dynamic_scalars",
                  "def forward(self, x, i):\n"
                  "  s = x.sum().item()\n"
                  "  f = float(x.max())\n"
                  "  n = int(i.max())\n"
                  "  return x * s, x + f, i + n, torch.tensor(n) * 2\n",
                  {floatInput({3, 4}), longInput({3, 4}, 5)}, {14, 1e-4, {}});
}

// A scripted assert on an Optional leaves a prim::Uninitialized for the raising branch;
// it is the same placeholder in both runs of a dynamic-batch export, so it folds away.
TEST(PrimConverters, AssertOnOptionalWithDynamicBatch) {
  expectOpMatches("assert_optional_dynamic_batch",
                  "def forward(self, x):\n"
                  "  y: Optional[Tensor] = None\n"
                  "  if x.size(1) > 0:\n"
                  "    y = x\n"
                  "  assert y is not None\n"
                  "  return y * 2.0\n",
                  {floatInput({2, 3})}, withDynamicBatch(opts(14, 1e-6, {"Mul"}), 3));
}

// x.size() under a dynamic batch is one run-time int list: unpacked and indexed with
// Gather; // on those ints is aten::floordiv.
TEST(PrimConverters, RunTimeSizeListsUnpackIndexAndFloorDivide) {
  expectOpMatches("size_list_dynamic_batch",
                  "def forward(self, x):\n"
                  "  n, c, w = x.size()\n"
                  "  shape = x.size()\n"
                  "  half = (shape[0] + 1) // 2\n"
                  "  return x.reshape(n * c, w), x.new_ones([shape[-3], half]), x.view(shape[0], -1)\n",
                  {floatInput({2, 3, 4})}, withDynamicBatch(opts(14, 1e-6, {"Gather"}), 5));
}

// copy(self, src), the functional self.copy_(src): src broadcast to self's shape and cast
// to its dtype; the same shape passes src through; under a dynamic batch, self's Shape.
TEST(PrimConverters, CopyBroadcastsAndCasts) {
  const std::string source =
      "def forward(self, x, i, y):\n"
      "  return torch.copy(x, i), torch.copy(x, y), torch.copy(x, y[:, :1] * 2.0)\n";
  expectOpMatches("copy", source, {floatInput({2, 3, 4}), longInput({2, 1, 4}, 9), floatInput({2, 3, 4})},
                  opts(14, 0, {"Expand", "Cast"}));
  expectOpMatches("copy_dynamic_batch", source, {floatInput({2, 3, 4}), longInput({2, 1, 4}, 9), floatInput({2, 3, 4})},
                  withDynamicBatch(opts(14, 0, {"Expand", "Shape"}), 3));
}

}  // namespace
}  // namespace modelexport::testing

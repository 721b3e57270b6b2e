// Other names and forms of ops the family tests convert: eval-mode dropout, list
// append, torch.export's ops written as TorchScript (alias, _to_copy,
// _unsafe_view, lift_fresh), the 1-D and 3-D forms of pooling and resizing, nonzero per
// dim, and values a dynamic batch keeps computed (_shape_as_tensor, scalar_tensor, max
// of ints). Each is a key of its own in the op table, so each needs a test reaching it
// (ConverterCoverage).
#include <gtest/gtest.h>

#include "test_support.h"

namespace modelexport::testing {
namespace {

TEST(OpVariants, EvalDropoutAndListAppendInALoop) {
  expectOpMatches("dropout_append_loop",
                  "def forward(self, x):\n"
                  "  parts = [x]\n"
                  "  for i in range(2):\n"
                  "    parts.append(x * 2.0)\n"
                  "  parts.append(torch.dropout(x, 0.5, False))\n"
                  "  return torch.cat(parts, 0)\n",
                  {floatInput({2, 3})}, opts(14, 1e-6, {"Concat"}));
}

// The PackedSequence forms of the recurrent ops (batch_sizes beside the data) are
// refused with what to pass instead.
TEST(OpVariants, PackedSequencesAreRefused) {
  const std::string error = exportError("lstm_packed",
                                        "def forward(self, x, w, r):\n"
                                        "  sizes = torch.tensor([2, 1])\n"
                                        "  h0 = torch.zeros([1, 2, 2])\n"
                                        "  out, h, c = torch.lstm(x, sizes, [h0, h0],\n"
                                        "                         [w, r], False, 1, 0.0, False, False)\n"
                                        "  return out\n",
                                        {floatInput({3, 4}), floatInput({8, 4}), floatInput({8, 2})}, opts(14, 0, {}));
  EXPECT_NE(error.find("aten::lstm"), std::string::npos) << error;
  EXPECT_NE(error.find("packed sequences"), std::string::npos) << error;
}

TEST(OpVariants, TorchExportOpsInTorchScript) {
  expectOpMatches("torch_export_ops",
                  "def forward(self, x):\n"
                  "  a = torch.alias(x) * 2.0\n"
                  "  b = torch._to_copy(x, dtype=7)\n"
                  "  c = torch._unsafe_view(x, [6])\n"
                  "  d = torch.lift_fresh(x) + 1.0\n"
                  "  return a, b, c, d\n",
                  {floatInput({2, 3})}, opts(14, 1e-6, {"Cast", "Reshape"}));
}

TEST(OpVariants, PoolingWithIndicesIn1dAnd3d) {
  expectOpMatches("max_pool_1d_3d_with_indices",
                  "def forward(self, x, y):\n"
                  "  a, i = torch.max_pool1d_with_indices(x, [2], [2])\n"
                  "  b, j = torch.max_pool3d_with_indices(y, [2, 2, 2], [2, 2, 2])\n"
                  "  return a, b\n",
                  {floatInput({1, 2, 8}), floatInput({1, 2, 4, 4, 4})}, opts(14, 1e-6, {"MaxPool"}));
}

TEST(OpVariants, ResizeBicubicAnd3d) {
  expectOpMatches("upsample_bicubic_3d",
                  "def forward(self, x, y):\n"
                  "  return (torch.upsample_bicubic2d(x, [8, 10], False),\n"
                  "          torch.upsample_nearest3d(y, [4, 6, 6]),\n"
                  "          torch.upsample_trilinear3d(y, [4, 6, 6], False))\n",
                  {floatInput({1, 2, 4, 5}), floatInput({1, 2, 2, 3, 3})}, opts(14, 1e-4, {"Resize"}));
}

TEST(OpVariants, NonzeroPerDim) {
  expectOpMatches("nonzero_numpy",
                  "def forward(self, x):\n"
                  "  rows, cols = torch.nonzero_numpy(x > 0.0)\n"
                  "  return rows, cols\n",
                  {floatInput({3, 4})}, opts(14, 1e-6, {"NonZero"}));
}

TEST(OpVariants, SizesThatStayComputedWithADynamicBatch) {
  expectOpMatches("shape_as_tensor_dynamic",
                  "def forward(self, x):\n"
                  "  n = max(x.size(0), 2)\n"
                  "  return (torch._shape_as_tensor(x) * 2, x * torch.scalar_tensor(x.size(0)),\n"
                  "          x[:n] + torch.ScalarImplicit(torch.sum(x)))\n",
                  {floatInput({2, 3})}, withDynamicBatch(opts(14, 1e-5, {"Shape"}), 3));
}

}  // namespace
}  // namespace modelexport::testing

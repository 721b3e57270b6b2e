// In-place writes through views (writes_through_views.h): the written tensor, the views
// on the way and other views of it read after the write all read the new values. Each
// model is exported with a dynamic batch and run in onnxruntime at another batch size on
// fresh inputs: a write whose effect was folded into a constant from the export's example
// would show there (it did for OPT's causal mask, whose padding rows a mask of ones hides).
#include <gtest/gtest.h>

#include "test_support.h"

namespace modelexport::testing {
namespace {

TEST(WritesThroughViews, ChainsOfViewsWriteTheirBase) {
  expectOpMatches("writes_through_views",
                  "def forward(self, x, y):\n"
                  "  b = torch.zeros_like(x)\n"
                  "  v = b[:, 2:]\n"                        // made before the writes, read after
                  "  b[:, 1:3] = y[:, 1:3] * 2.0\n"         // slice of a slice
                  "  b[0] = y[0]\n"                         // select
                  "  c = b.t()\n"
                  "  c[4].copy_(x[:, 4])\n"                 // select of a transpose
                  "  b.unsqueeze(0)[0, :, 0].fill_(7.0)\n"  // select, slice, select of an unsqueeze
                  "  b.narrow(1, 3, 1).mul_(y[:, 3:4])\n"   // narrow
                  "  b[:, 5:].zero_()\n"
                  "  return b, v * 1.0, c + 0.0\n",
                  {floatInput({3, 6}), floatInput({3, 6})},
                  withDynamicBatch(opts(14, 1e-6, {"ScatterElements"}), 4));
}

TEST(WritesThroughViews, WriteOfDataIntoAMaskBuiltFromConstants) {
  // OPT's mask builder: a constant causal mask, cloned, and the rows of padded positions
  // written through a slice from the attention mask; the cloned mask is read after.
  expectOpMatches("write_into_constant_mask",
                  "def forward(self, x, m):\n"
                  "  n = x.size(1)\n"
                  "  causal = torch.triu(torch.full([n, n], -100.0), 1)\n"
                  "  mask = causal[None, None, :, :].expand(x.size(0), 1, n, n).clone()\n"
                  "  keep = (m > 0.0).float()\n"  // about half the positions padded, by the data
                  "  padded = (mask[:, :, :, :n] + keep[:, None, None, :]) == 0.0\n"
                  "  mask[:, :, :, :n] = mask[:, :, :, :n].masked_fill(padded, -100.0)\n"
                  "  return torch.softmax(x[:, None, :, :] + mask, -1)\n",
                  {floatInput({2, 5, 5}), floatInput({2, 5})}, withDynamicBatch(opts(14, 1e-6, {}), 3));
}

TEST(WritesThroughViews, BaseWrittenWhileAViewOfItIsReadLater) {
  expectOpMatches("write_base_view_read_later",
                  "def forward(self, x):\n"
                  "  b = x * 2.0\n"
                  "  first = b[0]\n"
                  "  b.mul_(3.0)\n"
                  "  return first + 1.0, b\n",
                  {floatInput({3, 4})}, withDynamicBatch(opts(14, 1e-6, {}), 2));
}

TEST(WritesThroughViews, WriteToOneChunkWhileAnotherIsReadLater) {
  // The chunks share a storage but no element (interleaved, at batch > 1): not refused.
  expectOpMatches("write_one_chunk",
                  "def forward(self, x):\n"
                  "  g = x * 1.0\n"
                  "  a, b = g.chunk(2, 1)\n"
                  "  a.sigmoid_()\n"
                  "  return a + b\n",
                  {floatInput({3, 8})}, withDynamicBatch(opts(14, 1e-6, {}), 2));
}

TEST(WritesThroughViews, WriteThroughAReshapeReadLaterIsRefused) {
  // reshape shares memory only sometimes: the prepare stage does not follow it, and the
  // run refuses the write, which would otherwise be lost for `b`.
  const std::string error = exportError("write_through_reshape",
                                        "def forward(self, x):\n"
                                        "  b = x * 1.0\n"
                                        "  r = b.reshape(-1)\n"
                                        "  r[0:2] = x.reshape(-1)[2:4]\n"
                                        "  return b + 1.0\n",
                                        {floatInput({3, 4})}, 14);
  EXPECT_NE(error.find("aten::copy_ writes data into memory that"), std::string::npos) << error;
  EXPECT_NE(error.find("this form of aliasing is not supported"), std::string::npos) << error;
}

TEST(WritesThroughViews, TheRefusalNamesTheFirstMadeOfTheValuesSharingTheWrite) {
  // b and its other reshape s both share the written memory and are read later: the
  // message names b, made first, on every run (not whichever a hash order finds first).
  const std::string error = exportError("write_through_reshape_two_readers",
                                        "def forward(self, x):\n"
                                        "  b = x * 1.0\n"
                                        "  s = b.reshape(4, 3)\n"
                                        "  r = b.reshape(-1)\n"
                                        "  r[0:2] = x.reshape(-1)[2:4]\n"
                                        "  return b + s.sum()\n",
                                        {floatInput({3, 4})}, 14);
  EXPECT_NE(error.find("(made by aten::mul) shares and is read after it"), std::string::npos) << error;
}

}  // namespace
}  // namespace modelexport::testing

// aten::pad (shape family; F.pad since torch 1.13, e.g. Swin's window padding): exported
// through the real pipeline and compared with LibTorch in onnxruntime. Kept apart from
// shape_converters_test.cpp, which another change is rewriting.
#include <gtest/gtest.h>

#include "test_support.h"

namespace modelexport::testing {
namespace {

TEST(ShapeConverters, PadModes) {
  for (int opset : {11, 17}) {
    expectOpMatches("pad_modes_" + std::to_string(opset),
                    "def forward(self, x):\n"
                    "  return (torch.pad(x, [1, 2]), torch.pad(x, [0, 1, 2, 0], 'constant', 1.5),\n"
                    "         torch.pad(x, [2, 1, 1, 0], 'reflect'), torch.pad(x, [1, 2, 0, 1], 'replicate'))\n",
                    {floatInput({1, 2, 4, 5})}, {opset, 0, {"Pad"}});
  }
}

}  // namespace
}  // namespace modelexport::testing

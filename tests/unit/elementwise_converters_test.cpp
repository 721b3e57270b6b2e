// Each test exports one op through the real pipeline and compares onnxruntime's result
// with LibTorch's.
#include <gtest/gtest.h>

#include "test_support.h"

namespace modelexport::testing {
namespace {

TEST(ElementwiseConverters, AddWithAlpha) {
  expectOpMatches("add_alpha", "def forward(self, x, y):\n  return torch.add(x, y, alpha=2.5)\n",
                  {floatInput({2, 3}), floatInput({2, 3})}, {14, 1e-4, {"Add", "Mul"}});
}

TEST(ElementwiseConverters, GeluExactAndTanh) {
  expectOpMatches("gelu", "def forward(self, x):\n  return torch.gelu(x) + torch.gelu(x, approximate='tanh')\n",
                  {floatInput({4, 8})}, {14, 1e-4, {"Erf", "Tanh"}});
}

}  // namespace
}  // namespace modelexport::testing

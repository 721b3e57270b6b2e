// aten::grid_sampler as ONNX GridSample: every mode, padding mode and align_corners,
// run in onnxruntime against LibTorch; below opset 16 an error naming the opset needed.
#include <gtest/gtest.h>

#include "test_support.h"

namespace modelexport::testing {
namespace {

// The grid reaches past [-1, 1] (x 1.3) so that every padding mode matters.
TEST(SamplingConverters, GridSamplerModesAndPadding) {
  for (int opset : {16, 17}) {
    std::string source = "def forward(self, x, g):\n  grid = torch.tanh(g) * 1.3\n  return (";
    for (int mode = 0; mode < 3; ++mode) {
      for (int padding = 0; padding < 3; ++padding) {
        for (const char* align : {"False", "True"}) {
          source += "torch.grid_sampler(x, grid, " + std::to_string(mode) + ", " + std::to_string(padding) + ", " +
                    align + "),\n          ";
        }
      }
    }
    source += "torch.grid_sampler_2d(x, grid, 0, 0, False))\n";
    expectOpMatches("grid_sampler_" + std::to_string(opset), source, {floatInput({2, 3, 6, 7}), floatInput({2, 4, 5, 2})},
                    opts(opset, 1e-5, {"GridSample"}));
  }
}

// --dynamic-batch: GridSample takes any N.
TEST(SamplingConverters, GridSamplerWithDynamicBatch) {
  expectOpMatches("grid_sampler_dynamic_batch",
                  "def forward(self, x, g):\n"
                  "  return torch.grid_sampler(x, g, 0, 1, True)\n",
                  {floatInput({2, 3, 6, 7}), floatInput({2, 4, 5, 2})},
                  withDynamicBatch(opts(16, 1e-5, {"GridSample"}), 3));
}

TEST(SamplingConverters, GridSamplerBelowOpset16NamesTheOpsetNeeded) {
  const std::string error = exportError("grid_sampler_opset14",
                                        "def forward(self, x, g):\n"
                                        "  return torch.grid_sampler(x, g, 0, 0, False)\n",
                                        {floatInput({1, 3, 6, 7}), floatInput({1, 4, 5, 2})}, 14);
  EXPECT_NE(error.find("aten::grid_sampler"), std::string::npos) << error;
  EXPECT_NE(error.find("opset 16"), std::string::npos) << error;
}

}  // namespace
}  // namespace modelexport::testing

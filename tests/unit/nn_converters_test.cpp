// Layer converters (linear algebra, convolution, normalization, pooling, embedding,
// softmax, resampling): each test exports the op through the real pipeline and compares
// onnxruntime with LibTorch. Weights are module parameters, as in real models, unless the
// test is about a weight computed from inputs.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "test_support.h"

namespace modelexport::testing {
namespace {

// Positive values, e.g. running variances.
at::Tensor positiveTensor(std::vector<int64_t> shape, uint64_t seed) {
  return randomTensor(std::move(shape), seed).abs() + 0.5;
}

TEST(NnConverters, Linear2dIsGemm) {
  for (int opset : {11, 17}) {
    const OpTestOptions options{opset, 1e-5, {"Gemm"}};
    const TestParameters parameters = {{"weight", randomTensor({5, 4}, 1)}, {"bias", randomTensor({5}, 2)}};
    expectOpMatches(opsetTag("linear_2d", opset),
                    "def forward(self, x):\n"
                    "  return torch.linear(x, self.weight, self.bias), torch.linear(x, self.weight)\n",
                    {floatInput({3, 4})}, options, parameters);
  }
}

TEST(NnConverters, Linear3dAnd1dAreMatMul) {
  const OpTestOptions options{14, 1e-5, {"MatMul", "Add"}};
  const TestParameters parameters = {{"weight", randomTensor({5, 4}, 3)}, {"bias", randomTensor({5}, 4)}};
  auto model = expectOpMatches("linear_3d_1d",
                               "def forward(self, x, v):\n"
                               "  return (torch.linear(x, self.weight, self.bias), torch.linear(x, self.weight),\n"
                               "         torch.linear(v, self.weight, self.bias), torch.linear(v, self.weight))\n",
                               {floatInput({2, 3, 4}), floatInput({4})}, options, parameters);
  for (const auto& node : model.graph().node()) EXPECT_NE(node.op_type(), "Gemm");
}

// A weight over the writer's 8 MiB slice: its transpose is written from the view, slice
// by slice; used twice, it is one initializer.
TEST(NnConverters, LargeLinearWeightIsWrittenTransposedFromAView) {
  const OpTestOptions options{14, 1e-4, {"MatMul"}};
  const TestParameters parameters = {{"weight", randomTensor({1100, 2048}, 5)}, {"bias", randomTensor({1100}, 6)}};
  auto model = expectOpMatches("linear_large_view",
                               "def forward(self, x, y):\n"
                               "  return torch.linear(x, self.weight, self.bias), torch.linear(y, self.weight)\n",
                               {floatInput({1, 3, 2048}), floatInput({2, 2, 2048})}, options, parameters);
  int transposed = 0;
  for (const auto& init : model.graph().initializer())
    if (init.dims_size() == 2 && init.dims(0) == 2048 && init.dims(1) == 1100) ++transposed;
  EXPECT_EQ(transposed, 1);
}

TEST(NnConverters, LinearWeightFromInputs) {
  expectOpMatches("linear_dynamic_weight",
                  "def forward(self, x, y, w, b):\n"
                  "  return torch.linear(x, w * 2.0, b), torch.linear(y, w + 1.0, b)\n",
                  {floatInput({3, 4}), floatInput({2, 3, 4}), floatInput({5, 4}), floatInput({5})},
                  {14, 1e-5, {"Gemm", "Transpose", "MatMul"}});
}

TEST(NnConverters, MatmulMmBmm) {
  expectOpMatches("matmul_mm_bmm",
                  "def forward(self, a, b, c, d, e, v):\n"
                  "  return (torch.matmul(a, b), torch.mm(c, d), torch.bmm(a, e), torch.matmul(v, b),\n"
                  "         torch.matmul(a, v))\n",
                  {floatInput({2, 3, 4}), floatInput({4, 5}), floatInput({3, 4}), floatInput({4, 5}),
                   floatInput({2, 4, 5}), floatInput({4})},
                  {14, 1e-5, {"MatMul"}});
}

TEST(NnConverters, AddmmBetaAlpha) {
  expectOpMatches("addmm",
                  "def forward(self, bias, row, a, b):\n"
                  "  return (torch.addmm(bias, a, b), torch.addmm(bias, a, b, beta=0.5, alpha=2.0),\n"
                  "         torch.addmm(row, a, b, beta=-1.0, alpha=0.25))\n",
                  {floatInput({3, 5}), floatInput({5}), floatInput({3, 4}), floatInput({4, 5})},
                  {14, 1e-5, {"Gemm"}});
}

TEST(NnConverters, Baddbmm) {
  expectOpMatches("baddbmm",
                  "def forward(self, bias, a, b):\n"
                  "  return torch.baddbmm(bias, a, b), torch.baddbmm(bias, a, b, beta=0.5, alpha=3.0)\n",
                  {floatInput({2, 3, 5}), floatInput({2, 3, 4}), floatInput({2, 4, 5})},
                  {14, 1e-5, {"MatMul", "Mul", "Add"}});
}

TEST(NnConverters, Embedding) {
  const OpTestOptions options{14, 0, {"Gather"}};
  const TestParameters parameters = {{"weight", randomTensor({10, 6}, 5)}};
  expectOpMatches("embedding",
                  "def forward(self, ids, flat):\n"
                  "  return torch.embedding(self.weight, ids), torch.embedding(self.weight, flat, 0)\n",
                  {longInput({2, 5}, 10), longInput({7}, 10)}, options, parameters);
}

TEST(NnConverters, LayerNormDecomposedAndNative) {
  const std::string source =
      "def forward(self, x):\n"
      "  return (torch.layer_norm(x, [4], self.weight, self.bias, 1e-5),\n"
      "         torch.layer_norm(x, [3, 4]), torch.layer_norm(x, [4], self.weight),\n"
      "         torch.layer_norm(x, [4], None, self.bias, 1e-3))\n";
  for (int opset : {11, 14, 17}) {
    const OpTestOptions options{opset, 1e-4, {opset >= 17 ? "LayerNormalization" : "ReduceMean"}};
    const TestParameters parameters = {{"weight", randomTensor({4}, 6)}, {"bias", randomTensor({4}, 7)}};
    expectOpMatches(opsetTag("layer_norm", opset), source, {floatInput({2, 3, 4})}, options, parameters);
  }
  // LayerNormalization needs only normalized_shape: a dynamic batch stays dynamic.
  const TestParameters parameters = {{"weight", randomTensor({4}, 6)}, {"bias", randomTensor({4}, 7)}};
  expectOpMatches("layer_norm_17_dynamic_batch", source, {floatInput({2, 3, 4})},
                  withDynamicBatch(opts(17, 1e-4, {"LayerNormalization"}), 5), parameters);
}

// rms_norm over 1 and 2 trailing dims, with and without weight, eps given and default
// (the inputs scaled down so that the default eps, float's or double's epsilon, shows).
TEST(NnConverters, RmsNorm) {
  const std::string source =
      "def forward(self, x):\n"
      "  return (torch.rms_norm(x, [4], self.weight, 1e-5),\n"
      "          torch.rms_norm(x, [3, 4]),\n"
      "          torch.rms_norm(x * 0.001, [4], self.weight),\n"
      "          torch.rms_norm(x, [3, 4], self.weight2, 0.5),\n"
      "          torch.rms_norm(x.double() * 1e-7, [3, 4], None, None))\n";
  for (int opset : {11, 14, 17}) {
    const TestParameters parameters = {{"weight", randomTensor({4}, 16)}, {"weight2", randomTensor({3, 4}, 17)}};
    expectOpMatches(opsetTag("rms_norm", opset), source, {floatInput({2, 3, 4})}, opts(opset, 1e-5, {"ReduceMean", "Sqrt"}),
                    parameters);
  }
}

// Half input: normalized in float, cast back to half before the weight.
TEST(NnConverters, RmsNormHalf) {
  expectOpMatches("rms_norm_half",
                  "def forward(self, x):\n"
                  "  return (torch.rms_norm(x.half(), [4], self.weight.half()), torch.rms_norm(x.half() * 0.01, [4]))\n",
                  {floatInput({2, 3, 4})}, opts(14, 1e-3, {"ReduceMean"}), {{"weight", randomTensor({4}, 18)}});
}

TEST(NnConverters, SoftmaxOnEveryDim) {
  for (int opset : {11, 13, 17})
    expectOpMatches(opsetTag("softmax", opset),
                    "def forward(self, x):\n"
                    "  return (torch.softmax(x, 1), torch.log_softmax(x, 0), torch.softmax(x, -1),\n"
                    "         torch.log_softmax(x, -1), torch.softmax(x, 1, 7))\n",
                    {floatInput({2, 3, 4})}, {opset, 1e-5, {"Softmax", "LogSoftmax"}});
}

TEST(NnConverters, ConvStridePaddingDilationGroups) {
  for (int opset : {11, 13, 17}) {
    const OpTestOptions options{opset, 1e-4, {"Conv"}};
    const TestParameters parameters = {{"w1", randomTensor({4, 2, 3}, 8)},    {"b1", randomTensor({4}, 9)},
                          {"w2", randomTensor({6, 2, 3, 2}, 10)}, {"b2", randomTensor({6}, 11)},
                          {"w3", randomTensor({2, 3, 2, 2, 3}, 12)}};
    expectOpMatches(opsetTag("conv", opset),
                    "def forward(self, x1, x2, x3):\n"
                    "  return (torch.conv1d(x1, self.w1, self.b1, [2], [1], [2], 2),\n"
                    "         torch.conv2d(x2, self.w2, self.b2, [2, 1], [1, 0], [1, 2], 2),\n"
                    "         torch.conv2d(x2, self.w2, None, 1, 0, 1, 2),\n"
                    "         torch.conv3d(x3, self.w3, None, [1, 2, 1], [0, 1, 1]))\n",
                    {floatInput({2, 4, 9}), floatInput({1, 4, 7, 8}), floatInput({1, 3, 4, 5, 6})}, options, parameters);
  }
}

TEST(NnConverters, ConvPaddingSameAndValid) {
  const OpTestOptions options{14, 1e-4, {"Conv"}};
  const TestParameters parameters = {{"w", randomTensor({3, 2, 4, 3}, 13)}, {"b", randomTensor({3}, 14)},
                        {"w1", randomTensor({2, 2, 4}, 15)}};
  expectOpMatches("conv_same_valid",
                  "def forward(self, x, y):\n"
                  "  return (torch.conv2d(x, self.w, self.b, 1, 'same'),\n"
                  "         torch.conv2d(x, self.w, self.b, 1, 'same', [2, 1]),\n"
                  "         torch.conv2d(x, self.w, self.b, 1, 'valid'),\n"
                  "         torch.conv1d(y, self.w1, None, 1, 'same', 3))\n",
                  {floatInput({1, 2, 9, 7}), floatInput({1, 2, 11})}, options, parameters);
}

TEST(NnConverters, ConvTranspose) {
  for (int opset : {11, 17}) {
    const OpTestOptions options{opset, 1e-4, {"ConvTranspose"}};
    const TestParameters parameters = {{"w2", randomTensor({4, 3, 3, 3}, 16)}, {"b2", randomTensor({6}, 17)},
                          {"w1", randomTensor({2, 3, 4}, 18)}, {"w3", randomTensor({2, 2, 2, 2, 2}, 19)}};
    expectOpMatches(opsetTag("conv_transpose", opset),
                    "def forward(self, x2, x1, x3):\n"
                    "  return (torch.conv_transpose2d(x2, self.w2, self.b2, [2, 2], [1, 1], [1, 0], 2, [1, 1]),\n"
                    "         torch.conv_transpose2d(x2, self.w2, None, 1, 0, 0, 2, 2),\n"
                    "         torch.conv_transpose1d(x1, self.w1, None, 3, 1, 2),\n"
                    "         torch.conv_transpose3d(x3, self.w3, None, 2))\n",
                    {floatInput({1, 4, 5, 6}), floatInput({2, 2, 7}), floatInput({1, 2, 3, 4, 3})}, options, parameters);
  }
}

TEST(NnConverters, ConvolutionAsTraced) {
  const OpTestOptions options{14, 1e-4, {"Conv", "ConvTranspose"}};
  const TestParameters parameters = {{"w", randomTensor({4, 2, 3, 3}, 20)}, {"b", randomTensor({4}, 21)},
                        {"wt", randomTensor({4, 2, 3, 3}, 22)}};
  expectOpMatches("convolution_traced",
                  "def forward(self, x):\n"
                  "  y = torch._convolution(x, self.w, self.b, [2, 1], [1, 1], [1, 2], False, [0, 0], 1,\n"
                  "                         False, False, True, True)\n"
                  "  z = torch._convolution(y, self.wt, None, [2, 2], [1, 0], [1, 1], True, [1, 1], 1,\n"
                  "                         False, False, True, True)\n"
                  "  return y, z\n",
                  {floatInput({1, 2, 8, 9})}, options, parameters);
}

TEST(NnConverters, BatchNorm) {
  for (int opset : {11, 14}) {
    const OpTestOptions options{opset, 1e-4, {"BatchNormalization"}};
    const TestParameters parameters = {{"weight", randomTensor({3}, 23)}, {"bias", randomTensor({3}, 24)},
                          {"mean", randomTensor({3}, 25)},   {"var", positiveTensor({3}, 26)}};
    expectOpMatches(opsetTag("batch_norm", opset),
                    "def forward(self, x, y):\n"
                    "  return (torch.batch_norm(x, self.weight, self.bias, self.mean, self.var, False, 0.1, 1e-5, False),\n"
                    "         torch.batch_norm(x, None, None, self.mean, self.var, False, 0.1, 1e-3, False),\n"
                    "         torch.batch_norm(y, self.weight, None, self.mean, self.var, False, 0.1, 1e-5, False))\n",
                    {floatInput({2, 3, 4, 5}), floatInput({4, 3})}, options, parameters);
  }
}

TEST(NnConverters, BatchNormWithBatchStatistics) {
  // Training mode, or no running statistics, normalizes with the batch's own statistics.
  const OpTestOptions options{14, 1e-4, {"ReduceMean"}};
  const TestParameters parameters = {{"weight", randomTensor({3}, 27)}, {"bias", randomTensor({3}, 28)}};
  expectOpMatches("batch_norm_batch_stats",
                  "def forward(self, x):\n"
                  "  return (torch.batch_norm(x, self.weight, self.bias, None, None, True, 0.1, 1e-5, False),\n"
                  "         torch.batch_norm(x, None, None, None, None, True, 0.1, 1e-5, False))\n",
                  {floatInput({4, 3, 5})}, options, parameters);
}

TEST(NnConverters, MaxPool) {
  for (int opset : {11, 13, 17})
    expectOpMatches(opsetTag("max_pool", opset),
                    "def forward(self, x, y, z):\n"
                    "  return (torch.max_pool2d(x, [3, 3], [2, 2]),\n"
                    "         torch.max_pool2d(x, [3, 3], [2, 2], [1, 1], [1, 1], True),\n"
                    "         torch.max_pool2d(x, [2, 3], [2, 2], [1, 1], [2, 1], False),\n"
                    "         torch.max_pool2d(x, 2),\n"
                    "         torch.max_pool1d(y, 2, 2, 1, 1, True),\n"
                    "         torch.max_pool3d(z, [2, 2, 2], [1, 2, 2], [1, 0, 1]))\n",
                    {floatInput({1, 2, 8, 7}), floatInput({2, 3, 5}), floatInput({1, 2, 4, 5, 6})},
                    {opset, 0, {"MaxPool"}});
}

TEST(NnConverters, MaxPoolWithIndicesValuesOnly) {
  expectOpMatches("max_pool_with_indices",
                  "def forward(self, x):\n"
                  "  values, indices = torch.max_pool2d_with_indices(x, [3, 3], [2, 2], [1, 1], [1, 1], True)\n"
                  "  return values * 2.0\n",
                  {floatInput({1, 3, 7, 6})}, {14, 0, {"MaxPool"}});
}

TEST(NnConverters, AvgPool) {
  for (int opset : {11, 17})
    expectOpMatches(opsetTag("avg_pool", opset),
                    "def forward(self, x, y):\n"
                    "  return (torch.avg_pool2d(x, [3, 3], [2, 2], [1, 1], False, True),\n"
                    "         torch.avg_pool2d(x, [3, 3], [2, 2], [1, 1], False, False),\n"
                    "         torch.avg_pool2d(x, [3, 2], [2, 2], [1, 1], True, True),\n"
                    "         torch.avg_pool2d(x, [3, 2], [2, 2], [1, 0], True, False),\n"
                    "         torch.avg_pool2d(x, 2),\n"
                    "         torch.avg_pool1d(y, 3, 2, 1, True, True),\n"
                    "         torch.avg_pool3d(torch.unsqueeze(x, 2), [1, 2, 2], [1, 2, 2], [0, 1, 1], True, False))\n",
                    {floatInput({1, 2, 8, 7}), floatInput({2, 3, 6})}, {opset, 1e-5, {"AveragePool"}});
}

TEST(NnConverters, AdaptivePools) {
  expectOpMatches("adaptive_pools",
                  "def forward(self, x, y, z):\n"
                  "  return (torch.adaptive_avg_pool2d(x, [1, 1]), torch.adaptive_avg_pool2d(x, [4, 3]),\n"
                  "         torch.adaptive_max_pool2d(x, [1, 1])[0], torch.adaptive_max_pool2d(x, [2, 3])[0],\n"
                  "         torch.adaptive_avg_pool1d(y, [2]), torch.adaptive_max_pool1d(y, [1])[0],\n"
                  "         torch.adaptive_avg_pool3d(z, [1, 2, 1]),\n"
                  "         torch.adaptive_avg_pool2d(x, [3, 4]), torch.adaptive_max_pool2d(x, [5, 6])[0],\n"
                  "         torch.adaptive_avg_pool1d(y, [3]))\n",
                  {floatInput({2, 3, 8, 6}), floatInput({2, 3, 4}), floatInput({1, 2, 2, 4, 3})},
                  {14, 1e-5, {"GlobalAveragePool", "AveragePool", "GlobalMaxPool", "MaxPool", "ReduceMean", "ReduceMax"}});
}

TEST(NnConverters, GroupNorm) {
  for (int opset : {11, 17}) {
    const OpTestOptions options{opset, 1e-4, {"ReduceMean"}};
    const TestParameters parameters = {{"weight", randomTensor({6}, 29)}, {"bias", randomTensor({6}, 30)}};
    expectOpMatches(opsetTag("group_norm", opset),
                    "def forward(self, x, y):\n"
                    "  return (torch.group_norm(x, 3, self.weight, self.bias, 1e-5, False),\n"
                    "         torch.group_norm(x, 2), torch.group_norm(y, 6, self.weight, None, 1e-3, False))\n",
                    {floatInput({2, 6, 4, 5}), floatInput({3, 6, 7})}, options, parameters);
  }
}

TEST(NnConverters, InstanceNorm) {
  const OpTestOptions options{14, 1e-4, {"InstanceNormalization", "BatchNormalization"}};
  const TestParameters parameters = {{"weight", randomTensor({3}, 31)}, {"bias", randomTensor({3}, 32)},
                        {"mean", randomTensor({3}, 33)},   {"var", positiveTensor({3}, 34)}};
  expectOpMatches("instance_norm",
                  "def forward(self, x, y):\n"
                  "  return (torch.instance_norm(x, self.weight, self.bias, None, None, True, 0.1, 1e-5, False),\n"
                  "         torch.instance_norm(y, None, None, None, None, True, 0.1, 1e-5, False),\n"
                  "         torch.instance_norm(x, self.weight, self.bias, self.mean, self.var, False, 0.1, 1e-5, False))\n",
                  {floatInput({2, 3, 4, 5}), floatInput({2, 3, 6})}, options, parameters);
}

TEST(NnConverters, PixelShuffleAndChannelShuffle) {
  expectOpMatches("pixel_channel_shuffle",
                  "def forward(self, x, y):\n"
                  "  return (torch.pixel_shuffle(x, 2), torch.pixel_unshuffle(y, 2),\n"
                  "         torch.pixel_shuffle(torch.unsqueeze(x, 0), 2), torch.channel_shuffle(x, 4))\n",
                  {floatInput({2, 8, 3, 4}), floatInput({1, 3, 4, 6})}, {14, 0, {"Reshape", "Transpose"}});
}

TEST(NnConverters, UpsampleNearestAndBilinear) {
  // Sizes-only forms, scale-factor forms (LibTorch then maps coordinates with the given
  // factor, not in/out, except for nearest in a dim whose size stays or doubles), and
  // align_corners both ways.
  for (int opset : {11, 13, 17})
    expectOpMatches(opsetTag("upsample", opset),
                    "def forward(self, x):\n"
                    "  return (torch.upsample_nearest2d(x, [10, 9], None),\n"
                    "         torch.upsample_nearest2d(x, None, [2.0, 1.5]),\n"
                    "         torch.upsample_nearest2d(x, None, [1.4, 1.2]),\n"
                    "         torch.upsample_nearest2d(x, None, [2.1, 2.2]),\n"
                    "         torch.upsample_nearest2d(x, [8, 8]),\n"
                    "         torch.upsample_bilinear2d(x, [10, 9], False, None),\n"
                    "         torch.upsample_bilinear2d(x, [10, 9], True, None),\n"
                    "         torch.upsample_bilinear2d(x, None, False, [1.7, 2.0]),\n"
                    "         torch.upsample_bilinear2d(x, None, True, [2.0, 2.0]),\n"
                    "         torch.upsample_bilinear2d(x, [3, 2], False),\n"
                    "         torch.upsample_nearest1d(x[0], [11], None),\n"
                    "         torch.upsample_linear1d(x[0], [11], False, None))\n",
                    {floatInput({2, 3, 5, 4})}, {opset, 1e-4, {"Resize"}});
}

// torch.export's eval batch norm: three results, the saved statistics empty; with and
// without weight and bias, at a fixed batch and under a dynamic one.
TEST(NnConverters, NativeBatchNormNoTraining) {
  const TestParameters parameters = {{"weight", randomTensor({3}, 35)}, {"bias", randomTensor({3}, 36)},
                                     {"mean", randomTensor({3}, 37)},   {"var", positiveTensor({3}, 38)}};
  const std::string source =
      "def forward(self, x, y):\n"
      "  a = torch._native_batch_norm_legit_no_training(x, self.weight, self.bias, self.mean, self.var, 0.1, 1e-5)\n"
      "  b = torch._native_batch_norm_legit_no_training(y, None, None, self.mean, self.var, 0.1, 1e-3)\n"
      "  return a[0], b[0]\n";
  expectOpMatches("native_batch_norm_no_training", source, {floatInput({2, 3, 4, 5}), floatInput({2, 3, 6})},
                  opts(14, 1e-4, {"BatchNormalization"}), parameters);
  expectOpMatches("native_batch_norm_no_training_dynamic_batch", source,
                  {floatInput({2, 3, 4, 5}), floatInput({2, 3, 6})},
                  withDynamicBatch(opts(14, 1e-4, {"BatchNormalization"}), 3), parameters);
}

// _weight_norm over every dim but 0, but 1, and (dim -1) over all of v.
TEST(NnConverters, WeightNorm) {
  for (int opset : {11, 17})
    expectOpMatches(opsetTag("weight_norm", opset),
                    "def forward(self, v, g0, g1, g):\n"
                    "  return torch._weight_norm(v, g0, 0), torch._weight_norm(v, g1, 1), torch._weight_norm(v, g, -1)\n",
                    {floatInput({4, 3, 5}), floatInput({4, 1, 1}), floatInput({1, 3, 1}), floatInput({1})},
                    opts(opset, 1e-5, {"ReduceL2"}));
}

// Sizes that follow a dynamic dim: group norm reshapes with 0 and -1 and back to x's
// Shape; upsample to an output_size of run-time ints (Resize's sizes from Shape), by
// scale factors, with aligned corners.
TEST(NnConverters, GroupNormAndUpsampleWithADynamicBatch) {
  const TestParameters parameters = {{"weight", randomTensor({6}, 39)}, {"bias", randomTensor({6}, 40)}};
  for (int opset : {11, 14})
    expectOpMatches(opsetTag("group_norm_upsample_dynamic_batch", opset),
                    "def forward(self, x, y):\n"
                    "  n = y.size(0)\n"
                    "  return (torch.group_norm(x, 3, self.weight, self.bias, 1e-5, False), torch.group_norm(x, 2),\n"
                    "          torch.upsample_bilinear2d(x, [n * 2, 7], False, None),\n"
                    "          torch.upsample_bilinear2d(x, [n + 1, 3], True, None),\n"
                    "          torch.upsample_nearest2d(x, [n * 3, 8], None),\n"
                    "          torch.upsample_bilinear2d(x, None, False, [1.7, 2.0]),\n"
                    "          torch.upsample_nearest2d(x, None, [2.0, 1.5]))\n",
                    {floatInput({2, 6, 4, 5}), floatInput({2, 3})},
                    withDynamicBatch(opts(opset, 1e-4, {"Resize", "Shape", "ReduceMean"}), 3), parameters);
}

}  // namespace
}  // namespace modelexport::testing

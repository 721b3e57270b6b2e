// Quantized ops (quantized_converters.cpp) in sources Module::define compiles: inputs
// quantized in the model, ops called as quantized.<op> (torch.ops.quantized), results
// dequantized. Conv and Linear weights are prepacked from export-time values
// (conv2d_prepack / linear_prepack on constants), so the packed object is known at
// export time as a real model's folded packed weights are. Each runs in onnxruntime
// against LibTorch; the tolerance is the output's quantization step (ort_check's error
// |a - b| / (1 + |b|) is at most |a - b|). The e2e test (quantized_models_test.cpp)
// covers the same ops in traced torch.ao models and aten::quantized_lstm's refusal.
#include <gtest/gtest.h>
#include <torch/csrc/jit/ir/irparser.h>

#include "modelexport/convert_context.h"
#include "modelexport/shape_only_run.h"
#include "test_support.h"

namespace modelexport::testing {
namespace {

// x quantized as quint8 with scale 0.05 and zero point 128 (13 is torch.quint8).
const char* kQuantizeX = "  qx = torch.quantize_per_tensor(x, 0.05, 128, 13)\n";

// 8 output channels of 3x3 kernels over `in` input channels per group, per-channel
// qint8 (12) scales along dim 0; a float bias.
std::string convWeights(int in) {
  const int n = 8 * in * 9;
  return "  w = torch.quantize_per_channel(torch.sin(torch.arange(" + std::to_string(n) +
         ").float()).reshape([8, " + std::to_string(in) +
         ", 3, 3]) * 0.3, torch.full([8], 0.003) + torch.arange(8).float() * 0.0004, "
         "torch.zeros([8], dtype=4), 0, 12)\n"
         "  b = torch.cos(torch.arange(8).float())\n";
}

// A [5, 8] Linear weight, per tensor (qint8, scale 0.004) or per channel, and a bias.
const char* kLinearPerTensor =
    "  lw = torch.quantize_per_tensor(torch.sin(torch.arange(40).float()).reshape([5, 8]) * 0.4, 0.004, 0, 12)\n"
    "  lp = quantized.linear_prepack(lw, torch.cos(torch.arange(5).float()))\n";
const char* kLinearPerChannel =
    "  lw = torch.quantize_per_channel(torch.sin(torch.arange(40).float()).reshape([5, 8]) * 0.4, "
    "torch.full([5], 0.003) + torch.arange(5).float() * 0.001, torch.zeros([5], dtype=4), 0, 12)\n"
    "  lp = quantized.linear_prepack(lw, torch.cos(torch.arange(5).float()))\n";

TEST(QuantizedConverters, QuantizePerTensorAndDequantize) {
  // aten::quantize_per_tensor with numbers (quint8 and qint8), aten::dequantize.self.
  const std::string source =
      "def forward(self, x):\n"
      "  a = torch.quantize_per_tensor(x, 0.05, 128, 13)\n"
      "  b = torch.quantize_per_tensor(x, 0.03, -3, 12)\n"
      "  return a.dequantize(), b.dequantize()\n";
  for (int opset : {11, 14})
    expectOpMatches(opsetTag("q_quantize_per_tensor", opset), source, {floatInput({2, 3, 4})},
                    opts(opset, 0.05, {"QuantizeLinear", "DequantizeLinear"}));
}

TEST(QuantizedConverters, QuantizePerTensorRoundsAsLibTorchNearHalves) {
  // Values whose x / 0.05 and float32 x * (1 / 0.05) round to different integers, with odd
  // zero points (added before LibTorch rounds): the levels must be LibTorch's exactly
  // (QuantizeLinear with the scale gave 14 of 14 one level off).
  const std::string source =
      "def forward(self, x):\n"
      "  v = x * 0.0 + torch.tensor([-2.9749999046325684, -2.4749999046325684, -1.9749999046325684, "
      "-1.6250001192092896, -1.1749999523162842, -0.9749999642372131, -0.7749999761581421, 0.7749999761581421, "
      "0.9749999642372131, 1.1749999523162842, 1.6250001192092896, 1.9749999046325684, 2.4749999046325684, "
      "2.9749999046325684]).repeat(8)\n"
      "  a = torch.quantize_per_tensor(v, 0.05, 3, 13)\n"
      "  b = torch.quantize_per_tensor(v, 0.05, -3, 12)\n"
      "  c = torch.quantize_per_tensor(v, 0.05, 128, 13)\n"
      "  return a.dequantize(), b.dequantize(), c.dequantize()\n";
  expectOpMatches("q_quantize_near_halves", source, {floatInput({112})}, opts(14, 1e-6, {"QuantizeLinear"}));
}

TEST(QuantizedConverters, QuantizedGraphOutputIsFloat) {
  // A model that returns a quantized tensor: the ONNX output is its dequantized float.
  auto model = expectOpMatches("q_quantized_output",
                               std::string("def forward(self, x):\n") + kQuantizeX + "  return torch.relu(qx)\n",
                               {floatInput({2, 5})}, opts(14, 0.05, {"QuantizeLinear"}));
  ASSERT_EQ(model.graph().output_size(), 1);
  EXPECT_EQ(model.graph().output(0).type().tensor_type().elem_type(), onnx::TensorProto::FLOAT);
}

TEST(QuantizedConverters, QuantizePerTensorWithTensorQparams) {
  // FX's form: aten::quantize_per_tensor.tensor_qparams, scale and zero point as tensors.
  expectOpMatches("q_quantize_tensor_qparams",
                  "def forward(self, x):\n"
                  "  q = torch.quantize_per_tensor(x, torch.tensor(0.04), torch.tensor(100), 13)\n"
                  "  return q.dequantize()\n",
                  {floatInput({4, 6})}, opts(14, 0.04, {"QuantizeLinear"}));
}

TEST(QuantizedConverters, QuantizePerTensorOfAListIsRefused) {
  const std::string error = exportError(
      "q_quantize_tensors",
      "def forward(self, x, y):\n"
      "  qs = torch.quantize_per_tensor([x, y], torch.tensor([0.1, 0.2]), torch.tensor([1, 2]), 13)\n"
      "  return qs[0].dequantize(), qs[1].dequantize()\n",
      {floatInput({3}), floatInput({3})}, 14);
  EXPECT_NE(error.find("aten::quantize_per_tensor"), std::string::npos) << error;
  EXPECT_NE(error.find("tensors overload"), std::string::npos) << error;
}

TEST(QuantizedConverters, AddMulAndRelu) {
  // quantized::add, add_relu, mul, mul_relu: each with its own output scale.
  const std::string source = std::string("def forward(self, x, y):\n") + kQuantizeX +
                             "  qy = torch.quantize_per_tensor(y, 0.04, 120, 13)\n"
                             "  return (quantized.add(qx, qy, 0.1, 128).dequantize(),\n"
                             "          quantized.add_relu(qx, qy, 0.06, 10).dequantize(),\n"
                             "          quantized.mul(qx, qy, 0.05, 128).dequantize(),\n"
                             "          quantized.mul_relu(qx, qy, 0.03, 0).dequantize())\n";
  expectOpMatches("q_add_mul", source, {floatInput({2, 4, 5}), floatInput({2, 4, 5})},
                  opts(14, 0.1, {"Add", "Mul", "Relu", "QuantizeLinear"}));
}

TEST(QuantizedConverters, CatWithAndWithoutScale) {
  // quantized::cat: a given scale, and None (the first input's).
  const std::string source = std::string("def forward(self, x, y):\n") + kQuantizeX +
                             "  qy = torch.quantize_per_tensor(y, 0.05, 128, 13)\n"
                             "  return (quantized.cat([qx, qy], 1, 0.08, 100).dequantize(),\n"
                             "          quantized.cat([qx, qy], -1, None, None).dequantize())\n";
  expectOpMatches("q_cat", source, {floatInput({2, 3, 4}), floatInput({2, 3, 4})}, opts(14, 0.08, {"Concat"}));
}

TEST(QuantizedConverters, Hardswish) {
  // quantized::hardswish: HardSwish from opset 14, x * HardSigmoid before.
  const std::string source =
      std::string("def forward(self, x):\n") + kQuantizeX + "  return quantized.hardswish(qx, 0.04, 20).dequantize()\n";
  expectOpMatches("q_hardswish_14", source, {floatInput({2, 8})}, opts(14, 0.04, {"HardSwish"}));
  expectOpMatches("q_hardswish_11", source, {floatInput({2, 8})}, opts(11, 0.04, {"HardSigmoid"}));
}

TEST(QuantizedConverters, Relu6) {
  // quantized::relu6 keeps the input's scale.
  expectOpMatches("q_relu6",
                  std::string("def forward(self, x):\n") + kQuantizeX +
                      "  return quantized.relu6(torch.quantize_per_tensor(x * 4.0, 0.05, 20, 13), False).dequantize()\n",
                  {floatInput({3, 7})}, opts(14, 0.05, {"Clip"}));
}

TEST(QuantizedConverters, LayerNorm) {
  // quantized::layer_norm over the last dim with weight and bias, and over two dims without.
  const std::string source = std::string("def forward(self, x):\n") + kQuantizeX +
                             "  return (quantized.layer_norm(qx, [6], self.w, self.b, 1e-05, 0.03, 128).dequantize(),\n"
                             "          quantized.layer_norm(qx, [4, 6], None, None, 1e-05, 0.03, 128).dequantize())\n";
  expectOpMatches("q_layer_norm", source, {floatInput({2, 4, 6})}, opts(14, 0.03, {"ReduceMean"}),
                  {{"w", randomTensor({6}, 3) + 1.0}, {"b", randomTensor({6}, 4) * 0.1}});
}

TEST(QuantizedConverters, BatchNorm2d) {
  // quantized::batch_norm2d with the running statistics.
  const std::string source =
      std::string("def forward(self, x):\n") + kQuantizeX +
      "  return quantized.batch_norm2d(qx, self.w, self.b, self.m, self.v, 1e-05, 0.05, 120).dequantize()\n";
  expectOpMatches("q_batch_norm2d", source, {floatInput({1, 3, 4, 4})}, opts(14, 0.05, {"BatchNormalization"}),
                  {{"w", randomTensor({3}, 5) + 1.0},
                   {"b", randomTensor({3}, 6) * 0.1},
                   {"m", randomTensor({3}, 7) * 0.1},
                   {"v", randomTensor({3}, 8).abs() + 0.5}});
}

TEST(QuantizedConverters, Conv2d) {
  // quantized::conv2d (.new: geometry from the packed object; and the legacy overload
  // passing it again), strided and padded per dim; per-channel int8 weights. ConvInteger
  // on the levels and fbgemm's float requantization: LibTorch's levels exactly, at every
  // opset.
  const std::string source = std::string("def forward(self, x):\n") + kQuantizeX + convWeights(2) +
                             "  packed = quantized.conv2d_prepack(w, b, [2, 1], [1, 0], [1, 1], 1)\n"
                             "  return (quantized.conv2d(qx, packed, 0.1, 64).dequantize(),\n"
                             "          quantized.conv2d(qx, packed, [2, 1], [1, 0], [1, 1], 1, 0.1, 64).dequantize())\n";
  for (int opset : {11, 14})
    expectOpMatches(opsetTag("q_conv2d", opset), source, {floatInput({1, 2, 9, 8})}, opts(opset, 1e-6, {"ConvInteger"}));
}

TEST(QuantizedConverters, Conv2dPerTensorWeightWithZeroPoint) {
  // Per-tensor int8 weights with a zero point (ConvInteger's w_zero_point), no bias.
  const std::string source = std::string("def forward(self, x):\n") + kQuantizeX +
                             "  w = torch.quantize_per_tensor(torch.sin(torch.arange(144).float()).reshape([8, 2, 3, 3]) * 0.3, "
                             "0.004, 3, 12)\n"
                             "  packed = quantized.conv2d_prepack(w, None, [1, 1], [1, 1], [1, 1], 1)\n"
                             "  return quantized.conv2d_relu(qx, packed, 0.07, 10).dequantize()\n";
  expectOpMatches("q_conv2d_weight_zero_point", source, {floatInput({1, 2, 6, 6})}, opts(14, 1e-6, {"ConvInteger"}));
}

TEST(QuantizedConverters, Conv2dReluDepthwiseDilated) {
  // quantized::conv2d_relu with groups (depthwise) and dilation.
  const std::string source = std::string("def forward(self, x):\n") + kQuantizeX + convWeights(1) +
                             "  packed = quantized.conv2d_prepack(w, b, [1, 1], [2, 2], [2, 2], 8)\n"
                             "  return quantized.conv2d_relu(qx, packed, 0.05, 0).dequantize()\n";
  expectOpMatches("q_conv2d_relu", source, {floatInput({1, 8, 7, 7})}, opts(14, 1e-6, {"ConvInteger"}));
}

TEST(QuantizedConverters, LinearAndLinearRelu) {
  // quantized::linear and linear_relu with per-tensor and per-channel weights. The input
  // levels stay in [0, 127], as torch.ao's x86 observers keep them (reduce_range): fbgemm
  // multiplies uint8 by int8 in pairs summed in int16, which saturates with full-range
  // inputs and large weights, where the ONNX file computes the exact product.
  for (const char* weights : {kLinearPerTensor, kLinearPerChannel}) {
    const std::string source = std::string("def forward(self, x):\n") +
                               "  qx = torch.quantize_per_tensor(x, 0.08, 64, 13)\n" + weights +
                               "  return (quantized.linear(qx, lp, 0.08, 70).dequantize(),\n"
                               "          quantized.linear_relu(qx, lp, 0.04, 0).dequantize())\n";
    const std::string name = weights == kLinearPerTensor ? "q_linear_per_tensor" : "q_linear_per_channel";
    expectOpMatches(name, source, {floatInput({3, 2, 8})}, opts(14, 1e-6, {"MatMulInteger"}));
  }
}

TEST(QuantizedConverters, LinearDynamic) {
  // quantized::linear_dynamic and linear_relu_dynamic: the input quantized with its own
  // range at run time (reduce_range: [0, 127], as torch.ao's dynamic Linear calls it;
  // and [0, 255], with small weight levels: fbgemm's int16 pair sums saturate beyond,
  // see above); float results, equal to float rounding.
  const std::string source = std::string("def forward(self, x):\n") + kLinearPerChannel +
                             "  small = torch.quantize_per_tensor(torch.sin(torch.arange(40).float()).reshape([5, 8]) * "
                             "0.4, 0.008, 0, 12)\n"
                             "  sp = quantized.linear_prepack(small, None)\n"
                             "  return (quantized.linear_dynamic(x, lp, True),\n"
                             "          quantized.linear_dynamic(x, sp, False),\n"
                             "          quantized.linear_relu_dynamic(x, lp, True))\n";
  expectOpMatches("q_linear_dynamic", source, {floatInput({2, 3, 8})}, opts(14, 1e-4, {"MatMulInteger", "ReduceMin"}));
}

TEST(QuantizedConverters, FloatOpsOnQuantizedTensorsAreRounded) {
  // LibTorch runs relu, max_pool2d and flatten on the quantized tensor; their float
  // counterparts are rounded to the result's scale again.
  const std::string source = std::string("def forward(self, x):\n") + kQuantizeX +
                             "  y = torch.flatten(torch.max_pool2d(torch.relu(qx), [2, 2]), 1)\n"
                             "  return y.dequantize()\n";
  expectOpMatches("q_float_ops", source, {floatInput({1, 2, 6, 6})}, opts(14, 0.05, {"MaxPool", "QuantizeLinear"}));
}

TEST(QuantizedConverters, ShapeOnlyRunComputesQuantizedTensors) {
  // A stand-in would carry no scale of its own (and zeros cannot be made quantized): the
  // shape-only run leaves ops on quantized tensors to LibTorch. quantized::* ops declare
  // no facts, so their inputs count as needed.
  auto graph = std::make_shared<torch::jit::Graph>();
  torch::jit::parseIR(R"IR(
graph(%x : Tensor, %w : Tensor):
  %none : NoneType = prim::Constant()
  %r : Tensor = aten::relu(%x)
  %l : Tensor = aten::linear(%x, %w, %none)
  return (%r, %l)
)IR",
                      graph.get());
  std::vector<const torch::jit::Node*> ops;
  for (const torch::jit::Node* node : graph->nodes())
    if (node->kind() != c10::prim::Constant) ops.push_back(node);
  ASSERT_EQ(ops.size(), 2u);
  const at::Tensor q = at::quantize_per_tensor(at::randn({2, 4}), 0.1, 10, at::kQUInt8);
  EXPECT_FALSE(resultHasInputSizeAndDtype(ops[0], defaultConverters().opFacts(), {q}));
  EXPECT_TRUE(resultHasInputSizeAndDtype(ops[0], defaultConverters().opFacts(), {at::randn({2, 4})}));
  EXPECT_FALSE(outputSizesWithoutComputing(
      ops[1], defaultConverters().opFacts(),
      {q, at::quantize_per_tensor(at::randn({3, 4}), 0.1, 0, at::kQInt8), c10::IValue()}));
}

}  // namespace
}  // namespace modelexport::testing

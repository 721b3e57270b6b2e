// Elementwise converters: each test exports the op through the real pipeline and
// compares onnxruntime's result with LibTorch's (integer and bool outputs exactly).
// Scalars written in the source are known at export time; tensors derived from the
// inputs are not, so every op below reaches its converter.
#include <gtest/gtest.h>

#include "test_support.h"

namespace modelexport::testing {
namespace {

std::string opsetName(const std::string& base, int opset) { return base + "_" + std::to_string(opset); }

TEST(ElementwiseConverters, AddSubRsubWithAlphaAndBroadcast) {
  expectOpMatches("add_alpha",
                  "def forward(self, x, y):\n"
                  "  return torch.add(x, y, alpha=2.5), torch.sub(x, y, alpha=0.5), torch.rsub(x, y, alpha=2.0),\\\n"
                  "         torch.rsub(x, y), x + 3, 2 - x, torch.sub(x, 1.5, 3), x * y, y + x\n",
                  {floatInput({2, 3}), floatInput({3})}, {14, 1e-4, {"Add", "Sub", "Mul"}});
}

TEST(ElementwiseConverters, IntegerArithmeticAndPromotion) {
  // int64 tensors stay int64 (exact); a float scalar or a float 0-d tensor makes float.
  expectOpMatches("int_promotion",
                  "def forward(self, i, j, x):\n"
                  "  s = torch.mean(x)\n"
                  "  return i + j, i * j - 3, torch.add(i, j, alpha=3), i + 1.5, i * 2.5, i - 0.5,\\\n"
                  "         i / 2, i / j.clamp_min(1), i * s, i + x, 7 - i\n",
                  {longInput({2, 3}, 10), longInput({3}, 10), floatInput({2, 3})}, {14, 1e-5, {"Add", "Mul"}});
}

TEST(ElementwiseConverters, BoolArithmetic) {
  // bool + bool stays bool (logical or), bool * bool is logical and; a number promotes.
  expectOpMatches("bool_arith",
                  "def forward(self, a, b, x):\n"
                  "  return a + b, a * b, a + 1, a * 2.5, x * a, torch.maximum(a, b), torch.minimum(a, b),\\\n"
                  "         a.long() + b\n",
                  {boolInput({3, 4}), boolInput({3, 4}), floatInput({3, 4})}, {14, 1e-5, {}});
}

TEST(ElementwiseConverters, DivRoundingModes) {
  // Negative quotients: floor goes down, trunc toward zero; integers stay integers.
  for (int opset : {11, 17})
    expectOpMatches(opsetName("div_rounding", opset),
                    "def forward(self, x, y, i, j):\n"
                    "  n = i - 10\n"
                    "  d = j + 1\n"
                    "  return torch.div(x * 4, y, rounding_mode='floor'), torch.div(x * 4, y, rounding_mode='trunc'),\\\n"
                    "         torch.div(n, d, rounding_mode='floor'), torch.div(n, -d, rounding_mode='floor'),\\\n"
                    "         torch.div(n, d, rounding_mode='trunc'), torch.div(n, -d, rounding_mode='trunc'),\\\n"
                    "         torch.div(n, 3, rounding_mode='floor'), torch.div(x, 0.3, rounding_mode='trunc'),\\\n"
                    "         torch.floor_divide(n, d), torch.floor_divide(n, -3), torch.floor_divide(x * 4, y),\\\n"
                    "         torch.true_divide(n, d), n / d, torch.div(x, y)\n",
                    {floatInput({4, 5}), floatInput({4, 5}), longInput({4, 5}, 20), longInput({4, 5}, 4)},
                    {opset, 1e-4, {"Div"}});
}

TEST(ElementwiseConverters, RemainderAndFmodWithNegatives) {
  for (int opset : {11, 17})
    expectOpMatches(opsetName("remainder_fmod", opset),
                    "def forward(self, x, y, i, j):\n"
                    "  n = i - 10\n"
                    "  d = j + 1\n"
                    "  return torch.remainder(n, d), torch.remainder(n, -d), torch.fmod(n, d), torch.fmod(n, -d),\\\n"
                    "         torch.remainder(x * 5, y.abs() + 0.5), torch.remainder(x * 5, -(y.abs() + 0.5)),\\\n"
                    "         torch.fmod(x * 5, y.abs() + 0.5), torch.fmod(x * 5, -1.5), n % 3, x % 0.7,\\\n"
                    "         torch.remainder(n, 2.5)\n",
                    {floatInput({4, 5}), floatInput({4, 5}), longInput({4, 5}, 20), longInput({4, 5}, 4)},
                    {opset, 1e-4, {"Mod"}});
}

TEST(ElementwiseConverters, PowMinimumMaximum) {
  for (int opset : {11, 14})
    expectOpMatches(opsetName("pow_min_max", opset),
                    "def forward(self, x, y, i, j):\n"
                    "  return torch.pow(x, 2), torch.pow(x.abs() + 0.1, y), torch.pow(x.abs(), 0.5), torch.pow(2.0, y),\\\n"
                    "         torch.pow(i, 2), torch.pow(i, j), torch.pow(i, 0.5), x ** 3,\\\n"
                    "         torch.minimum(x, y), torch.maximum(x, y), torch.minimum(i, j), torch.maximum(i, j - 2),\\\n"
                    "         torch.maximum(i, x)\n",
                    {floatInput({3, 4}), floatInput({3, 4}), longInput({3, 4}, 5), longInput({3, 4}, 3)},
                    {opset, 1e-4, {"Pow", "Min", "Max"}});
}

TEST(ElementwiseConverters, ComparisonsGiveBool) {
  // log of negatives is NaN: every comparison with NaN is false except ne.
  for (int opset : {11, 14})
    expectOpMatches(opsetName("compare", opset),
                    "def forward(self, x, y, i, a, b):\n"
                    "  l = torch.log(x)\n"
                    "  return x == y, x != y, x < y, x > y, x <= y, x >= y, l <= 0.0, l >= 0.0, l != l, l == l,\\\n"
                    "         i > 2, i <= 2.5, i == x, x < 0, torch.eq(i, 3), torch.ne(i, 3), i.lt(3), i.ge(3),\\\n"
                    "         a == b, a != b, a < b, a >= b, x.gt(y[0])\n",
                    {floatInput({3, 4}), floatInput({4}), longInput({3, 4}, 5), boolInput({3, 4}), boolInput({4})},
                    {opset, 0, {}});
}

TEST(ElementwiseConverters, LogicalAndBitwiseOnBool) {
  expectOpMatches("logical",
                  "def forward(self, a, b, x, y):\n"
                  "  return torch.logical_and(a, b), torch.logical_or(a, b), torch.logical_xor(a, b),\\\n"
                  "         torch.logical_not(a), torch.logical_and(x, y), torch.logical_not(x), torch.logical_or(x, a),\\\n"
                  "         a & b, a | b, a ^ b, ~a, torch.bitwise_not(a), torch.bitwise_and(a, b),\\\n"
                  "         torch.bitwise_or(a, b), torch.bitwise_xor(a, b)\n",
                  {boolInput({3, 4}), boolInput({4}), floatInput({3, 4}), longInput({3, 4}, 2)},
                  {14, 0, {"And", "Or", "Xor", "Not"}});
}

TEST(ElementwiseConverters, WhereAndMaskedFillBroadcast) {
  // mean(y) is a ReduceMean in onnxruntime: its sum order may differ from LibTorch by an ulp.
  expectOpMatches("where_masked_fill",
                  "def forward(self, x, y, m, c):\n"
                  "  v = torch.mean(y)\n"
                  "  return torch.where(m, x, y), torch.where(m, x, 0.0), torch.where(c, 1.0, x), torch.where(x > 0, x, y),\\\n"
                  "         x.masked_fill(m, -1e4), x.masked_fill(c, v), torch.masked_fill(x, x < 0, 0),\\\n"
                  "         torch.where(m, 1, 0), torch.where(x > 0, torch.ones_like(x).long(), y.long())\n",
                  {floatInput({3, 4}), floatInput({4}), boolInput({1, 4}), boolInput({3, 1})},
                  {14, 1e-6, {"Where"}});
}

TEST(ElementwiseConverters, ClampForms) {
  // Clip takes integer inputs only from opset 12; bounds given as tensors use Min/Max.
  for (int opset : {11, 13, 17})
    expectOpMatches(opsetName("clamp", opset),
                    "def forward(self, x, i, lo, hi):\n"
                    "  return torch.clamp(x, min=-0.5), torch.clamp(x, max=0.3), torch.clamp(x, -0.2, 0.4),\\\n"
                    "         torch.clamp(i, min=2), torch.clamp(i, max=3), torch.clamp(i, 1, 3), torch.clamp(i, min=1.5),\\\n"
                    "         torch.clip(x, -0.1, 0.1), torch.clamp_min(x, 0.2), torch.clamp_max(i, 2),\\\n"
                    "         torch.clamp(x, lo, hi + 1), torch.clamp(x, min=lo), torch.clamp(x, max=hi), x.clamp(1.0, -1.0)\n",
                    {floatInput({3, 4}), longInput({3, 4}, 5), floatInput({4}), floatInput({3, 1})},
                    {opset, 1e-5, {}});
}

TEST(ElementwiseConverters, ClippedAndLeakyActivations) {
  expectOpMatches("clipped_activations",
                  "def forward(self, x):\n"
                  "  y = x * 4\n"
                  "  return torch.hardtanh(y), torch.hardtanh(y, -2.0, 3.0), torch.relu6(y * 2), torch.leaky_relu(x),\\\n"
                  "         torch.leaky_relu(x, 0.2), torch.elu(x), torch.elu(x, 0.5), torch.relu(x)\n",
                  {floatInput({4, 6})}, {14, 1e-5, {"Clip", "LeakyRelu", "Elu"}});
}

TEST(ElementwiseConverters, SoftplusBetaAndThreshold) {
  // With beta=2 and threshold=1, values with 2x > 1 pass through unchanged.
  expectOpMatches("softplus",
                  "def forward(self, x):\n"
                  "  return torch.softplus(x), torch.softplus(x, 2.0, 1.0), torch.softplus(x * 30, 1.0, 20.0),\\\n"
                  "         torch.softplus(x, 0.5, 3.0)\n",
                  {floatInput({5, 8})}, {14, 1e-5, {"Softplus"}});
}

TEST(ElementwiseConverters, HardswishHardsigmoidByOpset) {
  for (int opset : {13, 14}) {
    std::vector<std::string> expected{"HardSigmoid"};
    if (opset >= 14) expected.push_back("HardSwish");
    expectOpMatches(opsetName("hardswish", opset),
                    "def forward(self, x):\n"
                    "  y = x * 4\n"
                    "  return torch.hardswish(y), torch.hardsigmoid(y)\n",
                    {floatInput({4, 6})}, {opset, 1e-5, expected});
  }
}

TEST(ElementwiseConverters, GeluExactAndTanh) {
  expectOpMatches("gelu", "def forward(self, x):\n  return torch.gelu(x), torch.gelu(x, approximate='tanh')\n",
                  {floatInput({4, 8})}, {14, 1e-5, {"Erf", "Tanh"}});
}

TEST(ElementwiseConverters, SiluMish) {
  expectOpMatches("silu_mish", "def forward(self, x):\n  return torch.silu(x * 3), torch.mish(x * 3)\n",
                  {floatInput({4, 8})}, {14, 1e-5, {"Sigmoid", "Softplus"}});
}

TEST(ElementwiseConverters, UnaryMath) {
  expectOpMatches("unary_math",
                  "def forward(self, x):\n"
                  "  p = x.abs() + 0.1\n"
                  "  u = torch.sin(x) * 0.9\n"
                  "  return torch.sigmoid(x), torch.tanh(x), torch.exp(x), torch.log(p), torch.sqrt(p), torch.neg(x),\\\n"
                  "         torch.abs(x), torch.reciprocal(p), torch.erf(x), torch.sin(x), torch.cos(x), torch.floor(x * 3),\\\n"
                  "         torch.ceil(x * 3), torch.round(x * 3), torch.sign(x), torch.tan(u), torch.atan(x), torch.asin(u),\\\n"
                  "         torch.acos(u), torch.sinh(x), torch.cosh(x), torch.rsqrt(p), torch.square(x), -x\n",
                  {floatInput({4, 6})}, {14, 1e-4, {"Sigmoid", "Asin", "Reciprocal"}});
}

TEST(ElementwiseConverters, UnaryOnIntegers) {
  // LibTorch keeps int64 for abs/neg/sign/square/floor/round and makes float for sqrt etc.
  for (int opset : {11, 14})
    expectOpMatches(opsetName("unary_int", opset),
                    "def forward(self, i):\n"
                    "  n = i - 4\n"
                    "  return torch.abs(n), torch.neg(n), torch.sign(n), torch.square(n), torch.floor(n), torch.ceil(n),\\\n"
                    "         torch.round(n), torch.relu(n), torch.sqrt(i), torch.sigmoid(n), torch.exp(n), torch.trunc(n)\n",
                    {longInput({3, 4}, 9)}, {opset, 1e-5, {}});
}

TEST(ElementwiseConverters, RoundDecimals) {
  expectOpMatches("round_decimals", "def forward(self, x):\n  return torch.round(x * 10, decimals=1), torch.round(x * 1000, decimals=-2)\n",
                  {floatInput({4, 6})}, {14, 1e-5, {"Round"}});
}

TEST(ElementwiseConverters, LogAndExpVariants) {
  expectOpMatches("log_exp_variants",
                  "def forward(self, x):\n"
                  "  p = x.abs() + 0.1\n"
                  "  return torch.log1p(p), torch.expm1(x), torch.log2(p), torch.log10(p), torch.exp2(x),\\\n"
                  "         torch.trunc(x * 3), torch.fix(x * 3), torch.frac(x * 3)\n",
                  {floatInput({4, 6})}, {14, 1e-4, {"Log", "Exp"}});
}

TEST(ElementwiseConverters, AddcmulAddcdivLerp) {
  expectOpMatches("addcmul_lerp",
                  "def forward(self, x, y, z, w):\n"
                  "  d = z.abs() + 0.5\n"
                  "  return torch.addcmul(x, y, z), torch.addcmul(x, y, z, value=0.5), torch.addcdiv(x, y, d),\\\n"
                  "         torch.addcdiv(x, y, d, value=-2.0), torch.lerp(x, y, 0.3), torch.lerp(x, y, w),\\\n"
                  "         torch.lerp(x, y, torch.sigmoid(w))\n",
                  {floatInput({3, 4}), floatInput({3, 4}), floatInput({4}), floatInput({3, 1})},
                  {14, 1e-4, {"Mul", "Div"}});
}

TEST(ElementwiseConverters, PreluCeluSeluGlu) {
  expectOpMatches("prelu_celu_selu_glu",
                  "def forward(self, x, w, v):\n"
                  "  return torch.prelu(x, w), torch.prelu(x, v), torch.celu(x), torch.celu(x, 0.5), torch.selu(x),\\\n"
                  "         torch.glu(x, 1), torch.glu(x, -1), torch.glu(x)\n",
                  {floatInput({2, 4, 6}), floatInput({4}), floatInput({1})}, {14, 1e-5, {"PRelu", "Selu"}});
}

TEST(ElementwiseConverters, ThresholdShrinkLogsigmoid) {
  expectOpMatches("threshold_shrink",
                  "def forward(self, x):\n"
                  "  return torch.threshold(x, 0.1, 20.0), torch.threshold(x, -0.5, -1.0), torch.hardshrink(x),\\\n"
                  "         torch.hardshrink(x, 0.3), torch.softshrink(x), torch.softshrink(x, 0.2), torch.log_sigmoid(x * 20)\n",
                  {floatInput({4, 6})}, {14, 1e-5, {}});
}

TEST(ElementwiseConverters, LogAddExpAndXlogyWithInfinitiesZerosAndNaN) {
  // Equal infinities stay infinite (their difference is NaN); large gaps do not overflow;
  // 0 * log(y) is 0 unless y is NaN; Scalar_Self and Scalar_Other overloads of xlogy.
  expectOpMatches("logaddexp_xlogy",
                  "def forward(self, x, y):\n"
                  "  a = torch.where(x > 1.0, float('inf'), torch.where(x < -1.0, -float('inf'), x * 40))\n"
                  "  b = torch.where(y > 1.0, float('inf'), torch.where(y < -1.0, -float('inf'), y * 40))\n"
                  "  z = torch.where(x.abs() < 0.5, torch.zeros_like(x), x)\n"
                  "  w = torch.where(y > 1.5, float('nan'), y.abs())\n"
                  "  return torch.logaddexp(a, b), torch.logaddexp2(a, b), torch.logaddexp(x, y[0]),\\\n"
                  "         torch.xlogy(z, w), torch.xlogy(2.0, w), torch.xlogy(z, 3)\n",
                  {floatInput({8, 16}), floatInput({8, 16})}, {14, 1e-5, {"Max", "IsInf", "IsNaN"}});
}

TEST(ElementwiseConverters, LogitNanInf) {
  // Division by zero makes inf and nan from the data.
  expectOpMatches("logit_nan_inf",
                  "def forward(self, x, y):\n"
                  "  p = torch.sigmoid(x)\n"
                  "  z = x / (y > 0).float()\n"
                  "  return torch.logit(p), torch.logit(p * 1.2, 0.1), torch.isnan(z), torch.isinf(z), torch.isfinite(z),\\\n"
                  "         torch.nan_to_num(z), torch.nan_to_num(z, 0.5, 100.0, -100.0), torch.nan_to_num(z, nan=1.0)\n",
                  {floatInput({4, 6}), floatInput({4, 6})}, {14, 1e-5, {"IsNaN", "IsInf"}});
}

// Representative ops at each opset whose ONNX forms differ between opsets.
class ElementwiseOpsets : public ::testing::TestWithParam<int> {};

TEST_P(ElementwiseOpsets, RepresentativeOps) {
  const int opset = GetParam();
  expectOpMatches(opsetName("elementwise_opsets", opset),
                  "def forward(self, x, y, i, m):\n"
                  "  return torch.add(x, y, alpha=2), x * 2.5 - y, torch.div(x, y, rounding_mode='floor'), i % 3,\\\n"
                  "         x <= y, torch.logical_and(m, x > 0), torch.where(m, x, y), torch.clamp(i, 1, 3),\\\n"
                  "         torch.clamp(x, max=0.5), torch.hardswish(x * 3), torch.hardsigmoid(x * 3), torch.gelu(x),\\\n"
                  "         torch.relu(i - 2), torch.maximum(i, i * 2 - 4), torch.pow(i, 2), torch.softplus(x, 2.0, 1.0),\\\n"
                  "         torch.leaky_relu(x, 0.1), x.masked_fill(m, 3.0), torch.addcmul(x, x, y, value=0.5)\n",
                  {floatInput({3, 4}), floatInput({4}), longInput({3, 4}, 6), boolInput({3, 4})}, {opset, 1e-4, {}});
}

INSTANTIATE_TEST_SUITE_P(Opsets, ElementwiseOpsets, ::testing::Values(11, 13, 14, 17));

}  // namespace
}  // namespace modelexport::testing

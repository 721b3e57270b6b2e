// Elementwise arithmetic, comparisons, logic and activations.
#include <cmath>
#include <limits>
#include <tuple>

#include "modelexport/convert_context.h"
#include "modelexport/converter_helpers.h"

namespace modelexport {
namespace {

using torch::jit::Value;

double doubleArg(const ConvertContext& ctx, const char* name, double fallback) {
  return ctx.given(name) ? ctx.toDouble(ctx.in(name)) : fallback;
}

// The operands of ops that also have overloads on numbers: "self" (and "other", or
// pow's "exponent") in the tensor overloads, "a" and "b" in the number ones (add.int,
// eq.float, sqrt.int, prim::min.int).
const Value* firstOperand(const ConvertContext& ctx) {
  const Value* self = ctx.arg("self");
  return self ? self : ctx.in("a");
}
const Value* secondOperand(const ConvertContext& ctx, const char* name = "other") {
  return ctx.arg("self") ? ctx.in(name) : ctx.in("b");
}

// The dtype an ONNX op computes `type` in: `type` itself when the op takes integers at
// the export's opset (`takesIntegers`, chosen by the registration's opset forms), else
// double, which holds int64 values up to 2^53 exactly. Floating types are always accepted.
at::ScalarType computeType(at::ScalarType type, bool takesIntegers) {
  if (at::isFloatingType(type)) return type;
  return takesIntegers ? type : at::kDouble;
}

// Both operands in `type`, combined by one ONNX op, bound as the output.
void binaryIn(ConvertContext& ctx, const std::string& opType, at::ScalarType type, const char* second = "other") {
  ctx.setOutput(ctx.op(opType, {ctx.inputAs(firstOperand(ctx), type), ctx.inputAs(secondOperand(ctx, second), type)}),
                type);
}

// Arithmetic in the result dtype LibTorch computed. Bool results (bool op bool) are
// logical: ONNX arithmetic has no bool form.
void binary(ConvertContext& ctx, const std::string& opType, const std::string& boolOpType,
            bool takesIntegers = true, const char* second = "other") {
  const auto type = ctx.dtype(ctx.out());
  if (type == at::kBool) {
    if (boolOpType.empty()) ctx.unsupported(opType + " on bool tensors");
    binaryIn(ctx, boolOpType, at::kBool, second);
    return;
  }
  binaryIn(ctx, opType, computeType(type, takesIntegers), second);
}

// b scaled by alpha, when aten::add/sub pass an alpha other than 1.
std::string scaledByAlpha(ConvertContext& ctx, const std::string& b, at::ScalarType type) {
  const Value* alphaArg = ctx.arg("alpha");  // not in add.int and the like
  if (!ctx.given(alphaArg)) return b;
  double alpha = ctx.toDouble(alphaArg);
  return alpha == 1.0 ? b : ctx.op("Mul", {b, ctx.scalar(alpha, type)});
}

void addOrSub(ConvertContext& ctx, const std::string& opType) {
  const auto type = ctx.dtype(ctx.out());
  if (type == at::kBool) {
    if (opType != "Add") ctx.unsupported("subtraction of bool tensors");
    binaryIn(ctx, "Or", at::kBool);  // alpha is 1 or true for bools
    return;
  }
  std::string a = ctx.inputAs(firstOperand(ctx), type);
  std::string b = scaledByAlpha(ctx, ctx.inputAs(secondOperand(ctx), type), type);
  ctx.setOutput(ctx.op(opType, {a, b}), type);
}

void rsub(ConvertContext& ctx) {  // other - alpha * self
  const auto type = ctx.dtype(ctx.out());
  std::string a = scaledByAlpha(ctx, ctx.inputAs(ctx.in("self"), type), type);
  ctx.setOutput(ctx.op("Sub", {ctx.inputAs(ctx.in("other"), type), a}), type);
}

// Rounds toward zero; ONNX has no Trunc op.
std::string truncate(ConvertContext& ctx, const std::string& x, at::ScalarType type) {
  std::string negative = ctx.op("Less", {x, ctx.scalar(0, type)});
  return ctx.op("Where", {negative, ctx.op("Ceil", {x}), ctx.op("Floor", {x})});
}

// Division rounded down or toward zero. Integers divide in double (exact below 2^53).
void roundedDivide(ConvertContext& ctx, const std::string& mode) {
  const auto type = ctx.dtype(ctx.out());
  const auto work = at::isFloatingType(type) ? type : at::kDouble;
  std::string q = ctx.op("Div", {ctx.inputAs(firstOperand(ctx), work), ctx.inputAs(secondOperand(ctx), work)});
  if (mode == "floor") {
    q = ctx.op("Floor", {q});
  } else if (mode == "trunc") {
    q = truncate(ctx, q, work);
  } else {
    ctx.unsupported("rounding_mode '" + mode + "'");
  }
  ctx.setOutput(q, work);
}

void div(ConvertContext& ctx) {
  const Value* mode = ctx.arg("rounding_mode");
  if (!ctx.given(mode)) {
    binary(ctx, "Div", "");
    return;
  }
  roundedDivide(ctx, ctx.staticValue(mode).toStringRef());
}

void remainder(ConvertContext& ctx) {  // Python modulo: the result has the divisor's sign
  const auto type = ctx.dtype(ctx.out());
  std::string a = ctx.inputAs(firstOperand(ctx), type), b = ctx.inputAs(secondOperand(ctx), type);
  if (!at::isFloatingType(type)) {
    ctx.setOutput(ctx.op("Mod", {a, b}, {attr::i("fmod", 0)}), type);
    return;
  }
  // ONNX Mod with fmod=0 takes integers only: take C's fmod, then move a nonzero result
  // whose sign differs from the divisor's by one divisor.
  std::string r = ctx.op("Mod", {a, b}, {attr::i("fmod", 1)});
  std::string zero = ctx.scalar(0, type);
  std::string signsDiffer = ctx.op("Xor", {ctx.op("Less", {r, zero}), ctx.op("Less", {b, zero})});
  std::string adjust = ctx.op("And", {signsDiffer, ctx.op("Not", {ctx.op("Equal", {r, zero})})});
  ctx.setOutput(ctx.op("Where", {adjust, ctx.op("Add", {r, b}), r}), type);
}

void fmod(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  ctx.setOutput(ctx.op("Mod", {ctx.inputAs(firstOperand(ctx), type), ctx.inputAs(secondOperand(ctx), type)},
                       {attr::i("fmod", 1)}),
                type);
}

enum class Comparison { Eq, Ne, Lt, Gt, Le, Ge };

// `orEqualOps`: LessOrEqual and GreaterOrEqual exist (opset 12 on).
void compare(ConvertContext& ctx, Comparison comparison, bool orEqualOps) {
  const Value* first = firstOperand(ctx);
  const Value* second = secondOperand(ctx);
  auto type = ctx.promotedType({first, second});
  // Only Equal takes bools; orderings compare them as 0/1.
  if (type == at::kBool && comparison != Comparison::Eq && comparison != Comparison::Ne) type = at::kInt;
  std::string a = ctx.inputAs(first, type), b = ctx.inputAs(second, type);
  // Not(Greater) would make NaN <= x true: Or(Less, Equal) before LessOrEqual exists.
  auto orEqual = [&](const std::string& strict, const std::string& combined) {
    if (orEqualOps) return ctx.op(combined, {a, b});
    return ctx.op("Or", {ctx.op(strict, {a, b}), ctx.op("Equal", {a, b})});
  };
  std::string r;
  switch (comparison) {
    case Comparison::Eq: r = ctx.op("Equal", {a, b}); break;
    case Comparison::Ne: r = ctx.op("Not", {ctx.op("Equal", {a, b})}); break;
    case Comparison::Lt: r = ctx.op("Less", {a, b}); break;
    case Comparison::Gt: r = ctx.op("Greater", {a, b}); break;
    case Comparison::Le: r = orEqual("Less", "LessOrEqual"); break;
    case Comparison::Ge: r = orEqual("Greater", "GreaterOrEqual"); break;
  }
  ctx.setOutput(r, at::kBool);
}

void logical(ConvertContext& ctx, const std::string& opType) {
  std::vector<std::string> ins{ctx.inputAs(firstOperand(ctx), at::kBool)};
  if (opType != "Not") ins.push_back(ctx.inputAs(secondOperand(ctx), at::kBool));
  ctx.setOutput(ctx.op(opType, ins), at::kBool);
}

// Bitwise ops are logical on bools; integer forms need BitwiseAnd etc. (opset 18).
void bitwise(ConvertContext& ctx, const std::string& opType) {
  if (ctx.dtype(ctx.out()) != at::kBool) ctx.unsupported("bitwise " + opType + " on integers");
  logical(ctx, opType);
}

// x passed through in its own dtype (rounding an integer, for example).
void identity(ConvertContext& ctx) { ctx.setOutput(ctx.input(firstOperand(ctx)), ctx.dtype(firstOperand(ctx))); }

void unary(ConvertContext& ctx, const std::string& opType, bool takesIntegers = false) {
  const auto type = computeType(ctx.dtype(ctx.out()), takesIntegers);
  ctx.setOutput(ctx.op(opType, {ctx.inputAs(firstOperand(ctx), type)}), type);
}

// floor/ceil/round/trunc keep integers as they are.
void rounding(ConvertContext& ctx, const std::string& opType) {
  if (!at::isFloatingType(ctx.dtype(ctx.out()))) {
    identity(ctx);
    return;
  }
  unary(ctx, opType);
}

void round(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  int64_t decimals = ctx.given("decimals") ? ctx.toInt(ctx.in("decimals")) : 0;
  if (!at::isFloatingType(type)) {
    identity(ctx);
    return;
  }
  std::string x = ctx.inputAs(ctx.in("self"), type);
  if (decimals == 0) {
    ctx.setOutput(ctx.op("Round", {x}), type);
    return;
  }
  // Round half to even at 10^-decimals, as LibTorch does: scale, round, unscale.
  std::string scale = ctx.scalar(std::pow(10.0, static_cast<double>(decimals)), type);
  ctx.setOutput(ctx.op("Div", {ctx.op("Round", {ctx.op("Mul", {x, scale})}), scale}), type);
}

void trunc(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  if (!at::isFloatingType(type)) {
    identity(ctx);
    return;
  }
  ctx.setOutput(truncate(ctx, ctx.inputAs(ctx.in("self"), type), type), type);
}

void frac(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  std::string x = ctx.inputAs(ctx.in("self"), type);
  ctx.setOutput(ctx.op("Sub", {x, truncate(ctx, x, type)}), type);
}

void log1p(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  std::string x = ctx.inputAs(firstOperand(ctx), type);
  ctx.setOutput(ctx.op("Log", {ctx.op("Add", {x, ctx.scalar(1, type)})}), type);
}

void expm1(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  std::string x = ctx.inputAs(firstOperand(ctx), type);
  ctx.setOutput(ctx.op("Sub", {ctx.op("Exp", {x}), ctx.scalar(1, type)}), type);
}

void logBase(ConvertContext& ctx, double base) {
  const auto type = ctx.dtype(ctx.out());
  std::string x = ctx.inputAs(firstOperand(ctx), type);
  ctx.setOutput(ctx.op("Div", {ctx.op("Log", {x}), ctx.scalar(std::log(base), type)}), type);
}

void exp2(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  ctx.setOutput(ctx.op("Pow", {ctx.scalar(2, type), ctx.inputAs(ctx.in("self"), type)}), type);
}

void rsqrt(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  ctx.setOutput(ctx.op("Reciprocal", {ctx.op("Sqrt", {ctx.inputAs(ctx.in("self"), type)})}), type);
}

void square(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  std::string x = ctx.inputAs(ctx.in("self"), type);
  ctx.setOutput(ctx.op("Mul", {x, x}), type);
}


void gelu(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  std::string x = ctx.inputAs(ctx.in("self"), type);
  std::string approximate = "none";
  if (ctx.given("approximate")) approximate = ctx.staticValue(ctx.in("approximate")).toStringRef();
  if (approximate == "tanh") {
    // 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
    std::string cube = ctx.op("Mul", {x, ctx.op("Mul", {x, x})});
    std::string inner = ctx.op("Add", {x, ctx.op("Mul", {cube, ctx.scalar(0.044715, type)})});
    std::string t = ctx.op("Tanh", {ctx.op("Mul", {inner, ctx.scalar(std::sqrt(2.0 / M_PI), type)})});
    std::string onePlus = ctx.op("Add", {t, ctx.scalar(1.0, type)});
    ctx.setOutput(ctx.op("Mul", {ctx.op("Mul", {x, ctx.scalar(0.5, type)}), onePlus}), type);
    return;
  }
  if (approximate != "none") ctx.unsupported("gelu approximate='" + approximate + "'");
  ctx.setOutput(erfGelu(ctx, x, type), type);
}

void silu(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  std::string x = ctx.inputAs(ctx.in("self"), type);
  ctx.setOutput(ctx.op("Mul", {x, ctx.op("Sigmoid", {x})}), type);
}

void mish(ConvertContext& ctx) {  // x * tanh(softplus(x))
  const auto type = ctx.dtype(ctx.out());
  std::string x = ctx.inputAs(ctx.in("self"), type);
  ctx.setOutput(ctx.op("Mul", {x, ctx.op("Tanh", {ctx.op("Softplus", {x})})}), type);
}

// LibTorch's hardsigmoid is relu6(x + 3) / 6 = clip(x / 6 + 1/2, 0, 1).
std::string hardSigmoidOf(ConvertContext& ctx, const std::string& x) {
  return ctx.op("HardSigmoid", {x}, {attr::f("alpha", 1.0f / 6), attr::f("beta", 0.5f)});
}

// HardSwish from opset 14 (`hardSwishOp`); x * hardsigmoid(x) before.
void hardswish(ConvertContext& ctx, bool hardSwishOp) {
  const auto type = ctx.dtype(ctx.out());
  std::string x = ctx.inputAs(ctx.in("self"), type);
  ctx.setOutput(hardSwishOp ? ctx.op("HardSwish", {x}) : ctx.op("Mul", {x, hardSigmoidOf(ctx, x)}), type);
}

void hardsigmoid(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  ctx.setOutput(hardSigmoidOf(ctx, ctx.inputAs(ctx.in("self"), type)), type);
}

// A clamp bound that Clip can take: a number or a one-element tensor known at export time.
bool isStaticScalarBound(const ConvertContext& ctx, const Value* bound) {
  if (!ctx.isStatic(bound)) return false;
  const auto& value = ctx.staticValue(bound);
  return !value.isTensor() || value.toTensor().numel() == 1;
}

// clamp/clip: Clip for bounds known at export time, Max/Min for tensor bounds. Before
// opset 12 (`opset12`: Clip and Max/Min take integers) Clip takes only float in
// onnxruntime, so other dtypes go through Max/Min in double there (integers exact below 2^53).
void clamp(ConvertContext& ctx, const Value* low, const Value* high, bool opset12) {
  const auto type = ctx.dtype(ctx.out());
  const auto work = computeType(type, opset12);
  if (!ctx.given(low)) low = nullptr;
  if (!ctx.given(high)) high = nullptr;
  std::string x = ctx.inputAs(ctx.in("self"), work);
  bool clip = (!low || isStaticScalarBound(ctx, low)) && (!high || isStaticScalarBound(ctx, high)) &&
              (opset12 || work == at::kFloat);
  if (clip) {
    std::vector<std::string> ins{x, low ? ctx.scalar(ctx.toDouble(low), work) : ""};
    if (high) ins.push_back(ctx.scalar(ctx.toDouble(high), work));
    if (ins.back().empty()) ins.pop_back();
    ctx.setOutput(ctx.op("Clip", ins), work);
    return;
  }
  // Lower bound first, then upper: LibTorch gives `high` where low > high.
  if (low) x = ctx.op("Max", {x, ctx.inputAs(low, work)});
  if (high) x = ctx.op("Min", {x, ctx.inputAs(high, work)});
  ctx.setOutput(x, work);
}

void hardtanh(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  double low = doubleArg(ctx, "min_val", -1.0), high = doubleArg(ctx, "max_val", 1.0);
  ctx.setOutput(ctx.op("Clip", {ctx.inputAs(ctx.in("self"), type), ctx.scalar(low, type), ctx.scalar(high, type)}), type);
}

void relu6(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  ctx.setOutput(ctx.op("Clip", {ctx.inputAs(ctx.in("self"), type), ctx.scalar(0, type), ctx.scalar(6, type)}), type);
}

void leakyRelu(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  float slope = static_cast<float>(doubleArg(ctx, "negative_slope", 0.01));
  ctx.setOutput(ctx.op("LeakyRelu", {ctx.inputAs(ctx.in("self"), type)}, {attr::f("alpha", slope)}), type);
}

// aten::elu(x, alpha, scale, input_scale): scale * x above 0, else
// scale * alpha * (exp(input_scale * x) - 1).
void elu(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  float alpha = static_cast<float>(doubleArg(ctx, "alpha", 1.0));
  double scale = doubleArg(ctx, "scale", 1.0), inputScale = doubleArg(ctx, "input_scale", 1.0);
  if (inputScale != 1.0) ctx.unsupported("elu with input_scale != 1");
  std::string y = ctx.op("Elu", {ctx.inputAs(ctx.in("self"), type)}, {attr::f("alpha", alpha)});
  if (scale != 1.0) y = ctx.op("Mul", {y, ctx.scalar(scale, type)});
  ctx.setOutput(y, type);
}

// celu(x, alpha) = alpha * elu(x / alpha); the Celu op exists from opset 12 (`celuOp`).
void celu(ConvertContext& ctx, bool celuOp) {
  const auto type = ctx.dtype(ctx.out());
  double alpha = doubleArg(ctx, "alpha", 1.0);
  std::string x = ctx.inputAs(ctx.in("self"), type);
  if (celuOp && type == at::kFloat) {  // Celu-12 is float-only
    ctx.setOutput(ctx.op("Celu", {x}, {attr::f("alpha", static_cast<float>(alpha))}), type);
    return;
  }
  std::string scaled = ctx.op("Div", {x, ctx.scalar(alpha, type)});
  ctx.setOutput(ctx.op("Mul", {ctx.op("Elu", {scaled}, {attr::f("alpha", 1.0f)}), ctx.scalar(alpha, type)}), type);
}

void selu(ConvertContext& ctx) {
  // ONNX's default alpha and gamma are LibTorch's constants.
  unary(ctx, "Selu");
}

// prelu(x, weight): weight has one element or one per channel (dimension 1); ONNX
// PRelu broadcasts the slope from the trailing dimensions.
void prelu(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  std::string x = ctx.inputAs(ctx.in("self"), type), slope = ctx.inputAs(ctx.in("weight"), type);
  const int64_t rank = ctx.rank(ctx.in("self"));
  const auto& weightSizes = ctx.sizes(ctx.in("weight"));
  int64_t weightCount = 1;
  for (int64_t size : weightSizes) weightCount *= size;
  if (weightCount > 1 && rank >= 2) {
    std::vector<int64_t> shape(static_cast<size_t>(rank - 1), 1);
    shape[0] = weightCount;
    slope = ctx.op("Reshape", {slope, ctx.constInts(shape)});
  }
  ctx.setOutput(ctx.op("PRelu", {x, slope}), type);
}

// glu(x, dim) = a * sigmoid(b), a and b the halves of x along dim.
void glu(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const int64_t rank = ctx.rank(ctx.in("self"));
  const int64_t dim = ConvertContext::normDim(ctx.given("dim") ? ctx.toInt(ctx.in("dim")) : -1, rank);
  const int64_t half = ctx.sizes(ctx.in("self")).at(static_cast<size_t>(dim)) / 2;
  std::string x = ctx.inputAs(ctx.in("self"), type);
  std::string axes = ctx.constInts({dim});
  std::string a = ctx.op("Slice", {x, ctx.constInts({0}), ctx.constInts({half}), axes});
  std::string b = ctx.op("Slice", {x, ctx.constInts({half}), ctx.constInts({2 * half}), axes});
  ctx.setOutput(ctx.op("Mul", {a, ctx.op("Sigmoid", {b})}), type);
}

void softplus(ConvertContext& ctx) {
  // (1/beta) * log(1 + exp(beta * x)); LibTorch switches to x where beta * x > threshold.
  const auto type = ctx.dtype(ctx.out());
  std::string x = ctx.inputAs(ctx.in("self"), type);
  double beta = doubleArg(ctx, "beta", 1.0), threshold = doubleArg(ctx, "threshold", 20.0);
  std::string bx = beta == 1.0 ? x : ctx.op("Mul", {x, ctx.scalar(beta, type)});
  std::string sp = ctx.op("Softplus", {bx});
  if (beta != 1.0) sp = ctx.op("Div", {sp, ctx.scalar(beta, type)});
  std::string above = ctx.op("Greater", {bx, ctx.scalar(threshold, type)});
  ctx.setOutput(ctx.op("Where", {above, x, sp}), type);
}

void logSigmoid(ConvertContext& ctx) {  // -softplus(-x)
  const auto type = ctx.dtype(ctx.out());
  std::string x = ctx.inputAs(ctx.in("self"), type);
  ctx.setOutput(ctx.op("Neg", {ctx.op("Softplus", {ctx.op("Neg", {x})})}), type);
}

// IsInf and IsNaN take float and double only (before opset 20): half types are widened.
std::string inFloatOrDouble(ConvertContext& ctx, const std::string& x, at::ScalarType type) {
  return type == at::kFloat || type == at::kDouble ? x : ctx.cast(x, at::kFloat);
}

// logaddexp(self, other) = log(exp(self) + exp(other)), computed as PyTorch does without
// overflow: max + log(1 + exp(-|self - other|)). Two equal infinities give that infinity
// (their difference is NaN). logaddexp2 is the same in base 2: the difference scaled by
// ln 2 before Exp and the log divided by it after.
void logAddExp(ConvertContext& ctx, bool base2) {
  const auto type = ctx.dtype(ctx.out());
  const std::string a = ctx.inputAs(ctx.in("self"), type);
  const std::string b = ctx.inputAs(ctx.in("other"), type);
  const double ln2 = std::log(2.0);
  std::string gap = ctx.op("Neg", {ctx.op("Abs", {ctx.op("Sub", {a, b})})});
  if (base2) gap = ctx.op("Mul", {gap, ctx.scalar(ln2, type)});
  std::string tail = ctx.op("Log", {ctx.op("Add", {ctx.scalar(1, type), ctx.op("Exp", {gap})})});
  if (base2) tail = ctx.op("Div", {tail, ctx.scalar(ln2, type)});
  const std::string sum = ctx.op("Add", {ctx.op("Max", {a, b}), tail});
  const std::string sameInfinity = ctx.op("And", {ctx.op("IsInf", {inFloatOrDouble(ctx, a, type)}), ctx.op("Equal", {a, b})});
  ctx.setOutput(ctx.op("Where", {sameInfinity, a, sum}), type);
}

// xlogy(self, other) = self * log(other), and 0 where self is 0 unless other is NaN.
void xlogy(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const std::string x = ctx.inputAs(ctx.in("self"), type);
  const std::string y = ctx.inputAs(ctx.in("other"), type);
  const std::string product = ctx.op("Mul", {x, ctx.op("Log", {y})});
  const std::string yIsNaN = ctx.op("IsNaN", {inFloatOrDouble(ctx, y, type)});
  const std::string zeroX = ctx.op("And", {ctx.op("Equal", {x, ctx.scalar(0, type)}), ctx.op("Not", {yIsNaN})});
  ctx.setOutput(ctx.op("Where", {zeroX, ctx.scalar(0, type), product}), type);
}

// threshold(x, threshold, value): x where x > threshold, else value.
void threshold(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  std::string x = ctx.inputAs(ctx.in("self"), type);
  std::string above = ctx.op("Greater", {x, ctx.inputAs(ctx.in("threshold"), type)});
  ctx.setOutput(ctx.op("Where", {above, x, ctx.inputAs(ctx.in("value"), type)}), type);
}

// ONNX Shrink: hardshrink with bias 0, softshrink with bias lambda.
void shrink(ConvertContext& ctx, bool soft) {
  const auto type = ctx.dtype(ctx.out());
  float lambd = static_cast<float>(doubleArg(ctx, "lambd", 0.5));
  ctx.setOutput(ctx.op("Shrink", {ctx.inputAs(ctx.in("self"), type)},
                       {attr::f("lambd", lambd), attr::f("bias", soft ? lambd : 0.0f)}),
                type);
}

// logit(p, eps) = log(p / (1 - p)), p clamped to [eps, 1 - eps] when eps is given.
void logit(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  std::string p = ctx.inputAs(ctx.in("self"), type);
  if (ctx.given("eps")) {
    double eps = ctx.toDouble(ctx.in("eps"));
    p = ctx.op("Clip", {p, ctx.scalar(eps, type), ctx.scalar(1.0 - eps, type)});
  }
  std::string oneMinus = ctx.op("Sub", {ctx.scalar(1, type), p});
  ctx.setOutput(ctx.op("Log", {ctx.op("Div", {p, oneMinus})}), type);
}

// Floating point view of x for the IsNaN/IsInf family (integers are never nan or inf).
std::string floatingInput(ConvertContext& ctx) {
  const Value* x = firstOperand(ctx);  // isnan.float(a) too
  const auto type = ctx.dtype(x);
  return ctx.inputAs(x, at::isFloatingType(type) ? type : at::kFloat);
}

void isFinite(ConvertContext& ctx) {  // x - x is NaN exactly for nan and +-inf
  std::string x = floatingInput(ctx);
  ctx.setOutput(ctx.op("Not", {ctx.op("IsNaN", {ctx.op("Sub", {x, x})})}), at::kBool);
}

// nan_to_num(x, nan=0, posinf=max, neginf=lowest) with the dtype's finite extremes.
void nanToNum(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  if (!at::isFloatingType(type)) {
    identity(ctx);
    return;
  }
  const double largest = type == at::kDouble ? std::numeric_limits<double>::max()
                         : type == at::kHalf ? 65504.0
                                             : std::numeric_limits<float>::max();
  std::string x = ctx.inputAs(ctx.in("self"), type);
  std::string posInf = ctx.op("IsInf", {x}, {attr::i("detect_negative", 0)});
  std::string negInf = ctx.op("IsInf", {x}, {attr::i("detect_positive", 0)});
  std::string y = ctx.op("Where", {ctx.op("IsNaN", {x}), ctx.scalar(doubleArg(ctx, "nan", 0.0), type), x});
  y = ctx.op("Where", {posInf, ctx.scalar(doubleArg(ctx, "posinf", largest), type), y});
  y = ctx.op("Where", {negInf, ctx.scalar(doubleArg(ctx, "neginf", -largest), type), y});
  ctx.setOutput(y, type);
}

// addcmul/addcdiv(self, t1, t2, value): self + value * (t1 op t2).
void addcombined(ConvertContext& ctx, const std::string& opType) {
  const auto type = ctx.dtype(ctx.out());
  std::string product = ctx.op(opType, {ctx.inputAs(ctx.in("tensor1"), type), ctx.inputAs(ctx.in("tensor2"), type)});
  double value = doubleArg(ctx, "value", 1.0);
  if (value != 1.0) product = ctx.op("Mul", {product, ctx.scalar(value, type)});
  ctx.setOutput(ctx.op("Add", {ctx.inputAs(ctx.in("self"), type), product}), type);
}

void lerp(ConvertContext& ctx) {  // start + weight * (end - start)
  const auto type = ctx.dtype(ctx.out());
  std::string start = ctx.inputAs(ctx.in("self"), type);
  std::string difference = ctx.op("Sub", {ctx.inputAs(ctx.in("end"), type), start});
  ctx.setOutput(ctx.op("Add", {start, ctx.op("Mul", {ctx.inputAs(ctx.in("weight"), type), difference})}), type);
}

void where(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  ctx.setOutput(ctx.op("Where", {ctx.inputAs(ctx.in("condition"), at::kBool), ctx.inputAs(ctx.in("self"), type),
                                 ctx.inputAs(ctx.in("other"), type)}),
                type);
}

void maskedFill(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  ctx.setOutput(ctx.op("Where", {ctx.inputAs(ctx.in("mask"), at::kBool), ctx.inputAs(ctx.in("value"), type),
                                 ctx.inputAs(ctx.in("self"), type)}),
                type);
}

}  // namespace

void registerElementwiseConverters(ConverterRegistry& r) {
  const OpFacts arithmetic = keepsSize(KeepsInputSize::SameSizeOperand);
  r.add("aten::add", [](ConvertContext& c) { addOrSub(c, "Add"); }, arithmetic);
  r.add("aten::sub", [](ConvertContext& c) { addOrSub(c, "Sub"); }, arithmetic);
  r.add("aten::rsub", rsub);
  r.add("aten::mul", [](ConvertContext& c) { binary(c, "Mul", "And"); }, arithmetic);
  r.add("aten::div", div, arithmetic);
  // Rounding modes divide integers, and may fail: no stand-in.
  for (const char* mode : {"aten::div.Tensor_mode", "aten::div.Scalar_mode"}) r.declare(mode, {});
  // In-place forms convert as their out-of-place ones (graph_converter.cpp).
  for (const char* kind : {"aten::add_", "aten::sub_", "aten::mul_", "aten::div_"}) r.declare(kind, arithmetic);
  for (const char* mode : {"aten::div_.Tensor_mode", "aten::div_.Scalar_mode"}) r.declare(mode, {});
  r.add("aten::true_divide", [](ConvertContext& c) { binary(c, "Div", ""); });
  r.add("aten::floor_divide", [](ConvertContext& c) { roundedDivide(c, "floor"); });
  // a // b on ints that are sizes only known at run time (dynamic axes).
  r.add("aten::floordiv", [](ConvertContext& c) { roundedDivide(c, "floor"); });
  r.add("aten::remainder", remainder);
  r.add("aten::fmod", fmod);
  // Pow takes integer bases, Min/Max integers, from opset 12 (Pow's exponent is converted to
  // the base's type); on bools Min/Max are and/or.
  auto integersFrom12 = [](const char* opType, const char* boolOpType, const char* second) {
    return OpsetForms{{kMinOpset, [=](ConvertContext& c) { binary(c, opType, boolOpType, false, second); }},
                      {12, [=](ConvertContext& c) { binary(c, opType, boolOpType, true, second); }}};
  };
  r.add("aten::pow", integersFrom12("Pow", "", "exponent"), dataBlind());
  r.add("aten::minimum", integersFrom12("Min", "And", "other"), dataBlind());
  r.add("aten::maximum", integersFrom12("Max", "Or", "other"), dataBlind());
  // min(a, b) / max(a, b) of two ints known only at run time (a count kept by nms).
  r.add("prim::min.int", integersFrom12("Min", "And", "other"));
  r.add("prim::max.int", integersFrom12("Max", "Or", "other"));
  r.add("aten::eq", [](ConvertContext& c) { compare(c, Comparison::Eq, false); });
  r.add("aten::ne", [](ConvertContext& c) { compare(c, Comparison::Ne, false); });
  r.add("aten::lt", [](ConvertContext& c) { compare(c, Comparison::Lt, false); });
  r.add("aten::gt", [](ConvertContext& c) { compare(c, Comparison::Gt, false); });
  // LessOrEqual and GreaterOrEqual from opset 12.
  r.add("aten::le", OpsetForms{{kMinOpset, [](ConvertContext& c) { compare(c, Comparison::Le, false); }},
                               {12, [](ConvertContext& c) { compare(c, Comparison::Le, true); }}});
  r.add("aten::ge", OpsetForms{{kMinOpset, [](ConvertContext& c) { compare(c, Comparison::Ge, false); }},
                               {12, [](ConvertContext& c) { compare(c, Comparison::Ge, true); }}});
  r.add("aten::logical_and", [](ConvertContext& c) { logical(c, "And"); });
  r.add("aten::logical_or", [](ConvertContext& c) { logical(c, "Or"); });
  r.add("aten::logical_xor", [](ConvertContext& c) { logical(c, "Xor"); });
  r.add("aten::logical_not", [](ConvertContext& c) { logical(c, "Not"); });
  for (const char* kind : {"aten::__and__", "aten::bitwise_and"})
    r.add(kind, [](ConvertContext& c) { bitwise(c, "And"); });
  for (const char* kind : {"aten::__or__", "aten::bitwise_or"})
    r.add(kind, [](ConvertContext& c) { bitwise(c, "Or"); });
  for (const char* kind : {"aten::__xor__", "aten::bitwise_xor"})
    r.add(kind, [](ConvertContext& c) { bitwise(c, "Xor"); });
  r.add("aten::bitwise_not", [](ConvertContext& c) { bitwise(c, "Not"); });
  const OpFacts same = keepsSize();
  const std::tuple<const char*, const char*, OpFacts> floatUnaries[] = {
      {"aten::sigmoid", "Sigmoid", same}, {"aten::tanh", "Tanh", same}, {"aten::exp", "Exp", same},
      {"aten::log", "Log", same},         {"aten::sqrt", "Sqrt", same}, {"aten::reciprocal", "Reciprocal", same},
      {"aten::erf", "Erf", same},         {"aten::sin", "Sin", {}},     {"aten::cos", "Cos", {}},
      {"aten::tan", "Tan", {}},           {"aten::atan", "Atan", {}},   {"aten::asin", "Asin", {}},
      {"aten::acos", "Acos", {}},         {"aten::sinh", "Sinh", {}},   {"aten::cosh", "Cosh", {}}};
  for (const auto& [kind, opType, facts] : floatUnaries) {
    std::string op = opType;
    r.add(kind, [op](ConvertContext& c) { unary(c, op); }, facts);
  }
  // Abs, Neg and Sign take integers at every opset we write; Relu from opset 14.
  r.add("aten::abs", [](ConvertContext& c) { unary(c, "Abs", true); }, same);
  r.add("aten::neg", [](ConvertContext& c) { unary(c, "Neg", true); }, same);
  r.add("aten::sign", [](ConvertContext& c) { unary(c, "Sign", true); });
  // Relu-14 allows integers, but onnxruntime implements it for float and double only.
  r.add("aten::relu", [](ConvertContext& c) { unary(c, "Relu"); }, same);
  r.add("aten::floor", [](ConvertContext& c) { rounding(c, "Floor"); });
  r.add("aten::ceil", [](ConvertContext& c) { rounding(c, "Ceil"); });
  r.add("aten::round", round);
  r.add("aten::trunc", trunc);
  r.add("aten::fix", trunc);
  r.add("aten::frac", frac);
  r.add("aten::log1p", log1p);
  r.add("aten::expm1", expm1);
  r.add("aten::log2", [](ConvertContext& c) { logBase(c, 2.0); });
  r.add("aten::log10", [](ConvertContext& c) { logBase(c, 10.0); });
  r.add("aten::exp2", exp2);
  r.add("aten::rsqrt", rsqrt, same);
  r.add("aten::square", square, dataBlind());
  r.add("aten::gelu", gelu, same);
  r.add("aten::silu", silu, same);
  r.add("aten::mish", mish, same);
  r.add("aten::hardswish", OpsetForms{{kMinOpset, [](ConvertContext& c) { hardswish(c, false); }},
                                       {14, [](ConvertContext& c) { hardswish(c, true); }}},
        same);
  r.add("aten::hardsigmoid", hardsigmoid, same);
  r.add("aten::hardtanh", hardtanh, same);
  r.add("aten::relu6", relu6, same);
  r.add("aten::leaky_relu", leakyRelu, same);
  r.add("aten::elu", elu, same);
  r.add("aten::celu", OpsetForms{{kMinOpset, [](ConvertContext& c) { celu(c, false); }},
                                 {12, [](ConvertContext& c) { celu(c, true); }}});
  r.add("aten::selu", selu);
  r.add("aten::prelu", prelu);
  r.add("aten::glu", glu);
  r.add("aten::softplus", softplus, same);
  r.add("aten::log_sigmoid", logSigmoid);
  r.add("aten::threshold", threshold);
  r.add("aten::hardshrink", [](ConvertContext& c) { shrink(c, false); });
  r.add("aten::softshrink", [](ConvertContext& c) { shrink(c, true); });
  r.add("aten::logit", logit);
  // Broadcasting binary math: sizes follow the inputs' (dataBlind), never fails on data.
  r.add("aten::logaddexp", [](ConvertContext& c) { logAddExp(c, false); }, dataBlind());
  r.add("aten::logaddexp2", [](ConvertContext& c) { logAddExp(c, true); }, dataBlind());
  r.add("aten::xlogy", xlogy, dataBlind());  // Tensor, Scalar_Self, Scalar_Other
  r.add("aten::isnan", [](ConvertContext& c) { c.setOutput(c.op("IsNaN", {floatingInput(c)}), at::kBool); });
  r.add("aten::isinf", [](ConvertContext& c) { c.setOutput(c.op("IsInf", {floatingInput(c)}), at::kBool); });
  r.add("aten::isfinite", isFinite);
  r.add("aten::nan_to_num", nanToNum);
  r.add("aten::addcmul", [](ConvertContext& c) { addcombined(c, "Mul"); });
  r.add("aten::addcdiv", [](ConvertContext& c) { addcombined(c, "Div"); });
  r.add("aten::lerp", lerp);
  const OpFacts bounded = keepsSize(KeepsInputSize::NumberBounds);
  // Clip and Max/Min take integers from opset 12.
  auto clampForms = [](const char* low, const char* high) {
    auto convert = [low, high](ConvertContext& c, bool opset12) {
      clamp(c, low ? c.in(low) : nullptr, high ? c.in(high) : nullptr, opset12);
    };
    return OpsetForms{{kMinOpset, [convert](ConvertContext& c) { convert(c, false); }},
                      {12, [convert](ConvertContext& c) { convert(c, true); }}};
  };
  r.add("aten::clamp", clampForms("min", "max"), bounded);
  r.add("aten::clip", clampForms("min", "max"));
  r.add("aten::clamp_min", clampForms("min", nullptr), bounded);
  r.add("aten::clamp_max", clampForms(nullptr, "max"), bounded);
  // The three-argument overloads; where(condition), the overload with no name, is
  // nonzero's (index_converters.cpp): its size depends on the data.
  r.add("aten::where", where);
  for (const char* overload : {"aten::where.self", "aten::where.ScalarSelf", "aten::where.ScalarOther", "aten::where.Scalar"})
    r.declare(overload, dataBlind());
  r.add("aten::masked_fill", maskedFill, dataBlind());
  for (const char* kind : {"aten::relu_", "aten::silu_", "aten::sigmoid_", "aten::tanh_", "aten::hardtanh_",
                           "aten::hardswish_", "aten::hardsigmoid_", "aten::leaky_relu_", "aten::elu_"})
    r.declare(kind, same);
  r.declare("aten::clamp_", bounded);
}

}  // namespace modelexport

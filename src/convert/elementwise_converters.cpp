// Elementwise arithmetic, comparisons, logic and activations.
#include <cmath>

#include "modelexport/convert_context.h"

namespace modelexport {
namespace {

using torch::jit::Value;

// Both operands in the result dtype LibTorch computed.
void binary(ConvertContext& ctx, const std::string& opType) {
  const auto type = ctx.dtype(ctx.out());
  ctx.setOutput(ctx.op(opType, {ctx.inputAs(ctx.in(0), type), ctx.inputAs(ctx.in(1), type)}), type);
}

// b scaled by alpha, when aten::add/sub pass an alpha other than 1.
std::string scaledByAlpha(ConvertContext& ctx, const std::string& b, at::ScalarType type) {
  if (ctx.node()->inputs().size() < 3 || ctx.isNone(ctx.in(2))) return b;
  double alpha = ctx.toDouble(ctx.in(2));
  return alpha == 1.0 ? b : ctx.op("Mul", {b, ctx.scalar(alpha, type)});
}

void addOrSub(ConvertContext& ctx, const std::string& opType) {
  const auto type = ctx.dtype(ctx.out());
  std::string a = ctx.inputAs(ctx.in(0), type);
  std::string b = scaledByAlpha(ctx, ctx.inputAs(ctx.in(1), type), type);
  ctx.setOutput(ctx.op(opType, {a, b}), type);
}

void rsub(ConvertContext& ctx) {  // other - alpha * self
  const auto type = ctx.dtype(ctx.out());
  std::string a = scaledByAlpha(ctx, ctx.inputAs(ctx.in(0), type), type);
  ctx.setOutput(ctx.op("Sub", {ctx.inputAs(ctx.in(1), type), a}), type);
}

void div(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  std::string mode;
  if (ctx.node()->inputs().size() > 2 && !ctx.isNone(ctx.in(2))) mode = ctx.staticValue(ctx.in(2)).toStringRef();
  if (mode.empty()) {
    binary(ctx, "Div");
    return;
  }
  // Rounded division: divide in floating point, then round toward zero or down.
  const auto work = at::isFloatingType(type) ? type : at::kDouble;
  std::string q = ctx.op("Div", {ctx.inputAs(ctx.in(0), work), ctx.inputAs(ctx.in(1), work)});
  if (mode == "floor") {
    q = ctx.op("Floor", {q});
  } else if (mode == "trunc") {
    // trunc(q) = sign(q) * floor(|q|)
    q = ctx.op("Mul", {ctx.op("Sign", {q}), ctx.op("Floor", {ctx.op("Abs", {q})})});
  } else {
    ctx.unsupported("rounding_mode '" + mode + "'");
  }
  ctx.setOutput(q, work);
}

void floorDivide(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const auto work = at::isFloatingType(type) ? type : at::kDouble;
  std::string q = ctx.op("Div", {ctx.inputAs(ctx.in(0), work), ctx.inputAs(ctx.in(1), work)});
  ctx.setOutput(ctx.op("Floor", {q}), work);
}

void remainder(ConvertContext& ctx) {  // Python modulo: result has the divisor's sign
  const auto type = ctx.dtype(ctx.out());
  std::string a = ctx.inputAs(ctx.in(0), type), b = ctx.inputAs(ctx.in(1), type);
  if (!at::isFloatingType(type)) {
    ctx.setOutput(ctx.op("Mod", {a, b}, {attr::i("fmod", 0)}), type);
    return;
  }
  std::string floored = ctx.op("Floor", {ctx.op("Div", {a, b})});
  ctx.setOutput(ctx.op("Sub", {a, ctx.op("Mul", {floored, b})}), type);
}

void compare(ConvertContext& ctx, const std::string& opType, bool negate) {
  const auto type = ctx.promotedType({ctx.in(0), ctx.in(1)});
  std::string r = ctx.op(opType, {ctx.inputAs(ctx.in(0), type), ctx.inputAs(ctx.in(1), type)});
  if (negate) r = ctx.op("Not", {r});
  ctx.setOutput(r, at::kBool);
}

void logical(ConvertContext& ctx, const std::string& opType) {
  std::vector<std::string> ins;
  for (size_t i = 0; i < (opType == "Not" ? 1u : 2u); ++i) ins.push_back(ctx.inputAs(ctx.in(i), at::kBool));
  ctx.setOutput(ctx.op(opType, ins), at::kBool);
}

void unary(ConvertContext& ctx, const std::string& opType) {
  const auto type = ctx.dtype(ctx.out());
  ctx.setOutput(ctx.op(opType, {ctx.inputAs(ctx.in(0), type)}), type);
}

void rsqrt(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  ctx.setOutput(ctx.op("Reciprocal", {ctx.op("Sqrt", {ctx.inputAs(ctx.in(0), type)})}), type);
}

void square(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  std::string x = ctx.inputAs(ctx.in(0), type);
  ctx.setOutput(ctx.op("Mul", {x, x}), type);
}

void gelu(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  std::string x = ctx.inputAs(ctx.in(0), type);
  std::string approximate = "none";
  if (ctx.node()->inputs().size() > 1) approximate = ctx.staticValue(ctx.in(1)).toStringRef();
  if (approximate == "tanh") {
    // 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
    std::string cube = ctx.op("Pow", {x, ctx.scalar(3.0, type)});
    std::string inner = ctx.op("Add", {x, ctx.op("Mul", {cube, ctx.scalar(0.044715, type)})});
    std::string t = ctx.op("Tanh", {ctx.op("Mul", {inner, ctx.scalar(std::sqrt(2.0 / M_PI), type)})});
    std::string onePlus = ctx.op("Add", {t, ctx.scalar(1.0, type)});
    ctx.setOutput(ctx.op("Mul", {ctx.op("Mul", {x, ctx.scalar(0.5, type)}), onePlus}), type);
    return;
  }
  // x * 0.5 * (1 + erf(x / sqrt(2)))
  std::string e = ctx.op("Erf", {ctx.op("Div", {x, ctx.scalar(std::sqrt(2.0), type)})});
  std::string onePlus = ctx.op("Add", {e, ctx.scalar(1.0, type)});
  ctx.setOutput(ctx.op("Mul", {ctx.op("Mul", {x, onePlus}), ctx.scalar(0.5, type)}), type);
}

void silu(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  std::string x = ctx.inputAs(ctx.in(0), type);
  ctx.setOutput(ctx.op("Mul", {x, ctx.op("Sigmoid", {x})}), type);
}

void mish(ConvertContext& ctx) {  // x * tanh(softplus(x))
  const auto type = ctx.dtype(ctx.out());
  std::string x = ctx.inputAs(ctx.in(0), type);
  ctx.setOutput(ctx.op("Mul", {x, ctx.op("Tanh", {ctx.op("Softplus", {x})})}), type);
}

void hardswish(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  std::string x = ctx.inputAs(ctx.in(0), type);
  if (ctx.opset() >= 14) {
    ctx.setOutput(ctx.op("HardSwish", {x}), type);
    return;
  }
  std::string hs = ctx.op("HardSigmoid", {x}, {attr::f("alpha", 1.0f / 6), attr::f("beta", 0.5f)});
  ctx.setOutput(ctx.op("Mul", {x, hs}), type);
}

void hardsigmoid(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  ctx.setOutput(ctx.op("HardSigmoid", {ctx.inputAs(ctx.in(0), type)},
                       {attr::f("alpha", 1.0f / 6), attr::f("beta", 0.5f)}),
                type);
}

// Clip with optional bounds given as inputs (opset 11+).
void clip(ConvertContext& ctx, const Value* low, const Value* high) {
  const auto type = ctx.dtype(ctx.out());
  std::vector<std::string> ins{ctx.inputAs(ctx.in(0), type)};
  ins.push_back(low && !ctx.isNone(low) ? ctx.inputAs(low, type) : "");
  ins.push_back(high && !ctx.isNone(high) ? ctx.inputAs(high, type) : "");
  while (ins.back().empty()) ins.pop_back();
  ctx.setOutput(ctx.op("Clip", ins), type);
}

void hardtanh(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  double low = ctx.node()->inputs().size() > 1 ? ctx.toDouble(ctx.in(1)) : -1.0;
  double high = ctx.node()->inputs().size() > 2 ? ctx.toDouble(ctx.in(2)) : 1.0;
  ctx.setOutput(ctx.op("Clip", {ctx.inputAs(ctx.in(0), type), ctx.scalar(low, type), ctx.scalar(high, type)}), type);
}

void relu6(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  ctx.setOutput(ctx.op("Clip", {ctx.inputAs(ctx.in(0), type), ctx.scalar(0, type), ctx.scalar(6, type)}), type);
}

void leakyRelu(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  float slope = ctx.node()->inputs().size() > 1 ? static_cast<float>(ctx.toDouble(ctx.in(1))) : 0.01f;
  ctx.setOutput(ctx.op("LeakyRelu", {ctx.inputAs(ctx.in(0), type)}, {attr::f("alpha", slope)}), type);
}

void elu(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  float alpha = ctx.node()->inputs().size() > 1 ? static_cast<float>(ctx.toDouble(ctx.in(1))) : 1.0f;
  ctx.setOutput(ctx.op("Elu", {ctx.inputAs(ctx.in(0), type)}, {attr::f("alpha", alpha)}), type);
}

void softplus(ConvertContext& ctx) {
  // (1/beta) * log(1 + exp(beta * x)); LibTorch switches to x above `threshold`.
  const auto type = ctx.dtype(ctx.out());
  std::string x = ctx.inputAs(ctx.in(0), type);
  double beta = ctx.node()->inputs().size() > 1 ? ctx.toDouble(ctx.in(1)) : 1.0;
  double threshold = ctx.node()->inputs().size() > 2 ? ctx.toDouble(ctx.in(2)) : 20.0;
  std::string bx = beta == 1.0 ? x : ctx.op("Mul", {x, ctx.scalar(beta, type)});
  std::string sp = ctx.op("Softplus", {bx});
  if (beta != 1.0) sp = ctx.op("Div", {sp, ctx.scalar(beta, type)});
  std::string above = ctx.op("Greater", {bx, ctx.scalar(threshold, type)});
  ctx.setOutput(ctx.op("Where", {above, x, sp}), type);
}

void where(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  ctx.setOutput(ctx.op("Where", {ctx.inputAs(ctx.in(0), at::kBool), ctx.inputAs(ctx.in(1), type),
                                 ctx.inputAs(ctx.in(2), type)}),
                type);
}

void maskedFill(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  ctx.setOutput(ctx.op("Where", {ctx.inputAs(ctx.in(1), at::kBool), ctx.inputAs(ctx.in(2), type),
                                 ctx.inputAs(ctx.in(0), type)}),
                type);
}

void pow(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  // ONNX Pow takes any numeric exponent type; keep the base in the result type.
  ctx.setOutput(ctx.op("Pow", {ctx.inputAs(ctx.in(0), type), ctx.inputAs(ctx.in(1), type)}), type);
}

}  // namespace

void registerElementwiseConverters(ConverterRegistry& r) {
  r.add("aten::add", [](ConvertContext& c) { addOrSub(c, "Add"); });
  r.add("aten::sub", [](ConvertContext& c) { addOrSub(c, "Sub"); });
  r.add("aten::rsub", rsub);
  r.add("aten::mul", [](ConvertContext& c) { binary(c, "Mul"); });
  r.add("aten::div", div);
  r.add("aten::true_divide", [](ConvertContext& c) { binary(c, "Div"); });
  r.add("aten::floor_divide", floorDivide);
  r.add("aten::remainder", remainder);
  r.add("aten::fmod", [](ConvertContext& c) {
    const auto type = c.dtype(c.out());
    c.setOutput(c.op("Mod", {c.inputAs(c.in(0), type), c.inputAs(c.in(1), type)}, {attr::i("fmod", 1)}), type);
  });
  r.add("aten::pow", pow);
  r.add("aten::minimum", [](ConvertContext& c) { binary(c, "Min"); });
  r.add("aten::maximum", [](ConvertContext& c) { binary(c, "Max"); });
  r.add("aten::eq", [](ConvertContext& c) { compare(c, "Equal", false); });
  r.add("aten::ne", [](ConvertContext& c) { compare(c, "Equal", true); });
  r.add("aten::lt", [](ConvertContext& c) { compare(c, "Less", false); });
  r.add("aten::gt", [](ConvertContext& c) { compare(c, "Greater", false); });
  r.add("aten::le", [](ConvertContext& c) { compare(c, "Greater", true); });
  r.add("aten::ge", [](ConvertContext& c) { compare(c, "Less", true); });
  r.add("aten::logical_and", [](ConvertContext& c) { logical(c, "And"); });
  r.add("aten::logical_or", [](ConvertContext& c) { logical(c, "Or"); });
  r.add("aten::logical_xor", [](ConvertContext& c) { logical(c, "Xor"); });
  r.add("aten::logical_not", [](ConvertContext& c) { logical(c, "Not"); });
  r.add("aten::__and__", [](ConvertContext& c) { logical(c, "And"); });
  r.add("aten::__or__", [](ConvertContext& c) { logical(c, "Or"); });
  r.add("aten::bitwise_not", [](ConvertContext& c) {
    if (c.dtype(c.in(0)) != at::kBool) c.unsupported("bitwise_not on integers");
    logical(c, "Not");
  });
  const std::pair<const char*, const char*> unaries[] = {
      {"aten::relu", "Relu"},   {"aten::sigmoid", "Sigmoid"}, {"aten::tanh", "Tanh"},
      {"aten::exp", "Exp"},     {"aten::log", "Log"},         {"aten::sqrt", "Sqrt"},
      {"aten::neg", "Neg"},     {"aten::abs", "Abs"},         {"aten::reciprocal", "Reciprocal"},
      {"aten::erf", "Erf"},     {"aten::sin", "Sin"},         {"aten::cos", "Cos"},
      {"aten::floor", "Floor"}, {"aten::ceil", "Ceil"},       {"aten::round", "Round"},
      {"aten::sign", "Sign"},   {"aten::tan", "Tan"},         {"aten::atan", "Atan"},
      {"aten::asin", "Asin"},   {"aten::acos", "Acos"},       {"aten::sinh", "Sinh"},
      {"aten::cosh", "Cosh"}};
  for (const auto& [kind, opType] : unaries) {
    std::string op = opType;
    r.add(kind, [op](ConvertContext& c) { unary(c, op); });
  }
  r.add("aten::rsqrt", rsqrt);
  r.add("aten::square", square);
  r.add("aten::gelu", gelu);
  r.add("aten::silu", silu);
  r.add("aten::mish", mish);
  r.add("aten::hardswish", hardswish);
  r.add("aten::hardsigmoid", hardsigmoid);
  r.add("aten::hardtanh", hardtanh);
  r.add("aten::relu6", relu6);
  r.add("aten::leaky_relu", leakyRelu);
  r.add("aten::elu", elu);
  r.add("aten::softplus", softplus);
  r.add("aten::clamp", [](ConvertContext& c) { clip(c, c.in(1), c.in(2)); });
  r.add("aten::clip", [](ConvertContext& c) { clip(c, c.in(1), c.in(2)); });
  r.add("aten::clamp_min", [](ConvertContext& c) { clip(c, c.in(1), nullptr); });
  r.add("aten::clamp_max", [](ConvertContext& c) { clip(c, nullptr, c.in(1)); });
  r.add("aten::where", where);
  r.add("aten::masked_fill", maskedFill);
}

}  // namespace modelexport

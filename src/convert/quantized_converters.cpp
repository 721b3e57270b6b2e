// Quantized models (torch.ao eager mode and FX, after convert) as QDQ: a quantized
// TorchScript value is carried in ONNX as its dequantized float tensor, the output of a
// QuantizeLinear -> DequantizeLinear pair with the scale and zero point LibTorch gave it
// (ValueFact::qScale). Each quantized op computes in float on those values (convolution
// and Linear on their int8 weights through a DequantizeLinear) and rounds its result
// with its own output scale, as LibTorch's kernels requantize. A float op LibTorch runs
// on a quantized tensor (pooling, flatten, relu) is rounded after it the same way
// (requantizeResults). quantized::linear_dynamic quantizes its input with the scale it
// computes from the input's range at run time, as fbgemm does, and multiplies integers
// (MatMulInteger).
#include <ATen/native/quantized/PackedParams.h>

#include "modelexport/convert_context.h"
#include "modelexport/converter_helpers.h"

namespace modelexport {
namespace {

// The ONNX integer type of a quantized dtype's values (the zero point's type).
at::ScalarType storageType(ConvertContext& ctx, at::ScalarType quantized) {
  if (quantized == at::kQUInt8) return at::kByte;
  if (quantized == at::kQInt8) return at::kChar;
  ctx.unsupported(std::string("a quantized tensor of dtype ") + c10::toString(quantized) +
                  " (QuantizeLinear writes 8-bit integers)");
}

// The float tensor `x` rounded to the grid of `v`'s quantization: Q then DQ.
std::string roundToGrid(ConvertContext& ctx, const std::string& x, const torch::jit::Value* v) {
  const ValueFact& f = ctx.fact(v);
  if (!f.isTensor || f.qScale <= 0) ctx.unsupported("a quantized result that is not per-tensor affine");
  const std::string scale = ctx.scalar(f.qScale, at::kFloat);
  const std::string zeroPoint = ctx.scalar(static_cast<double>(f.qZeroPoint), storageType(ctx, f.dtype));
  return ctx.op("DequantizeLinear", {ctx.op("QuantizeLinear", {x, scale, zeroPoint}), scale, zeroPoint});
}

void bindRounded(ConvertContext& ctx, const std::string& x) { ctx.setOutput(roundToGrid(ctx, x, ctx.out()), at::kFloat); }

// A packed-parameter path ("conv._packed_params", "fc._packed_params._packed_params")
// as the module's path, for initializer names.
std::string weightHint(ConvertContext& ctx, const torch::jit::Value* packed) {
  std::string hint = ctx.nameHint(packed);
  const std::string suffix = "._packed_params";
  while (hint.size() > suffix.size() && hint.compare(hint.size() - suffix.size(), suffix.size(), suffix) == 0)
    hint.resize(hint.size() - suffix.size());
  return hint;
}

// quantize_per_tensor(x, scale, zero_point, dtype), with numbers or (FX) 0-d tensors: the
// recorded result's scale and zero point are the arguments.
// The .dynamic overload picks its scale from the data (not known at export time) and
// .tensors makes a list: neither has a converter.
// The levels are LibTorch's: it rounds (half to even) the float32 fma(x, 1 / scale,
// zero_point), the float reciprocal of the scale and the zero point added before the
// rounding, then saturates. Here: the exact product and sum in double (a float32 product
// fits in a double's 53 bits), rounded to float32 once as the fma does, then QuantizeLinear
// with scale 1 and zero point 0 for the rounding and saturation. A QuantizeLinear with the
// scale and zero point divides by the scale and adds the zero point after rounding: a
// level differs by one where x / scale is near a half (for an odd zero point at every
// exact half), about one element of a 224x224 image, and such steps grow over a deep
// network (a torch 1.13 quantized MobileNetV2: 5 output steps off).
void quantizePerTensor(ConvertContext& ctx) {
  const std::string overload = ctx.node()->schema().overload_name();
  if (!overload.empty() && overload != "tensor_qparams")
    ctx.unsupported("the " + overload + " overload (only a given scale and zero point convert)");
  const ValueFact& f = ctx.fact(ctx.out());
  if (!f.isTensor || f.qScale <= 0) ctx.unsupported("a quantized result that is not per-tensor affine");
  const at::ScalarType storage = storageType(ctx, f.dtype);
  const double zp = static_cast<double>(f.qZeroPoint);
  const std::string shifted =
      ctx.op("Add", {ctx.op("Mul", {ctx.inputAs(ctx.in("self"), at::kDouble),
                                    ctx.scalar(1.0f / static_cast<float>(f.qScale), at::kDouble)}),
                     ctx.scalar(zp, at::kDouble)});
  const std::string level =
      ctx.op("QuantizeLinear", {ctx.cast(shifted, at::kFloat), ctx.scalar(1.0, at::kFloat), ctx.scalar(0, storage)});
  ctx.setOutput(ctx.op("DequantizeLinear", {level, ctx.scalar(f.qScale, at::kFloat), ctx.scalar(zp, storage)}),
                at::kFloat);
}

// The carried tensor is already the dequantized float.
void dequantize(ConvertContext& ctx) { ctx.setOutput(ctx.input(ctx.in("self")), at::kFloat); }

const c10::IValue& packedParams(ConvertContext& ctx, const torch::jit::Value* v) {
  if (!ctx.isStatic(v)) ctx.unsupported("packed weights that are not known at export time");
  const c10::IValue& packed = ctx.staticValue(v);
  if (!packed.isObject()) ctx.unsupported("packed weights that are not a packed-parameter object");
  return packed;
}

// The levels of a quantized input (uint8): its carried float quantized again with its own
// scale and zero point, which gives back the integers LibTorch holds exactly.
std::string levelsOf(ConvertContext& ctx, const torch::jit::Value* v) {
  const ValueFact& f = ctx.fact(v);
  if (!f.isTensor || f.qScale <= 0) ctx.unsupported("a quantized input that is not per-tensor affine");
  if (f.dtype != at::kQUInt8)
    ctx.unsupported(std::string("a quantized convolution or Linear on ") + c10::toString(f.dtype) +
                    " activations (only quint8 converts)");
  return ctx.op("QuantizeLinear", {ctx.input(v), ctx.scalar(f.qScale, at::kFloat),
                                   ctx.scalar(static_cast<double>(f.qZeroPoint), at::kByte)});
}

// fbgemm's requantization of an int32 accumulator (ReQuantizeOutput with a float bias), in
// float32 as it computes it: act_times_w_scale = x_scale * w_scale[c], raw = acc +
// bias[c] / act_times_w_scale, level = zp + rint(raw * (act_times_w_scale / y_scale)),
// clamped to [relu ? zp : 0, 255]. The constants are computed here in float as fbgemm does,
// and the graph's Add/Mul/Round are float32 operations, so the levels are LibTorch's
// exactly (float rounding of the sums and a Q/DQ pair on a float product are not:
// they move a level by one near ties, and such steps grow over a deep network).
// `channelShape` is the per-channel constants' shape ([C, 1, 1] for a convolution's NCHW
// output, [C] for a Linear's last dim). The result is carried as the dequantized level.
std::string requantizeAccumulator(ConvertContext& ctx, const std::string& acc, const torch::jit::Value* input,
                                  const at::Tensor& weight, const c10::optional<at::Tensor>& bias, bool relu,
                                  const std::vector<int64_t>& channelShape, const std::string& hint) {
  const float xScale = static_cast<float>(ctx.fact(input).qScale);
  const ValueFact& out = ctx.fact(ctx.out());
  if (!out.isTensor || out.qScale <= 0 || out.dtype != at::kQUInt8)
    ctx.unsupported("a quantized convolution or Linear result that is not per-tensor affine quint8");
  const float yScale = static_cast<float>(out.qScale);
  const int64_t channels = weight.size(0);
  at::Tensor wScale = weight.qscheme() == at::kPerTensorAffine
                          ? at::full({channels}, static_cast<float>(weight.q_scale()), at::kFloat)
                          : weight.q_per_channel_scales().to(at::kFloat).contiguous();
  at::Tensor multiplier = at::empty({channels}, at::kFloat), biasOverScale = at::empty({channels}, at::kFloat);
  const bool hasBias = bias && bias->defined();
  at::Tensor b = hasBias ? bias->to(at::kFloat).contiguous() : at::Tensor();
  for (int64_t c = 0; c < channels; ++c) {
    const float actTimesW = xScale * wScale.data_ptr<float>()[c];
    multiplier.data_ptr<float>()[c] = actTimesW / yScale;
    if (hasBias) biasOverScale.data_ptr<float>()[c] = b.data_ptr<float>()[c] / actTimesW;
  }
  std::string raw = ctx.cast(acc, at::kFloat);
  if (hasBias) raw = ctx.op("Add", {raw, ctx.constant(biasOverScale.reshape(channelShape), hint + ".bias_over_scale")});
  const std::string rounded =
      ctx.op("Round", {ctx.op("Mul", {raw, ctx.constant(multiplier.reshape(channelShape), hint + ".multiplier")})});
  const double zp = static_cast<double>(out.qZeroPoint);
  const std::string level = ctx.op("Clip", {ctx.op("Add", {rounded, ctx.scalar(zp, at::kFloat)}),
                                            ctx.scalar(relu ? zp : 0.0, at::kFloat), ctx.scalar(255, at::kFloat)});
  return ctx.op("DequantizeLinear",
                {ctx.cast(level, at::kByte), ctx.scalar(out.qScale, at::kFloat), ctx.scalar(zp, at::kByte)});
}

// The int8 weight's zero points for ConvInteger/MatMulInteger: none when all are 0 (the
// symmetric qconfigs), else per tensor or per output channel.
std::vector<std::string> weightZeroPoint(ConvertContext& ctx, const at::Tensor& weight, const std::string& hint) {
  at::Tensor zps = weight.qscheme() == at::kPerTensorAffine
                       ? at::scalar_tensor(weight.q_zero_point(), at::kChar)
                       : weight.q_per_channel_zero_points().to(at::kChar).contiguous();
  if (!zps.ne(0).any().item<bool>()) return {};
  return {ctx.constant(zps, hint + ".weight_zero_point")};
}

void checkWeightScheme(ConvertContext& ctx, const at::Tensor& weight) {
  if (weight.qscheme() == at::kPerChannelAffine && weight.q_per_channel_axis() != 0)
    ctx.unsupported("per-channel weights quantized along a dim other than 0");
  if (weight.qscheme() != at::kPerTensorAffine && weight.qscheme() != at::kPerChannelAffine)
    ctx.unsupported(std::string("weights quantized with scheme ") + c10::toString(weight.qscheme()));
}

// quantized::conv2d(qx, packed, output_scale, output_zero_point) and conv2d_relu: the
// packed object holds the int8 weight [C_out, C_in / groups, kH, kW] (per channel along
// dim 0 with the x86/fbgemm qconfigs), the float bias and the convolution's geometry.
// ConvInteger on the levels gives fbgemm's int32 accumulator, requantized as it does.
void conv2dWith(ConvertContext& ctx, bool relu) {
  // conv2d.new names the packed parameters "packed_weight", the older conv2d "weight".
  const torch::jit::Value* packed = ctx.arg("packed_weight");
  if (!packed) packed = ctx.in("weight");
  auto params = packedParams(ctx, packed).toCustomClass<ConvPackedParamsBase<2>>();
  if (params->transpose()) ctx.unsupported("a transposed quantized convolution");
  auto [weight, bias] = params->unpack();
  checkWeightScheme(ctx, weight);
  const std::string hint = weightHint(ctx, packed);
  const ValueFact& in = ctx.fact(ctx.in("qx"));
  std::vector<std::string> inputs{levelsOf(ctx, ctx.in("qx")),
                                  ctx.constant(weight.int_repr().contiguous(), hint + ".weight_quantized"),
                                  ctx.scalar(static_cast<double>(in.qZeroPoint), at::kByte)};
  for (const auto& zp : weightZeroPoint(ctx, weight, hint)) inputs.push_back(zp);
  const auto padding = params->padding().vec();
  std::vector<int64_t> pads = padding;
  pads.insert(pads.end(), padding.begin(), padding.end());
  const std::string acc =
      ctx.op("ConvInteger", inputs,
             {attr::ints("kernel_shape", {weight.size(2), weight.size(3)}),
              attr::ints("strides", params->stride().vec()), attr::ints("pads", pads),
              attr::ints("dilations", params->dilation().vec()), attr::i("group", params->groups())});
  ctx.setOutput(requantizeAccumulator(ctx, acc, ctx.in("qx"), weight, bias, relu, {weight.size(0), 1, 1}, hint),
                at::kFloat);
}

// quantized::linear(X, packed, Y_scale, Y_zero_point) and linear_relu: MatMulInteger on
// the levels and the int8 weight stored [in, out], requantized as fbgemm does.
void linearWith(ConvertContext& ctx, bool relu) {
  auto params = packedParams(ctx, ctx.in("W_prepack")).toCustomClass<LinearPackedParamsBase>();
  auto [weight, bias] = params->unpack();
  checkWeightScheme(ctx, weight);
  const std::string hint = weightHint(ctx, ctx.in("W_prepack"));
  const ValueFact& in = ctx.fact(ctx.in("X"));
  std::vector<std::string> inputs{levelsOf(ctx, ctx.in("X")),
                                  ctx.constant(weight.int_repr().t().contiguous(), hint + ".weight_quantized"),
                                  ctx.scalar(static_cast<double>(in.qZeroPoint), at::kByte)};
  for (const auto& zp : weightZeroPoint(ctx, weight, hint)) inputs.push_back(zp);
  const std::string acc = ctx.op("MatMulInteger", inputs);
  ctx.setOutput(requantizeAccumulator(ctx, acc, ctx.in("X"), weight, bias, relu, {weight.size(0)}, hint), at::kFloat);
}

// quantized::linear_dynamic(X float, packed, reduce_range): fbgemm quantizes X to uint8
// with the range of its values (widened to hold 0) over [0, 127] with reduce_range, else
// [0, 255]: scale = (max - min) / qmax (0.1 when that is 0), zero point = round(-min /
// scale); then an integer product with the int8 weight, scaled back to float. The same
// in the graph: the scale computed from the input, the levels rounded in float
// arithmetic, MatMulInteger, then x_scale * w_scale and the bias. Not a Q/DQ pair and a
// float MatMul on a DequantizeLinear weight: onnxruntime fuses those into DynamicQuantize-
// MatMul or MatMulNBits, which quantize the input again with a range of their own.
void linearDynamicWith(ConvertContext& ctx, bool relu) {
  const bool reduceRange = ctx.given("reduce_range") && ctx.toBool(ctx.in("reduce_range"));
  const double qmax = reduceRange ? 127 : 255;
  const std::string x = ctx.inputAs(ctx.in("X"), at::kFloat);
  const std::string zero = ctx.scalar(0, at::kFloat);
  const std::string low = ctx.op("Min", {reduce(ctx, "ReduceMin", x, {}, false), zero});
  const std::string high = ctx.op("Max", {reduce(ctx, "ReduceMax", x, {}, false), zero});
  const std::string range = ctx.op("Div", {ctx.op("Sub", {high, low}), ctx.scalar(qmax, at::kFloat)});
  const std::string scale =
      ctx.op("Where", {ctx.op("Equal", {range, zero}), ctx.scalar(0.1, at::kFloat), range});
  const std::string zeroPoint = ctx.op(
      "Clip", {ctx.op("Round", {ctx.op("Neg", {ctx.op("Div", {low, scale})})}), zero, ctx.scalar(qmax, at::kFloat)});
  const std::string levels = ctx.op("Clip", {ctx.op("Add", {ctx.op("Round", {ctx.op("Div", {x, scale})}), zeroPoint}),
                                             zero, ctx.scalar(255, at::kFloat)});

  auto params = packedParams(ctx, ctx.in("W_prepack")).toCustomClass<LinearPackedParamsBase>();
  auto [weight, bias] = params->unpack();
  const std::string hint = weightHint(ctx, ctx.in("W_prepack"));
  at::Tensor weightScale, weightZeroPoint;
  if (weight.qscheme() == at::kPerTensorAffine) {
    weightScale = at::scalar_tensor(weight.q_scale(), at::kFloat);
    weightZeroPoint = at::scalar_tensor(weight.q_zero_point(), at::kChar);
  } else if (weight.qscheme() == at::kPerChannelAffine && weight.q_per_channel_axis() == 0) {
    weightScale = weight.q_per_channel_scales().to(at::kFloat);  // one per output column
    weightZeroPoint = weight.q_per_channel_zero_points().to(at::kChar);
  } else {
    ctx.unsupported(std::string("weights quantized with scheme ") + c10::toString(weight.qscheme()));
  }
  const std::string product = ctx.op(
      "MatMulInteger", {ctx.cast(levels, at::kByte), ctx.constant(weight.int_repr().t().contiguous(), hint + ".weight_quantized"),
                        ctx.cast(zeroPoint, at::kByte), ctx.constant(weightZeroPoint, hint + ".weight_zero_point")});
  std::string y = ctx.op("Mul", {ctx.cast(product, at::kFloat),
                                 ctx.op("Mul", {scale, ctx.constant(weightScale, hint + ".weight_scale")})});
  if (bias && bias->defined()) y = ctx.op("Add", {y, ctx.constant(bias->to(at::kFloat).contiguous(), hint + ".bias")});
  if (relu) y = ctx.op("Relu", {y});
  ctx.setOutput(y, at::kFloat);
}

// quantized::add/mul(qa, qb, scale, zero_point) and their _relu forms: float arithmetic
// on the dequantized operands, rounded to the output's scale.
void binaryWith(ConvertContext& ctx, const char* opType, bool relu) {
  if (!ctx.node()->schema().overload_name().empty())
    ctx.unsupported("the " + ctx.node()->schema().overload_name() + " overload (only two quantized tensors convert)");
  std::string y = ctx.op(opType, {ctx.input(ctx.in("qa")), ctx.input(ctx.in("qb"))});
  if (relu) y = ctx.op("Relu", {y});
  bindRounded(ctx, y);
}

// quantized::cat(qx[], dim, scale?, zero_point?): without a scale the result keeps the
// first input's, which the recorded result has either way.
void cat(ConvertContext& ctx) {
  const int64_t rank = ctx.rank(ctx.out());
  bindRounded(ctx, ctx.op("Concat", ctx.inputList(ctx.in("qx")),
                          {attr::i("axis", ConvertContext::normDim(ctx.toInt(ctx.in("dim")), rank))}));
}

// quantized::hardswish(x, output_scale, output_zero_point): HardSwish from opset 14, as
// x * hardsigmoid(x) (ONNX's HardSigmoid with alpha 1/6, beta 1/2) before (`hardSwishOp`
// false: the registration picks the form by opset).
void hardswish(ConvertContext& ctx, bool hardSwishOp) {
  const std::string x = ctx.input(ctx.in("input"));
  if (hardSwishOp) {
    bindRounded(ctx, ctx.op("HardSwish", {x}));
    return;
  }
  const std::string gate = ctx.op("HardSigmoid", {x}, {attr::f("alpha", 1.0f / 6.0f), attr::f("beta", 0.5f)});
  bindRounded(ctx, ctx.op("Mul", {x, gate}));
}

// quantized::layer_norm(x, normalized_shape, weight?, bias?, eps, output_scale,
// output_zero_point): normalized over the last dims, in float (the quantized kernel
// normalizes dequantized values too).
void layerNorm(ConvertContext& ctx) {
  const std::string x = ctx.input(ctx.in("input"));
  const int64_t dims = static_cast<int64_t>(ctx.toInts(ctx.in("normalized_shape")).size());
  std::vector<int64_t> axes;
  for (int64_t d = -dims; d < 0; ++d) axes.push_back(d);
  const std::string centered = ctx.op("Sub", {x, reduce(ctx, "ReduceMean", x, axes, true)});
  const std::string variance = reduce(ctx, "ReduceMean", ctx.op("Mul", {centered, centered}), axes, true);
  const std::string eps = ctx.scalar(ctx.toDouble(ctx.in("eps")), at::kFloat);
  std::string y = ctx.op("Div", {centered, ctx.op("Sqrt", {ctx.op("Add", {variance, eps})})});
  if (ctx.given("weight")) y = ctx.op("Mul", {y, ctx.inputAs(ctx.in("weight"), at::kFloat)});
  if (ctx.given("bias")) y = ctx.op("Add", {y, ctx.inputAs(ctx.in("bias"), at::kFloat)});
  bindRounded(ctx, y);
}

// quantized::batch_norm2d(qx, weight?, bias?, mean, var, eps, output_scale,
// output_zero_point): eval-mode BatchNormalization with the running statistics.
void batchNorm2d(ConvertContext& ctx) {
  const int64_t channels = ctx.dim(ctx.in("qx"), 1);
  const std::string weight = ctx.given("weight") ? ctx.inputAs(ctx.in("weight"), at::kFloat)
                                          : ctx.constant(at::ones({channels}, at::kFloat), "bn_weight");
  const std::string bias = ctx.given("bias") ? ctx.inputAs(ctx.in("bias"), at::kFloat)
                                        : ctx.constant(at::zeros({channels}, at::kFloat), "bn_bias");
  bindRounded(ctx, ctx.op("BatchNormalization",
                          {ctx.input(ctx.in("qx")), weight, bias, ctx.inputAs(ctx.in("mean"), at::kFloat),
                           ctx.inputAs(ctx.in("var"), at::kFloat)},
                          {attr::f("epsilon", static_cast<float>(ctx.toDouble(ctx.in("eps"))))}));
}

// quantized::relu6(qx, inplace): the output keeps the input's scale and zero point.
void relu6(ConvertContext& ctx) {
  const std::string x = ctx.input(ctx.in("qx"));
  bindRounded(ctx, ctx.op("Clip", {x, ctx.scalar(0, at::kFloat), ctx.scalar(6, at::kFloat)}));
}

bool roundsItsOwnResult(const torch::jit::Node* node) {
  const std::string kind = node->kind().toQualString();
  return kind.rfind("quantized::", 0) == 0 || kind.rfind("aten::quantize_per_", 0) == 0;
}

}  // namespace

at::ScalarType carriedType(at::ScalarType type) { return c10::isQIntType(type) ? at::kFloat : type; }

void requantizeResults(ConvertContext& ctx) {
  if (roundsItsOwnResult(ctx.node())) return;
  for (size_t i = 0; i < ctx.node()->outputs().size(); ++i) {
    const torch::jit::Value* out = ctx.out(i);
    const ValueFact& f = ctx.fact(out);
    if (!f.isTensor || !c10::isQIntType(f.dtype) || !ctx.isBound(out)) continue;
    ctx.bind(out, roundToGrid(ctx, ctx.input(out), out));
  }
}

void registerQuantizedConverters(ConverterRegistry& r) {
  // Both overloads: (x, scale: float, zero_point: int, dtype) and FX's tensor_qparams.
  r.add("aten::quantize_per_tensor", quantizePerTensor);
  r.add("aten::dequantize.self", dequantize);
  // Both overloads: .new (geometry in the packed object) and the legacy one that also
  // passes stride, padding, dilation and groups (the same as the packed object's).
  r.add("quantized::conv2d", [](ConvertContext& c) { conv2dWith(c, false); });
  r.add("quantized::conv2d_relu", [](ConvertContext& c) { conv2dWith(c, true); });
  r.add("quantized::linear", [](ConvertContext& c) { linearWith(c, false); });
  r.add("quantized::linear_relu", [](ConvertContext& c) { linearWith(c, true); });
  r.add("quantized::linear_dynamic", [](ConvertContext& c) { linearDynamicWith(c, false); });
  r.add("quantized::linear_relu_dynamic", [](ConvertContext& c) { linearDynamicWith(c, true); });
  // Only the (qa, qb, scale, zero_point) overloads; .out and Scalar forms have no converter.
  r.add("quantized::add", [](ConvertContext& c) { binaryWith(c, "Add", false); });
  r.add("quantized::add_relu", [](ConvertContext& c) { binaryWith(c, "Add", true); });
  r.add("quantized::mul", [](ConvertContext& c) { binaryWith(c, "Mul", false); });
  r.add("quantized::mul_relu", [](ConvertContext& c) { binaryWith(c, "Mul", true); });
  r.add("quantized::cat", cat);
  r.add("quantized::hardswish", OpsetForms{{kMinOpset, [](ConvertContext& c) { hardswish(c, false); }},
                                           {14, [](ConvertContext& c) { hardswish(c, true); }}});
  r.add("quantized::layer_norm", layerNorm);
  r.add("quantized::batch_norm2d", batchNorm2d);
  r.add("quantized::relu6", relu6);
  r.add("aten::quantized_lstm", [](ConvertContext& c) {
    c.unsupported("an LSTM quantized dynamically (quantize_dynamic with nn.LSTM) quantizes its gates' inputs at run "
                  "time inside each step, which ONNX LSTM cannot express; quantize only nn.Linear, or export the "
                  "float LSTM");
  });
}

}  // namespace modelexport

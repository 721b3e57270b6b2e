// Layers: linear algebra, convolution, normalization, pooling, embedding, softmax.
#include "modelexport/convert_context.h"

namespace modelexport {
namespace {

using torch::jit::Value;

bool given(ConvertContext& ctx, size_t i) {
  return ctx.node()->inputs().size() > i && !ctx.isNone(ctx.in(i));
}

void linear(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  std::string x = ctx.inputAs(ctx.in(0), type);
  const bool hasBias = given(ctx, 2);
  if (ctx.rank(ctx.in(0)) == 2) {
    std::vector<std::string> ins{x, ctx.inputAs(ctx.in(1), type)};
    if (hasBias) ins.push_back(ctx.inputAs(ctx.in(2), type));
    ctx.setOutput(ctx.op("Gemm", ins, {attr::i("transB", 1)}), type);
    return;
  }
  // MatMul needs W^T; a constant weight is stored transposed, as PyTorch's exporter does.
  std::string wt = ctx.isStatic(ctx.in(1))
                       ? ctx.constant(ctx.toTensor(ctx.in(1)).to(type).t().contiguous(),
                                      ctx.nameHint(ctx.in(1)) + ".T")
                       : ctx.op("Transpose", {ctx.inputAs(ctx.in(1), type)}, {attr::ints("perm", {1, 0})});
  std::string y = ctx.op("MatMul", {x, wt});
  if (hasBias) y = ctx.op("Add", {y, ctx.inputAs(ctx.in(2), type)});
  ctx.setOutput(y, type);
}

void matmul(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  ctx.setOutput(ctx.op("MatMul", {ctx.inputAs(ctx.in(0), type), ctx.inputAs(ctx.in(1), type)}), type);
}

// addmm(bias, a, b, beta, alpha) = beta * bias + alpha * a @ b
void addmm(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  float beta = given(ctx, 3) ? static_cast<float>(ctx.toDouble(ctx.in(3))) : 1.0f;
  float alpha = given(ctx, 4) ? static_cast<float>(ctx.toDouble(ctx.in(4))) : 1.0f;
  ctx.setOutput(ctx.op("Gemm",
                       {ctx.inputAs(ctx.in(1), type), ctx.inputAs(ctx.in(2), type), ctx.inputAs(ctx.in(0), type)},
                       {attr::f("alpha", alpha), attr::f("beta", beta)}),
                type);
}

void baddbmm(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  double beta = given(ctx, 3) ? ctx.toDouble(ctx.in(3)) : 1.0;
  double alpha = given(ctx, 4) ? ctx.toDouble(ctx.in(4)) : 1.0;
  std::string prod = ctx.op("MatMul", {ctx.inputAs(ctx.in(1), type), ctx.inputAs(ctx.in(2), type)});
  if (alpha != 1.0) prod = ctx.op("Mul", {prod, ctx.scalar(alpha, type)});
  std::string bias = ctx.inputAs(ctx.in(0), type);
  if (beta != 1.0) bias = ctx.op("Mul", {bias, ctx.scalar(beta, type)});
  ctx.setOutput(ctx.op("Add", {bias, prod}), type);
}

void embedding(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  ctx.setOutput(ctx.op("Gather", {ctx.inputAs(ctx.in(0), type), ctx.inputAs(ctx.in(1), at::kLong)},
                       {attr::i("axis", 0)}),
                type);
}

void layerNorm(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const int64_t normalized = static_cast<int64_t>(ctx.toInts(ctx.in(1)).size());
  const double eps = ctx.toDouble(ctx.in(4));
  std::string x = ctx.inputAs(ctx.in(0), type);
  const int64_t rank = ctx.rank(ctx.in(0));
  if (ctx.opset() >= 17) {
    std::vector<std::string> ins{x};
    const auto& shape = ctx.sizes(ctx.in(0));
    std::vector<int64_t> normShape(shape.end() - normalized, shape.end());
    ins.push_back(given(ctx, 2) ? ctx.inputAs(ctx.in(2), type) : ctx.constant(torch::ones(normShape, type), "ones"));
    if (given(ctx, 3)) ins.push_back(ctx.inputAs(ctx.in(3), type));
    ctx.setOutput(ctx.op("LayerNormalization", ins,
                         {attr::i("axis", -normalized), attr::f("epsilon", static_cast<float>(eps))}),
                  type);
    return;
  }
  std::vector<int64_t> axes;
  for (int64_t d = rank - normalized; d < rank; ++d) axes.push_back(d);
  std::string mean = ctx.op("ReduceMean", {x}, {attr::ints("axes", axes), attr::i("keepdims", 1)});
  std::string centered = ctx.op("Sub", {x, mean});
  std::string var = ctx.op("ReduceMean", {ctx.op("Pow", {centered, ctx.scalar(2.0, type)})},
                           {attr::ints("axes", axes), attr::i("keepdims", 1)});
  std::string std = ctx.op("Sqrt", {ctx.op("Add", {var, ctx.scalar(eps, type)})});
  std::string y = ctx.op("Div", {centered, std});
  if (given(ctx, 2)) y = ctx.op("Mul", {y, ctx.inputAs(ctx.in(2), type)});
  if (given(ctx, 3)) y = ctx.op("Add", {y, ctx.inputAs(ctx.in(3), type)});
  ctx.setOutput(y, type);
}

void softmax(ConvertContext& ctx, const std::string& opType) {
  const auto type = ctx.dtype(ctx.out());
  std::string x = ctx.inputAs(ctx.in(0), type);
  const int64_t rank = ctx.rank(ctx.in(0));
  const int64_t dim = ConvertContext::normDim(ctx.toInt(ctx.in(1)), rank);
  if (ctx.opset() >= 13 || dim == rank - 1) {
    ctx.setOutput(ctx.op(opType, {x}, {attr::i("axis", dim)}), type);
    return;
  }
  // Before opset 13 Softmax flattens from `axis`: move the dim last and back.
  std::vector<int64_t> perm;
  for (int64_t d = 0; d < rank; ++d) perm.push_back(d);
  std::swap(perm[dim], perm[rank - 1]);
  std::string moved = ctx.op("Transpose", {x}, {attr::ints("perm", perm)});
  std::string y = ctx.op(opType, {moved}, {attr::i("axis", rank - 1)});
  ctx.setOutput(ctx.op("Transpose", {y}, {attr::ints("perm", perm)}), type);
}

std::vector<int64_t> expand(std::vector<int64_t> values, size_t n) {
  if (values.size() == 1 && n > 1) values.assign(n, values[0]);
  return values;
}

std::vector<int64_t> symmetricPads(const std::vector<int64_t>& padding, size_t n) {
  auto p = expand(padding, n);
  std::vector<int64_t> pads(p.begin(), p.end());
  pads.insert(pads.end(), p.begin(), p.end());
  return pads;
}

// aten::_convolution and aten::conv{1,2,3}d / conv_transpose{1,2,3}d.
void convolution(ConvertContext& ctx, bool explicitTransposed, bool transposedForm) {
  const auto type = ctx.dtype(ctx.out());
  const size_t spatial = static_cast<size_t>(ctx.rank(ctx.in(1)) - 2);
  std::vector<std::string> ins{ctx.inputAs(ctx.in(0), type), ctx.inputAs(ctx.in(1), type)};
  if (given(ctx, 2)) ins.push_back(ctx.inputAs(ctx.in(2), type));
  bool transposed = transposedForm;
  std::vector<int64_t> stride = expand(ctx.toInts(ctx.in(3)), spatial);
  std::vector<int64_t> dilation, outputPadding;
  int64_t groups = 1;
  std::vector<onnx::AttributeProto> attrs;
  const auto& wshape = ctx.sizes(ctx.in(1));
  attrs.push_back(attr::ints("kernel_shape", std::vector<int64_t>(wshape.begin() + 2, wshape.end())));
  if (explicitTransposed) {  // _convolution(x, w, b, stride, padding, dilation, transposed, output_padding, groups, ...)
    transposed = ctx.toBool(ctx.in(6));
    dilation = expand(ctx.toInts(ctx.in(5)), spatial);
    outputPadding = expand(ctx.toInts(ctx.in(7)), spatial);
    groups = ctx.toInt(ctx.in(8));
  } else if (transposed) {  // conv_transpose(x, w, b, stride, padding, output_padding, groups, dilation)
    outputPadding = expand(ctx.toInts(ctx.in(5)), spatial);
    groups = ctx.toInt(ctx.in(6));
    dilation = expand(ctx.toInts(ctx.in(7)), spatial);
  } else {  // conv(x, w, b, stride, padding, dilation, groups)
    dilation = expand(ctx.toInts(ctx.in(5)), spatial);
    groups = ctx.toInt(ctx.in(6));
  }
  const auto& padValue = ctx.staticValue(ctx.in(4));
  if (padValue.isString()) {
    const std::string mode = padValue.toStringRef();
    if (mode == "same") {
      // LibTorch pads the extra element at the end, as SAME_UPPER does.
      attrs.push_back(attr::s("auto_pad", "SAME_UPPER"));
    } else {
      attrs.push_back(attr::ints("pads", std::vector<int64_t>(2 * spatial, 0)));
    }
  } else {
    attrs.push_back(attr::ints("pads", symmetricPads(ctx.toInts(ctx.in(4)), spatial)));
  }
  attrs.push_back(attr::ints("strides", stride));
  attrs.push_back(attr::ints("dilations", dilation));
  attrs.push_back(attr::i("group", groups));
  if (transposed) {
    if (!outputPadding.empty()) attrs.push_back(attr::ints("output_padding", outputPadding));
    // ConvTranspose's kernel_shape is the weight's trailing dims too.
    ctx.setOutput(ctx.op("ConvTranspose", ins, attrs), type);
    return;
  }
  ctx.setOutput(ctx.op("Conv", ins, attrs), type);
}

void batchNorm(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const int64_t channels = ctx.sizes(ctx.in(0)).at(1);
  auto param = [&](size_t i, float fill) {
    return given(ctx, i) ? ctx.inputAs(ctx.in(i), type)
                         : ctx.constant(torch::full({channels}, fill, torch::TensorOptions().dtype(type)), "bn_default");
  };
  if (!given(ctx, 3) || !given(ctx, 4)) ctx.unsupported("batch_norm without running statistics");
  const double eps = ctx.toDouble(ctx.in(7));
  ctx.setOutput(ctx.op("BatchNormalization", {ctx.inputAs(ctx.in(0), type), param(1, 1.0f), param(2, 0.0f),
                                              ctx.inputAs(ctx.in(3), type), ctx.inputAs(ctx.in(4), type)},
                       {attr::f("epsilon", static_cast<float>(eps))}),
                type);
}

void maxPool(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const size_t spatial = static_cast<size_t>(ctx.rank(ctx.in(0)) - 2);
  auto kernel = expand(ctx.toInts(ctx.in(1)), spatial);
  auto stride = ctx.toInts(ctx.in(2));
  stride = stride.empty() ? kernel : expand(stride, spatial);
  auto pads = symmetricPads(ctx.toInts(ctx.in(3)), spatial);
  auto dilation = expand(ctx.toInts(ctx.in(4)), spatial);
  const bool ceil = ctx.toBool(ctx.in(5));
  ctx.setOutput(ctx.op("MaxPool", {ctx.inputAs(ctx.in(0), type)},
                       {attr::ints("kernel_shape", kernel), attr::ints("strides", stride),
                        attr::ints("pads", pads), attr::ints("dilations", dilation),
                        attr::i("ceil_mode", ceil)}),
                type);
}

void avgPool(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const size_t spatial = static_cast<size_t>(ctx.rank(ctx.in(0)) - 2);
  auto kernel = expand(ctx.toInts(ctx.in(1)), spatial);
  auto stride = ctx.toInts(ctx.in(2));
  stride = stride.empty() ? kernel : expand(stride, spatial);
  auto pads = symmetricPads(ctx.toInts(ctx.in(3)), spatial);
  const bool ceil = ctx.toBool(ctx.in(4));
  const bool countPad = ctx.toBool(ctx.in(5));
  if (ctx.node()->inputs().size() > 6 && !ctx.isNone(ctx.in(6))) ctx.unsupported("divisor_override");
  ctx.setOutput(ctx.op("AveragePool", {ctx.inputAs(ctx.in(0), type)},
                       {attr::ints("kernel_shape", kernel), attr::ints("strides", stride),
                        attr::ints("pads", pads), attr::i("ceil_mode", ceil),
                        attr::i("count_include_pad", countPad)}),
                type);
}

void adaptivePool(ConvertContext& ctx, const std::string& globalOp, const std::string& windowOp) {
  const auto type = ctx.dtype(ctx.out());
  const auto& inShape = ctx.sizes(ctx.in(0));
  const size_t spatial = inShape.size() - 2;
  auto outSize = expand(ctx.toInts(ctx.in(1)), spatial);
  std::string x = ctx.inputAs(ctx.in(0), type);
  bool global = true;
  for (size_t d = 0; d < spatial; ++d) global = global && outSize[d] == 1;
  if (global) {
    ctx.setOutput(ctx.op(globalOp, {x}), type);
    return;
  }
  std::vector<int64_t> kernel;
  for (size_t d = 0; d < spatial; ++d) {
    const int64_t in = inShape[2 + d];
    if (outSize[d] <= 0 || in % outSize[d] != 0)
      ctx.unsupported("adaptive pooling from " + std::to_string(in) + " to " + std::to_string(outSize[d]));
    kernel.push_back(in / outSize[d]);
  }
  ctx.setOutput(ctx.op(windowOp, {x}, {attr::ints("kernel_shape", kernel), attr::ints("strides", kernel)}), type);
}

}  // namespace

void registerNnConverters(ConverterRegistry& r) {
  r.add("aten::linear", linear);
  r.add("aten::matmul", matmul);
  r.add("aten::mm", matmul);
  r.add("aten::bmm", matmul);
  r.add("aten::addmm", addmm);
  r.add("aten::baddbmm", baddbmm);
  r.add("aten::embedding", embedding);
  r.add("aten::layer_norm", layerNorm);
  r.add("aten::softmax", [](ConvertContext& c) { softmax(c, "Softmax"); });
  r.add("aten::log_softmax", [](ConvertContext& c) { softmax(c, "LogSoftmax"); });
  r.add("aten::_convolution", [](ConvertContext& c) { convolution(c, true, false); });
  for (const char* kind : {"aten::conv1d", "aten::conv2d", "aten::conv3d"})
    r.add(kind, [](ConvertContext& c) { convolution(c, false, false); });
  for (const char* kind : {"aten::conv_transpose1d", "aten::conv_transpose2d", "aten::conv_transpose3d"})
    r.add(kind, [](ConvertContext& c) { convolution(c, false, true); });
  r.add("aten::batch_norm", batchNorm);
  for (const char* kind : {"aten::max_pool1d", "aten::max_pool2d", "aten::max_pool3d"}) r.add(kind, maxPool);
  for (const char* kind : {"aten::avg_pool1d", "aten::avg_pool2d", "aten::avg_pool3d"}) r.add(kind, avgPool);
  for (const char* kind : {"aten::adaptive_avg_pool1d", "aten::adaptive_avg_pool2d", "aten::adaptive_avg_pool3d"})
    r.add(kind, [](ConvertContext& c) { adaptivePool(c, "GlobalAveragePool", "AveragePool"); });
  for (const char* kind : {"aten::adaptive_max_pool1d", "aten::adaptive_max_pool2d"})
    r.add(kind, [](ConvertContext& c) {
      if (c.node()->outputs().size() > 1 && !c.out(1)->uses().empty()) c.unsupported("adaptive max pool indices");
      adaptivePool(c, "GlobalMaxPool", "MaxPool");
    });
}

}  // namespace modelexport

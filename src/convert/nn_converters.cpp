// Layers: linear algebra, convolution, normalization, pooling, embedding, softmax.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "modelexport/convert_context.h"
#include "modelexport/converter_helpers.h"
#include "modelexport/onnx_tensor.h"

namespace modelexport {
namespace {

using torch::jit::Value;

// (x - mean) / sqrt(var + eps) with x's own biased statistics over `axes`.
std::string normalizeOver(ConvertContext& ctx, const std::string& x, const std::vector<int64_t>& axes, double eps,
                          at::ScalarType type) {
  std::string mean = ctx.op("ReduceMean", {x}, {attr::ints("axes", axes), attr::i("keepdims", 1)});
  std::string centered = ctx.op("Sub", {x, mean});
  // Pow(x, 2) rather than Mul(x, x): the form torch.onnx writes, so diffs of the two
  // exports line up node for node (onnxruntime computes exponent 2 as a square).
  std::string var = ctx.op("ReduceMean", {ctx.op("Pow", {centered, ctx.scalar(2, type)})},
                           {attr::ints("axes", axes), attr::i("keepdims", 1)});
  std::string std = ctx.op("Sqrt", {ctx.op("Add", {var, ctx.scalar(eps, type)})});
  return ctx.op("Div", {centered, std});
}

void linear(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  std::string x = ctx.inputAs(ctx.in("input"), type);
  const bool hasBias = ctx.given("bias");
  if (ctx.rank(ctx.in("input")) == 2) {
    std::vector<std::string> ins{x, ctx.inputAs(ctx.in("weight"), type)};
    if (hasBias) ins.push_back(ctx.inputAs(ctx.in("bias"), type));
    ctx.setOutput(ctx.op("Gemm", ins, {attr::i("transB", 1)}), type);
    return;
  }
  // MatMul needs W^T; a constant weight is stored transposed, as PyTorch's exporter does.
  std::string wt = ctx.isStatic(ctx.in("weight"))
                       ? ctx.constant(ctx.toTensor(ctx.in("weight")).to(type).t(),
                                      ctx.nameHint(ctx.in("weight")) + ".T")
                       : ctx.op("Transpose", {ctx.inputAs(ctx.in("weight"), type)}, {attr::ints("perm", {1, 0})});
  std::string y = ctx.op("MatMul", {x, wt});
  if (hasBias) y = ctx.op("Add", {y, ctx.inputAs(ctx.in("bias"), type)});
  ctx.setOutput(y, type);
}

// matmul(self, other), mm and bmm(self, mat2): `second` names the right factor.
void matmul(ConvertContext& ctx, const char* second) {
  const auto type = ctx.dtype(ctx.out());
  ctx.setOutput(ctx.op("MatMul", {ctx.inputAs(ctx.in("self"), type), ctx.inputAs(ctx.in(second), type)}), type);
}

// addmm(bias, a, b, beta, alpha) = beta * bias + alpha * a @ b
void addmm(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  float beta = ctx.given("beta") ? static_cast<float>(ctx.toDouble(ctx.in("beta"))) : 1.0f;
  float alpha = ctx.given("alpha") ? static_cast<float>(ctx.toDouble(ctx.in("alpha"))) : 1.0f;
  ctx.setOutput(ctx.op("Gemm",
                       {ctx.inputAs(ctx.in("mat1"), type), ctx.inputAs(ctx.in("mat2"), type), ctx.inputAs(ctx.in("self"), type)},
                       {attr::f("alpha", alpha), attr::f("beta", beta)}),
                type);
}

void baddbmm(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  double beta = ctx.given("beta") ? ctx.toDouble(ctx.in("beta")) : 1.0;
  double alpha = ctx.given("alpha") ? ctx.toDouble(ctx.in("alpha")) : 1.0;
  std::string prod = ctx.op("MatMul", {ctx.inputAs(ctx.in("batch1"), type), ctx.inputAs(ctx.in("batch2"), type)});
  if (alpha != 1.0) prod = ctx.op("Mul", {prod, ctx.scalar(alpha, type)});
  std::string bias = ctx.inputAs(ctx.in("self"), type);
  if (beta != 1.0) bias = ctx.op("Mul", {bias, ctx.scalar(beta, type)});
  ctx.setOutput(ctx.op("Add", {bias, prod}), type);
}

void embedding(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  ctx.setOutput(ctx.op("Gather", {ctx.inputAs(ctx.in("weight"), type), ctx.inputAs(ctx.in("indices"), at::kLong)},
                       {attr::i("axis", 0)}),
                type);
}

// `fused`: LayerNormalization exists (opset 17 on); the mean/variance form before.
void layerNorm(ConvertContext& ctx, bool fused) {
  const auto type = ctx.dtype(ctx.out());
  // normalized_shape is the trailing sizes: the only ones needed, whatever the leading
  // (batch, sequence) dims are at run time.
  const std::vector<int64_t> normShape = ctx.toInts(ctx.in("normalized_shape"));
  const int64_t normalized = static_cast<int64_t>(normShape.size());
  const double eps = ctx.toDouble(ctx.in("eps"));
  std::string x = ctx.inputAs(ctx.in("input"), type);
  const int64_t rank = ctx.rank(ctx.in("input"));
  if (fused) {
    std::vector<std::string> ins{x};
    ins.push_back(ctx.given("weight") ? ctx.inputAs(ctx.in("weight"), type) : ctx.constant(torch::ones(normShape, type), "ones"));
    if (ctx.given("bias")) ins.push_back(ctx.inputAs(ctx.in("bias"), type));
    ctx.setOutput(ctx.op("LayerNormalization", ins,
                         {attr::i("axis", -normalized), attr::f("epsilon", static_cast<float>(eps))}),
                  type);
    return;
  }
  std::vector<int64_t> axes;
  for (int64_t d = rank - normalized; d < rank; ++d) axes.push_back(d);
  std::string y = normalizeOver(ctx, x, axes, eps, type);
  if (ctx.given("weight")) y = ctx.op("Mul", {y, ctx.inputAs(ctx.in("weight"), type)});
  if (ctx.given("bias")) y = ctx.op("Add", {y, ctx.inputAs(ctx.in("bias"), type)});
  ctx.setOutput(y, type);
}

// rms_norm(input, normalized_shape, weight=None, eps=None): x / sqrt(mean(x^2) + eps) *
// weight over the trailing normalized dims. ONNX has RMSNormalization only from opset 23.
// LibTorch computes in float for half and bfloat16 input and casts back before the
// weight; its default eps is the epsilon of that computing type (float's for half).
void rmsNorm(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const auto work = (type == at::kHalf || type == at::kBFloat16) ? at::kFloat : type;
  const int64_t normalized = static_cast<int64_t>(ctx.toInts(ctx.in("normalized_shape")).size());
  const int64_t rank = ctx.rank(ctx.in("input"));
  double eps = work == at::kDouble ? std::numeric_limits<double>::epsilon() : std::numeric_limits<float>::epsilon();
  if (ctx.given("eps")) eps = ctx.toDouble(ctx.in("eps"));
  std::vector<int64_t> axes;
  for (int64_t d = rank - normalized; d < rank; ++d) axes.push_back(d);
  std::string x = ctx.inputAs(ctx.in("input"), work);
  // Pow(x, 2) as in layer_norm's decomposition.
  std::string meanSquare = reduce(ctx, "ReduceMean", ctx.op("Pow", {x, ctx.scalar(2, work)}), axes, true);
  std::string rms = ctx.op("Sqrt", {ctx.op("Add", {meanSquare, ctx.scalar(eps, work)})});
  std::string y = ctx.op("Div", {x, rms});
  if (work != type) y = ctx.cast(y, type);
  if (ctx.given("weight")) y = ctx.op("Mul", {y, ctx.inputAs(ctx.in("weight"), type)});
  ctx.setOutput(y, type);
}

// `anyAxis`: Softmax normalizes along its axis (opset 13 on); before, it flattens from it.
void softmax(ConvertContext& ctx, const std::string& opType, bool anyAxis) {
  const auto type = ctx.dtype(ctx.out());
  std::string x = ctx.inputAs(ctx.in("self"), type);
  const int64_t rank = ctx.rank(ctx.in("self"));
  const int64_t dim = ConvertContext::normDim(ctx.toInt(ctx.in("dim")), rank);
  if (anyAxis || dim == rank - 1) {
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

template <typename T>
std::vector<T> expand(std::vector<T> values, size_t n) {
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
  const size_t spatial = static_cast<size_t>(ctx.rank(ctx.in("weight")) - 2);
  std::vector<std::string> ins{ctx.inputAs(ctx.in("input"), type), ctx.inputAs(ctx.in("weight"), type)};
  if (ctx.given("bias")) ins.push_back(ctx.inputAs(ctx.in("bias"), type));
  bool transposed = transposedForm;
  std::vector<int64_t> stride = expand(ctx.toInts(ctx.in("stride")), spatial);
  std::vector<int64_t> dilation, outputPadding;
  int64_t groups = 1;
  std::vector<onnx::AttributeProto> attrs;
  const auto& wshape = ctx.sizes(ctx.in("weight"));
  attrs.push_back(attr::ints("kernel_shape", std::vector<int64_t>(wshape.begin() + 2, wshape.end())));
  // _convolution has `transposed`; conv and conv_transpose have no output_padding and
  // `transposed` respectively. The names are the same in all three.
  if (explicitTransposed) transposed = ctx.toBool(ctx.in("transposed"));
  dilation = expand(ctx.toInts(ctx.in("dilation")), spatial);
  if (explicitTransposed || transposed) outputPadding = expand(ctx.toInts(ctx.in("output_padding")), spatial);
  groups = ctx.toInt(ctx.in("groups"));
  const auto& padValue = ctx.staticValue(ctx.in("padding"));
  if (padValue.isString()) {
    const std::string mode = padValue.toStringRef();
    if (mode == "same") {
      // LibTorch pads dilation*(kernel-1) in all, the odd element at the end.
      std::vector<int64_t> pads(2 * spatial);
      for (size_t d = 0; d < spatial; ++d) {
        const int64_t total = dilation[d] * (wshape[2 + d] - 1);
        pads[d] = total / 2;
        pads[d + spatial] = total - total / 2;
      }
      attrs.push_back(attr::ints("pads", pads));
    } else {
      attrs.push_back(attr::ints("pads", std::vector<int64_t>(2 * spatial, 0)));
    }
  } else {
    attrs.push_back(attr::ints("pads", symmetricPads(ctx.toInts(ctx.in("padding")), spatial)));
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

// y * weight + bias with per-channel (dim 1) weight and bias, each optional.
// The arguments are the node's "weight" and "bias".
std::string channelAffine(ConvertContext& ctx, std::string y, int64_t rank, at::ScalarType type) {
  auto perChannel = [&](const Value* v) {
    std::vector<int64_t> shape(static_cast<size_t>(rank - 1), 1);
    shape[0] = ctx.sizes(v).at(0);
    return ctx.op("Reshape", {ctx.inputAs(v, type), ctx.constInts(shape)});
  };
  if (ctx.given(ctx.in("weight"))) y = ctx.op("Mul", {y, perChannel(ctx.in("weight"))});
  if (ctx.given(ctx.in("bias"))) y = ctx.op("Add", {y, perChannel(ctx.in("bias"))});
  return y;
}

std::vector<int64_t> allButChannelAxes(int64_t rank) {
  std::vector<int64_t> axes{0};
  for (int64_t d = 2; d < rank; ++d) axes.push_back(d);
  return axes;
}

// batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps, cudnn)
void batchNorm(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const int64_t channels = ctx.dim(ctx.in("input"), 1);
  const int64_t rank = ctx.rank(ctx.in("input"));
  const double eps = ctx.toDouble(ctx.in("eps"));
  std::string x = ctx.inputAs(ctx.in("input"), type);
  // Training mode (or no running statistics) normalizes with the batch's own statistics.
  if (ctx.toBool(ctx.in("training")) || !ctx.given("running_mean") || !ctx.given("running_var")) {
    ctx.setOutput(channelAffine(ctx, normalizeOver(ctx, x, allButChannelAxes(rank), eps, type), rank, type), type);
    return;
  }
  auto param = [&](const char* name, float fill) {
    return ctx.given(name) ? ctx.inputAs(ctx.in(name), type)
                           : ctx.constant(torch::full({channels}, fill, torch::TensorOptions().dtype(type)), "bn_default");
  };
  ctx.setOutput(ctx.op("BatchNormalization", {x, param("weight", 1.0f), param("bias", 0.0f),
                                              ctx.inputAs(ctx.in("running_mean"), type), ctx.inputAs(ctx.in("running_var"), type)},
                       {attr::f("epsilon", static_cast<float>(eps))}),
                type);
}

// _native_batch_norm_legit_no_training(input, weight?, bias?, running_mean, running_var,
// momentum, eps) -> (out, save_mean, save_invstd): eval-mode batch norm as torch.export
// records it. The saved statistics, empty in this form, are bound only when read.
void batchNormNoTraining(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  auto param = [&](const char* name, float fill) {
    if (ctx.given(name)) return ctx.inputAs(ctx.in(name), type);
    return ctx.constant(torch::full({ctx.dim(ctx.in("input"), 1)}, fill, torch::TensorOptions().dtype(type)), "bn_default");
  };
  ctx.setOutput(ctx.op("BatchNormalization",
                       {ctx.inputAs(ctx.in("input"), type), param("weight", 1.0f), param("bias", 0.0f),
                        ctx.inputAs(ctx.in("running_mean"), type), ctx.inputAs(ctx.in("running_var"), type)},
                       {attr::f("epsilon", static_cast<float>(ctx.toDouble(ctx.in("eps"))))}),
                type);
  for (size_t i = 1; i < 3; ++i)
    if (ctx.out(i)->hasUses()) ctx.setOutput(ctx.constant(torch::zeros({0}, ctx.dtype(ctx.out(i))), "empty"), i);
}

// instance_norm(x, weight, bias, running_mean, running_var, use_input_stats, momentum, eps, cudnn)
void instanceNorm(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const int64_t channels = ctx.dim(ctx.in("input"), 1);
  const double eps = ctx.toDouble(ctx.in("eps"));
  std::string x = ctx.inputAs(ctx.in("input"), type);
  auto param = [&](const char* name, float fill) {
    return ctx.given(name) ? ctx.inputAs(ctx.in(name), type)
                           : ctx.constant(torch::full({channels}, fill, torch::TensorOptions().dtype(type)), "in_default");
  };
  const auto epsilon = attr::f("epsilon", static_cast<float>(eps));
  if (!ctx.toBool(ctx.in("use_input_stats"))) {
    // Normalizing with the running statistics is what batch norm in eval mode does.
    if (!ctx.given("running_mean") || !ctx.given("running_var")) ctx.unsupported("instance_norm without input or running statistics");
    ctx.setOutput(ctx.op("BatchNormalization", {x, param("weight", 1.0f), param("bias", 0.0f),
                                                ctx.inputAs(ctx.in("running_mean"), type),
                                                ctx.inputAs(ctx.in("running_var"), type)},
                         {epsilon}),
                  type);
    return;
  }
  ctx.setOutput(ctx.op("InstanceNormalization", {x, param("weight", 1.0f), param("bias", 0.0f)}, {epsilon}), type);
}

// group_norm(x, num_groups, weight, bias, eps, cudnn): statistics per (sample, group).
void groupNorm(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const int64_t groups = ctx.toInt(ctx.in("num_groups"));
  const double eps = ctx.toDouble(ctx.in("eps"));
  if (ctx.hasDynamicDims(ctx.in("input"))) {
    // Sizes known at run time: [N, groups, rest] by Reshape's 0 (keep) and -1 (the rest),
    // then back to x's Shape.
    std::string x = ctx.inputAs(ctx.in("input"), type);
    std::string grouped = ctx.op("Reshape", {x, ctx.constInts({0, groups, -1})});
    std::string y = ctx.op("Reshape", {normalizeOver(ctx, grouped, {2}, eps, type), ctx.op("Shape", {x})});
    ctx.setOutput(channelAffine(ctx, y, ctx.rank(ctx.in("input")), type), type);
    return;
  }
  const auto& shape = ctx.sizes(ctx.in("input"));
  int64_t perGroup = 1;
  for (size_t d = 1; d < shape.size(); ++d) perGroup *= shape[d];
  perGroup /= groups;
  std::string grouped = ctx.op("Reshape", {ctx.inputAs(ctx.in("input"), type), ctx.constInts({shape[0], groups, perGroup})});
  std::string y = ctx.op("Reshape", {normalizeOver(ctx, grouped, {2}, eps, type), ctx.constInts(shape)});
  ctx.setOutput(channelAffine(ctx, y, static_cast<int64_t>(shape.size()), type), type);
}

// _weight_norm(v, g, dim): v * (g / ||v||), the norm over every dim but `dim` (over all of
// v for dim -1), kept for broadcasting; g has v's rank with size 1 outside `dim`.
void weightNorm(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const Value* v = ctx.in("v");
  const int64_t rank = ctx.rank(v);
  const int64_t dim = ctx.given("dim") ? ctx.toInt(ctx.in("dim")) : 0;
  std::vector<int64_t> axes;
  for (int64_t d = 0; d < rank; ++d)
    if (dim == -1 || d != ConvertContext::normDim(dim, rank)) axes.push_back(d);
  std::string x = ctx.inputAs(v, type);
  std::string norm = reduce(ctx, "ReduceL2", x, axes, true);
  ctx.setOutput(ctx.op("Mul", {x, ctx.op("Div", {ctx.inputAs(ctx.in("g"), type), norm})}), type);
}

// Begin/end pads that make ONNX's floor output-size rule give LibTorch's recorded output
// size. LibTorch's ceil_mode drops a last window that would start in the right padding;
// ONNX's ceil_mode rule differs between opsets and runtimes, so it is never used: the
// extra windows come from end padding instead (never counted: max ignores it, and
// AveragePool runs with count_include_pad=0).
std::vector<int64_t> poolPads(ConvertContext& ctx, const std::vector<int64_t>& kernel,
                              const std::vector<int64_t>& stride, const std::vector<int64_t>& padding,
                              const std::vector<int64_t>& dilation) {
  const size_t spatial = kernel.size();
  const auto first = static_cast<int64_t>(static_cast<size_t>(ctx.rank(ctx.in("self"))) - spatial);
  std::vector<int64_t> pads(2 * spatial);
  for (size_t d = 0; d < spatial; ++d) {
    const int64_t axis = first + static_cast<int64_t>(d);
    const int64_t span = dilation[d] * (kernel[d] - 1) + 1;
    const int64_t needed = (ctx.dim(ctx.out(), axis) - 1) * stride[d] + span;
    const int64_t have = ctx.dim(ctx.in("self"), axis) + 2 * padding[d];
    pads[d] = padding[d];
    pads[d + spatial] = padding[d] + std::max<int64_t>(0, needed - have);
  }
  return pads;
}

struct PoolWindow {
  std::vector<int64_t> kernel, stride, padding;
};

// (x, kernel_size, stride, padding, ...): an empty stride means the kernel size.
PoolWindow poolWindow(ConvertContext& ctx) {
  const size_t spatial = static_cast<size_t>(ctx.rank(ctx.out()) - 2);
  PoolWindow w;
  w.kernel = expand(ctx.toInts(ctx.in("kernel_size")), spatial);
  w.stride = ctx.toInts(ctx.in("stride"));
  w.stride = w.stride.empty() ? w.kernel : expand(w.stride, spatial);
  w.padding = expand(ctx.toInts(ctx.in("padding")), spatial);
  return w;
}

// max_pool(x, kernel_size, stride, padding, dilation, ceil_mode)
void maxPool(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const PoolWindow w = poolWindow(ctx);
  auto dilation = expand(ctx.toInts(ctx.in("dilation")), w.kernel.size());
  ctx.setOutput(ctx.op("MaxPool", {ctx.inputAs(ctx.in("self"), type)},
                       {attr::ints("kernel_shape", w.kernel), attr::ints("strides", w.stride),
                        attr::ints("pads", poolPads(ctx, w.kernel, w.stride, w.padding, dilation)),
                        attr::ints("dilations", dilation)}),
                type);
}

// avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad[, divisor_override])
void avgPool(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const PoolWindow w = poolWindow(ctx);
  const size_t spatial = w.kernel.size();
  const bool countPad = ctx.toBool(ctx.in("count_include_pad"));
  if (ctx.given("divisor_override")) ctx.unsupported("divisor_override");
  std::string x = ctx.inputAs(ctx.in("self"), type);
  auto pads = poolPads(ctx, w.kernel, w.stride, w.padding, std::vector<int64_t>(spatial, 1));
  bool padded = false;
  for (int64_t p : w.padding) padded = padded || p != 0;
  if (countPad && padded) {
    // LibTorch divides by the window's overlap with the zero-padded input (a window
    // reaching past it in ceil mode counts less): pad with zeros explicitly and count
    // only what the window covers of that.
    const int64_t rank = ctx.rank(ctx.in("self"));
    std::vector<int64_t> explicitPads(2 * rank, 0);
    for (size_t d = 0; d < spatial; ++d) {
      explicitPads[rank - spatial + d] = w.padding[d];
      explicitPads[2 * rank - spatial + d] = w.padding[d];
      pads[d] -= w.padding[d];
      pads[d + spatial] -= w.padding[d];
    }
    x = ctx.op("Pad", {x, ctx.constInts(explicitPads), ctx.scalar(0.0, type)}, {attr::s("mode", "constant")});
  }
  ctx.setOutput(ctx.op("AveragePool", {x},
                       {attr::ints("kernel_shape", w.kernel), attr::ints("strides", w.stride),
                        attr::ints("pads", pads), attr::i("count_include_pad", 0)}),
                type);
}

void adaptivePool(ConvertContext& ctx, const std::string& globalOp, const std::string& windowOp) {
  const auto type = ctx.dtype(ctx.out());
  const size_t spatial = static_cast<size_t>(ctx.rank(ctx.in("self"))) - 2;
  auto outSize = expand(ctx.toInts(ctx.in("output_size")), spatial);
  std::string x = ctx.inputAs(ctx.in("self"), type);
  bool global = true;
  for (size_t d = 0; d < spatial; ++d) global = global && outSize[d] == 1;
  if (global) {
    ctx.setOutput(ctx.op(globalOp, {x}), type);
    return;
  }
  std::vector<int64_t> inShape(2, 0);  // the spatial dims, which must be fixed here
  for (size_t d = 0; d < spatial; ++d) inShape.push_back(ctx.dim(ctx.in("self"), static_cast<int64_t>(2 + d)));
  bool divisible = true;
  for (size_t d = 0; d < spatial; ++d)
    divisible = divisible && outSize[d] > 0 && inShape[2 + d] % outSize[d] == 0;
  if (divisible) {
    std::vector<int64_t> kernel;
    for (size_t d = 0; d < spatial; ++d) kernel.push_back(inShape[2 + d] / outSize[d]);
    ctx.setOutput(ctx.op(windowOp, {x}, {attr::ints("kernel_shape", kernel), attr::ints("strides", kernel)}), type);
    return;
  }
  // Uneven windows: output cell i covers [floor(i*in/out), ceil((i+1)*in/out)). Mean and
  // max over such a box can be taken one dim at a time, each cell a Slice and a Reduce.
  const std::string reduceOp = windowOp == "MaxPool" ? "ReduceMax" : "ReduceMean";
  for (size_t d = 0; d < spatial; ++d) {
    const int64_t axis = static_cast<int64_t>(2 + d);
    const int64_t in = inShape[axis];
    if (outSize[d] == in) continue;
    std::vector<std::string> cells;
    for (int64_t i = 0; i < outSize[d]; ++i) {
      const int64_t start = (i * in) / outSize[d];
      const int64_t end = ((i + 1) * in + outSize[d] - 1) / outSize[d];
      std::string cell = ctx.op("Slice", {x, ctx.constInts({start}), ctx.constInts({end}), ctx.constInts({axis})});
      cells.push_back(ctx.op(reduceOp, {cell}, {attr::ints("axes", {axis}), attr::i("keepdims", 1)}));
    }
    x = cells.size() == 1 ? cells[0] : ctx.op("Concat", cells, {attr::i("axis", axis)});
  }
  ctx.setOutput(x, type);
}

// pixel_shuffle / pixel_unshuffle: [*, C*r*r, H, W] <-> [*, C, H*r, W*r] as one 6-D
// Reshape/Transpose/Reshape, channel-major as LibTorch orders them.
void pixelShuffle(ConvertContext& ctx, bool unshuffle) {
  const auto type = ctx.dtype(ctx.out());
  const auto& inShape = ctx.sizes(ctx.in("self"));
  const int64_t r = ctx.toInt(ctx.in(unshuffle ? "downscale_factor" : "upscale_factor"));
  const size_t rank = inShape.size();
  int64_t lead = 1;
  for (size_t d = 0; d + 3 < rank; ++d) lead *= inShape[d];
  const int64_t c = inShape[rank - 3], h = inShape[rank - 2], w = inShape[rank - 1];
  std::vector<int64_t> split, perm;
  if (unshuffle) {
    split = {lead, c, h / r, r, w / r, r};
    perm = {0, 1, 3, 5, 2, 4};
  } else {
    split = {lead, c / (r * r), r, r, h, w};
    perm = {0, 1, 4, 2, 5, 3};
  }
  std::string y = ctx.op("Reshape", {ctx.inputAs(ctx.in("self"), type), ctx.constInts(split)});
  y = ctx.op("Transpose", {y}, {attr::ints("perm", perm)});
  ctx.setOutput(ctx.op("Reshape", {y, ctx.constInts(ctx.sizes(ctx.out()))}), type);
}

// channel_shuffle(x, groups): channels [g, C/g] read back as [C/g, g].
void channelShuffle(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const auto& shape = ctx.sizes(ctx.in("self"));
  const int64_t groups = ctx.toInt(ctx.in("groups"));
  int64_t rest = 1;
  for (size_t d = 2; d < shape.size(); ++d) rest *= shape[d];
  std::string y = ctx.op("Reshape", {ctx.inputAs(ctx.in("self"), type), ctx.constInts({shape[0], groups, shape[1] / groups, rest})});
  y = ctx.op("Transpose", {y}, {attr::ints("perm", {0, 2, 1, 3})});
  ctx.setOutput(ctx.op("Reshape", {y, ctx.constInts(shape)}), type);
}

std::optional<std::vector<double>> optionalDoubles(ConvertContext& ctx, const Value* arg) {
  if (!ctx.given(arg)) return std::nullopt;
  const auto& v = ctx.staticValue(arg);
  if (v.isDoubleList()) return v.toDoubleVector();
  return std::vector<double>{v.toDouble()};
}

// An int64 1-D constant that ONNX shape inference can read where the node using it is:
// an initializer in the main graph, a Constant node inside a subgraph (inference reads
// no outer-scope initializer's data there).
std::string readableInts(ConvertContext& ctx, const std::vector<int64_t>& values) {
  if (!ctx.inSubgraph()) return ctx.constInts(values);
  return ctx.op("Constant", {}, {attr::tensor("value", toTensorProto(torch::tensor(values, at::kLong), "value"))});
}

// The Resize `sizes` [N, C, output_size...] when the output size is known only at run time.
// In the main graph as before (Shape/Slice, ctx.intListInput). Inside a subgraph
// (torchvision's paste-masks / heatmap Loop) every Slice bound and Unsqueeze axis is a
// local Constant: with outer-scope initializers the Slice and (opset 13+) Unsqueeze
// outputs have unknown lengths, the Concat too, and onnx's full check rejects the Resize
// ("Number of elements of input 'sizes' (0) must be same as rank of input 'X'").
std::string runTimeResizeSizes(ConvertContext& ctx, const std::string& x, bool opset13Forms) {
  const Value* outputSize = ctx.arg("output_size");
  if (!ctx.inSubgraph()) {
    std::string leading = ctx.op("Slice", {ctx.op("Shape", {x}), ctx.constInts({0}), ctx.constInts({2})});
    return ctx.op("Concat", {leading, ctx.intListInput(outputSize)}, {attr::i("axis", 0)});
  }
  std::vector<std::string> parts{
      ctx.op("Slice", {ctx.op("Shape", {x}), readableInts(ctx, {0}), readableInts(ctx, {2})})};
  const torch::jit::Node* producer = outputSize->node();
  if (ctx.isStatic(outputSize)) {
    parts.push_back(readableInts(ctx, ctx.toInts(outputSize)));
  } else if (producer->kind() != c10::prim::ListConstruct) {
    parts.push_back(ctx.input(outputSize));
  } else {
    for (const Value* element : producer->inputs()) {
      if (ctx.isStatic(element)) {
        parts.push_back(readableInts(ctx, {ctx.toInt(element)}));
      } else if (opset13Forms) {  // Unsqueeze's axes an input
        parts.push_back(ctx.op("Unsqueeze", {ctx.inputAs(element, at::kLong), readableInts(ctx, {0})}));
      } else {
        parts.push_back(ctx.op("Unsqueeze", {ctx.inputAs(element, at::kLong)}, {attr::ints("axes", {0})}));
      }
    }
  }
  return ctx.op("Concat", parts, {attr::i("axis", 0)});
}

// upsample with sizes that follow the dynamic axes: Resize by the scale factors when
// LibTorch maps coordinates by them, else to a `sizes` of x's leading dims (Shape) and
// output_size, whose elements may be run-time ints.
void upsampleToRunTimeSize(ConvertContext& ctx, const Value* input, const std::vector<double>& scales, bool useScales,
                           const std::vector<onnx::AttributeProto>& attrs, at::ScalarType type, bool opset13Forms) {
  const std::string noTensor = opset13Forms ? "" : ctx.constant(torch::zeros({0}, at::kFloat), "empty");
  std::string x = ctx.inputAs(input, type);
  std::vector<std::string> ins{x, noTensor};
  if (useScales) {
    std::vector<float> scaleValues{1.0f, 1.0f};
    const auto& inDynamic = ctx.fact(input).dynamicDims;
    const auto& outDynamic = ctx.fact(ctx.out()).dynamicDims;
    for (size_t d = 0; d < scales.size(); ++d) {
      float scale = static_cast<float>(scales[d]);
      const auto axis = static_cast<int64_t>(2 + d);
      // As in the fixed-size case: nudged up where the float would lose an output element.
      if (std::count(inDynamic.begin(), inDynamic.end(), axis) == 0 &&
          std::count(outDynamic.begin(), outDynamic.end(), axis) == 0) {
        const float inSize = static_cast<float>(ctx.dim(input, axis));
        while (static_cast<int64_t>(inSize * scale) < ctx.dim(ctx.out(), axis))
          scale = std::nextafter(scale, 2.0f * scale + 1.0f);
      }
      scaleValues.push_back(scale);
    }
    ins.push_back(ctx.constant(torch::tensor(scaleValues, at::kFloat), "scales"));
  } else {
    if (!ctx.given("output_size")) ctx.unsupported("upsample by scale factors with align_corners under dynamic axes");
    ins.push_back(noTensor);
    ins.push_back(runTimeResizeSizes(ctx, x, opset13Forms));
  }
  ctx.setOutput(ctx.op("Resize", ins, attrs), type);
}

// upsample_{nearest,linear,bilinear,trilinear,bicubic}{1,2,3}d, as ONNX Resize. Both
// schemas: the "vec" overload (input, output_size?, [align_corners,] scale_factors?) and
// the per-dim one (self, output_size, [align_corners,] scales_d...).
// `opset13Forms`: Resize leaves unused optional inputs out ("") and Unsqueeze takes its
// axes as an input (opset 13 on); before, an empty tensor and an attribute.
void upsample(ConvertContext& ctx, const std::string& mode, bool opset13Forms) {
  const auto type = ctx.dtype(ctx.out());
  const bool nearest = mode == "nearest";
  const bool vec = ctx.node()->schema().overload_name() == "vec";
  const Value* input = ctx.in(vec ? "input" : "self");
  const size_t spatial = static_cast<size_t>(ctx.rank(input) - 2);
  const bool alignCorners = !nearest && ctx.toBool(ctx.arg("align_corners"));
  // The per-dim scales by name: align_corners shifts their positions.
  static const char* const perDim[3][3] = {{"scales"}, {"scales_h", "scales_w"}, {"scales_d", "scales_h", "scales_w"}};
  if (!vec && (spatial < 1 || spatial > 3)) ctx.unsupported("upsample of " + std::to_string(spatial) + " spatial dims");
  // LibTorch maps output to input coordinates with the given scale factors when there
  // are any (and corners are not aligned), otherwise with in/out sizes.
  std::vector<double> scales;
  if (vec) {
    if (auto factors = optionalDoubles(ctx, ctx.arg("scale_factors"))) scales = expand(*factors, spatial);
  } else {
    for (size_t d = 0; d < spatial; ++d) {
      auto s = optionalDoubles(ctx, ctx.arg(perDim[spatial - 1][d]));
      if (!s) {
        scales.clear();
        break;
      }
      scales.push_back((*s)[0]);
    }
  }
  std::vector<onnx::AttributeProto> attrs{attr::s("mode", mode)};
  if (nearest) {
    attrs.push_back(attr::s("coordinate_transformation_mode", "asymmetric"));
    attrs.push_back(attr::s("nearest_mode", "floor"));
  } else {
    attrs.push_back(attr::s("coordinate_transformation_mode", alignCorners ? "align_corners" : "pytorch_half_pixel"));
    if (mode == "cubic") attrs.push_back(attr::f("cubic_coeff_a", -0.75f));
  }
  const bool useScales = !scales.empty() && !alignCorners;
  if (ctx.hasDynamicDims(input) || ctx.hasDynamicDims(ctx.out())) {
    upsampleToRunTimeSize(ctx, input, scales, useScales, attrs, type, opset13Forms);
    return;
  }
  std::vector<float> scaleValues{1.0f, 1.0f};
  const auto& inShape = ctx.sizes(input);
  const auto& outShape = ctx.sizes(ctx.out());
  for (size_t d = 0; d < scales.size(); ++d) {
    // LibTorch sizes the output with the double factor, the runtime with its float: nudge
    // the float up where rounding it down would lose an output element.
    float scale = static_cast<float>(scales[d]);
    // LibTorch's nearest index is the output index itself when a dim keeps its size, and
    // half of it when the size doubles, whatever the factor given.
    if (nearest && outShape[2 + d] == inShape[2 + d]) scale = 1.0f;
    if (nearest && outShape[2 + d] == 2 * inShape[2 + d]) scale = 2.0f;
    const float inSize = static_cast<float>(inShape[2 + d]);
    while (static_cast<int64_t>(inSize * scale) < outShape[2 + d]) scale = std::nextafter(scale, 2.0f * scale + 1.0f);
    scaleValues.push_back(scale);
  }
  const std::string noTensor = opset13Forms ? "" : ctx.constant(torch::zeros({0}, at::kFloat), "empty");
  std::string roi = noTensor;
  std::vector<std::string> ins{ctx.inputAs(input, type), roi};
  if (useScales) {
    ins.push_back(ctx.constant(torch::tensor(scaleValues, at::kFloat), "scales"));
  } else {
    // Before opset 13 an empty scales tensor stands for "not given".
    ins.push_back(noTensor);
    ins.push_back(ctx.constInts(ctx.sizes(ctx.out())));
  }
  ctx.setOutput(ctx.op("Resize", ins, attrs), type);
}

}  // namespace

void registerNnConverters(ConverterRegistry& r) {
  r.add("aten::linear", linear, sizedBy(SizeFormula::Linear));
  r.add("aten::matmul", [](ConvertContext& c) { matmul(c, "other"); }, sizedBy(SizeFormula::Matmul));
  r.add("aten::mm", [](ConvertContext& c) { matmul(c, "mat2"); }, sizedBy(SizeFormula::Mm));
  r.add("aten::bmm", [](ConvertContext& c) { matmul(c, "mat2"); }, sizedBy(SizeFormula::Bmm));
  r.add("aten::addmm", addmm, sizedBy(SizeFormula::Addmm));
  r.add("aten::baddbmm", baddbmm, sizedBy(SizeFormula::Baddbmm));
  // ids index the weight's rows
  r.add("aten::embedding", embedding, indexAt(1, 0));
  r.add("aten::layer_norm", OpsetForms{{kMinOpset, [](ConvertContext& c) { layerNorm(c, false); }},
                                       {17, [](ConvertContext& c) { layerNorm(c, true); }}},
        keepsSize());
  r.add("aten::rms_norm", rmsNorm);
  r.add("aten::softmax",
        OpsetForms{{kMinOpset, [](ConvertContext& c) { softmax(c, "Softmax", false); }},
                   {13, [](ConvertContext& c) { softmax(c, "Softmax", true); }}},
        keepsSize(KeepsInputSize::WithoutDtype));
  r.add("aten::log_softmax",
        OpsetForms{{kMinOpset, [](ConvertContext& c) { softmax(c, "LogSoftmax", false); }},
                   {13, [](ConvertContext& c) { softmax(c, "LogSoftmax", true); }}},
        keepsSize(KeepsInputSize::WithoutDtype));
  r.add("aten::_convolution", [](ConvertContext& c) { convolution(c, true, false); },
        sizedBy(SizeFormula::Convolution));
  // Not converted (TorchScript calls _convolution), but its sizes are known.
  r.declare("aten::convolution", sizedBy(SizeFormula::Convolution));
  for (const char* kind : {"aten::conv1d", "aten::conv2d", "aten::conv3d"})
    r.add(kind, [](ConvertContext& c) { convolution(c, false, false); }, sizedBy(SizeFormula::ConvNd));
  for (const char* kind : {"aten::conv_transpose1d", "aten::conv_transpose2d", "aten::conv_transpose3d"})
    r.add(kind, [](ConvertContext& c) { convolution(c, false, true); }, sizedBy(SizeFormula::ConvTransposeNd));
  r.add("aten::batch_norm", batchNorm, keepsSize());
  r.add("aten::_native_batch_norm_legit_no_training", batchNormNoTraining);
  r.add("aten::_weight_norm", weightNorm);
  r.add("aten::instance_norm", instanceNorm, keepsSize());
  r.add("aten::group_norm", groupNorm, keepsSize());
  r.add("aten::pixel_shuffle", [](ConvertContext& c) { pixelShuffle(c, false); });
  r.add("aten::pixel_unshuffle", [](ConvertContext& c) { pixelShuffle(c, true); });
  r.add("aten::channel_shuffle", channelShuffle);
  // Resize's and Unsqueeze's opset-13 forms.
  auto upsampleForms = [](std::string mode) {
    return OpsetForms{{kMinOpset, [mode](ConvertContext& c) { upsample(c, mode, false); }},
                      {13, [mode](ConvertContext& c) { upsample(c, mode, true); }}};
  };
  for (const char* kind : {"aten::upsample_nearest1d", "aten::upsample_nearest2d", "aten::upsample_nearest3d"})
    r.add(kind, upsampleForms("nearest"));
  for (const char* kind : {"aten::upsample_linear1d", "aten::upsample_bilinear2d", "aten::upsample_trilinear3d"})
    r.add(kind, upsampleForms("linear"));
  r.add("aten::upsample_bicubic2d", upsampleForms("cubic"));
  for (const char* kind : {"aten::max_pool1d", "aten::max_pool2d", "aten::max_pool3d"}) r.add(kind, maxPool, dataBlind());
  for (const char* kind : {"aten::max_pool1d_with_indices", "aten::max_pool2d_with_indices", "aten::max_pool3d_with_indices"})
    r.add(kind, [](ConvertContext& c) {
      // ONNX MaxPool's indices count over the whole tensor, LibTorch's over each plane.
      if (!c.out(1)->uses().empty()) c.unsupported("max pool indices");
      maxPool(c);
    });
  for (const char* kind : {"aten::avg_pool1d", "aten::avg_pool2d", "aten::avg_pool3d"}) r.add(kind, avgPool, dataBlind());
  for (const char* kind : {"aten::adaptive_avg_pool1d", "aten::adaptive_avg_pool2d", "aten::adaptive_avg_pool3d"})
    r.add(kind, [](ConvertContext& c) { adaptivePool(c, "GlobalAveragePool", "AveragePool"); }, dataBlind());
  for (const char* kind : {"aten::adaptive_max_pool1d", "aten::adaptive_max_pool2d"})
    r.add(kind, [](ConvertContext& c) {
      if (c.node()->outputs().size() > 1 && !c.out(1)->uses().empty()) c.unsupported("adaptive max pool indices");
      adaptivePool(c, "GlobalMaxPool", "MaxPool");
    });
}

}  // namespace modelexport

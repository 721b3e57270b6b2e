#include "modelexport/shape_only_run.h"

#include <string>
#include <unordered_map>

#include "modelexport/value_facts.h"

namespace modelexport {
namespace {

using torch::jit::Node;
using torch::jit::Value;

enum class Heavy { None, Convolution, ConvNd, ConvTransposeNd, Linear, Mm, Addmm, Bmm, Baddbmm, Matmul };

Heavy heavyKind(const Node* node) {
  static const std::unordered_map<std::string, Heavy> kinds = {
      {"aten::_convolution", Heavy::Convolution},         {"aten::convolution", Heavy::Convolution},
      {"aten::conv1d", Heavy::ConvNd},                    {"aten::conv2d", Heavy::ConvNd},
      {"aten::conv3d", Heavy::ConvNd},                    {"aten::conv_transpose1d", Heavy::ConvTransposeNd},
      {"aten::conv_transpose2d", Heavy::ConvTransposeNd}, {"aten::conv_transpose3d", Heavy::ConvTransposeNd},
      {"aten::linear", Heavy::Linear},                    {"aten::mm", Heavy::Mm},
      {"aten::addmm", Heavy::Addmm},                      {"aten::bmm", Heavy::Bmm},
      {"aten::baddbmm", Heavy::Baddbmm},                  {"aten::matmul", Heavy::Matmul}};
  auto it = kinds.find(node->kind().toQualString());
  return it == kinds.end() ? Heavy::None : it->second;
}

// Ops whose result has their first input's sizes and dtype (given a floating input and,
// for softmax, no dtype argument; binary ones only for a same-size, same-dtype operand or
// a number): their data is not needed, so the input itself stands in for the result.
bool keepsInputSizeAndDtype(const Node* node) {
  static const std::unordered_set<std::string> kinds = {
      "aten::relu", "aten::relu_", "aten::relu6", "aten::gelu", "aten::silu", "aten::silu_", "aten::sigmoid",
      "aten::sigmoid_", "aten::tanh", "aten::tanh_", "aten::hardtanh", "aten::hardtanh_", "aten::hardswish",
      "aten::hardswish_", "aten::hardsigmoid", "aten::hardsigmoid_", "aten::leaky_relu", "aten::leaky_relu_",
      "aten::elu", "aten::elu_", "aten::mish", "aten::softplus", "aten::neg", "aten::exp", "aten::log",
      "aten::sqrt", "aten::rsqrt", "aten::abs", "aten::erf", "aten::clamp", "aten::clamp_", "aten::clamp_min",
      "aten::clamp_max", "aten::reciprocal", "aten::batch_norm", "aten::layer_norm", "aten::group_norm",
      "aten::instance_norm", "aten::softmax", "aten::log_softmax", "aten::dropout", "aten::feature_dropout",
      "aten::contiguous", "aten::detach", "aten::add", "aten::add_", "aten::sub", "aten::sub_", "aten::mul",
      "aten::mul_", "aten::div", "aten::div_"};
  const std::string kind = node->kind().toQualString();
  // aten::div only in its 2-argument form: rounding modes divide integers, and may fail.
  if ((kind == "aten::div" || kind == "aten::div_") && node->inputs().size() != 2) return false;
  return kinds.count(kind) != 0;
}

bool isBinaryArithmetic(const Node* node) {
  static const std::unordered_set<std::string> kinds = {"aten::add", "aten::add_", "aten::sub", "aten::sub_",
                                                        "aten::mul", "aten::mul_", "aten::div", "aten::div_"};
  return kinds.count(node->kind().toQualString()) != 0;
}

// Ops whose output sizes follow from their inputs' sizes and non-tensor arguments alone,
// and which never fail on any data (no integer division, no indices taken from data):
// garbage in, garbage of the right size out.
bool isDataBlind(const Node* node) {
  static const std::unordered_set<std::string> kinds = {
      // besides those that keep their input's size (keepsInputSizeAndDtype)
      "aten::pow", "aten::square", "aten::maximum", "aten::minimum", "aten::where", "aten::masked_fill",
      "aten::max_pool1d", "aten::max_pool2d", "aten::max_pool3d", "aten::avg_pool1d", "aten::avg_pool2d",
      "aten::avg_pool3d", "aten::adaptive_avg_pool1d", "aten::adaptive_avg_pool2d", "aten::adaptive_avg_pool3d",
      "aten::mean", "aten::sum",
      // layout
      "aten::view", "aten::reshape", "aten::flatten", "aten::transpose", "aten::permute", "aten::unsqueeze",
      "aten::squeeze", "aten::expand", "aten::expand_as", "aten::slice", "aten::select", "aten::narrow",
      "aten::chunk", "aten::split", "aten::unbind", "aten::t", "aten::cat", "aten::stack", "aten::to",
      "aten::type_as",
      // the heavy ops themselves, and containers passing values through
      "aten::_convolution", "aten::convolution", "aten::conv1d", "aten::conv2d", "aten::conv3d",
      "aten::conv_transpose1d", "aten::conv_transpose2d", "aten::conv_transpose3d", "aten::linear", "aten::mm",
      "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::matmul", "prim::ListConstruct", "prim::ListUnpack",
      "prim::TupleConstruct", "prim::TupleUnpack"};
  return kinds.count(node->kind().toQualString()) != 0 || keepsInputSizeAndDtype(node);
}

// Ops that read only the sizes of their tensor inputs.
bool readsOnlySizes(const Node* node) {
  static const std::unordered_set<std::string> kinds = {"aten::size", "aten::dim", "aten::numel",
                                                        "prim::shape", "aten::sizes", "prim::dtype",
                                                        "prim::device", "aten::__is__", "aten::__isnot__"};
  return kinds.count(node->kind().toQualString()) != 0;
}

void collectUsedInside(const torch::jit::Block* block, std::unordered_set<const Value*>& needed) {
  for (const Node* node : block->nodes()) {
    for (const Value* in : node->inputs()) needed.insert(in);
    for (const torch::jit::Block* inner : node->blocks()) collectUsedInside(inner, needed);
  }
  for (const Value* out : block->outputs()) needed.insert(out);
}

std::vector<int64_t> intList(const c10::IValue& v, size_t n) {
  std::vector<int64_t> xs = v.isIntList() ? v.toIntVector() : std::vector<int64_t>{v.toInt()};
  if (xs.size() == 1 && n > 1) xs.assign(n, xs[0]);
  return xs;
}

// Sizes of a batched convolution: stride, padding, dilation and output padding per
// spatial dim (PyTorch's Conv and ConvTranspose docs give the formulas).
c10::optional<std::vector<int64_t>> convolutionSizes(const at::Tensor& input, const at::Tensor& weight,
                                                     const c10::IValue& strideArg, const c10::IValue& paddingArg,
                                                     const c10::IValue& dilationArg, bool transposed,
                                                     const c10::IValue& outputPaddingArg, int64_t groups) {
  // A channels-last input gives a channels-last result, not the contiguous stand-in.
  if (input.dim() != weight.dim() || input.dim() < 3 || groups < 1 || !paddingArg.isIntList() ||
      !input.is_contiguous())
    return c10::nullopt;
  const size_t spatial = static_cast<size_t>(input.dim() - 2);
  auto stride = intList(strideArg, spatial), padding = intList(paddingArg, spatial);
  auto dilation = intList(dilationArg, spatial);
  auto outputPadding = transposed ? intList(outputPaddingArg, spatial) : std::vector<int64_t>(spatial, 0);
  if (stride.size() != spatial || padding.size() != spatial || dilation.size() != spatial ||
      outputPadding.size() != spatial)
    return c10::nullopt;
  const int64_t inChannels = transposed ? weight.size(0) : weight.size(1) * groups;
  if (input.size(1) != inChannels) return c10::nullopt;
  std::vector<int64_t> sizes = {input.size(0), transposed ? weight.size(1) * groups : weight.size(0)};
  for (size_t d = 0; d < spatial; ++d) {
    const int64_t in = input.size(static_cast<int64_t>(d) + 2);
    const int64_t kernel = weight.size(static_cast<int64_t>(d) + 2);
    const int64_t out = transposed ? (in - 1) * stride[d] - 2 * padding[d] + dilation[d] * (kernel - 1) +
                                         outputPadding[d] + 1
                                   : (in + 2 * padding[d] - dilation[d] * (kernel - 1) - 1) / stride[d] + 1;
    if (stride[d] < 1 || out < 1 || (!transposed && in + 2 * padding[d] < dilation[d] * (kernel - 1) + 1))
      return c10::nullopt;
    sizes.push_back(out);
  }
  return sizes;
}

// a @ b for a, b of at least 2 dims: batch dims broadcast, then rows of a by columns of b.
c10::optional<std::vector<int64_t>> matmulSizes(const at::Tensor& a, const at::Tensor& b) {
  if (a.dim() < 2 || b.dim() < 2 || a.size(-1) != b.size(-2)) return c10::nullopt;
  const int64_t batchDims = std::max(a.dim(), b.dim()) - 2;
  std::vector<int64_t> sizes;
  for (int64_t d = 0; d < batchDims; ++d) {
    const int64_t ia = d - (batchDims - (a.dim() - 2)), ib = d - (batchDims - (b.dim() - 2));
    const int64_t sa = ia >= 0 ? a.size(ia) : 1, sb = ib >= 0 ? b.size(ib) : 1;
    if (sa != sb && sa != 1 && sb != 1) return c10::nullopt;
    sizes.push_back(sa == 1 ? sb : sa);
  }
  sizes.push_back(a.size(-2));
  sizes.push_back(b.size(-1));
  return sizes;
}

}  // namespace

std::unordered_set<const Node*> nodesNeedingOnlySizes(const torch::jit::Graph& graph) {
  std::unordered_set<const Value*> needed;
  std::vector<const Node*> order(graph.nodes().begin(), graph.nodes().end());
  for (const Node* node : order)
    for (const torch::jit::Block* block : node->blocks()) collectUsedInside(block, needed);
  std::unordered_set<const Node*> result;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const Node* node = *it;
    if (readsOnlySizes(node)) continue;
    bool outputNeeded = false;
    for (const Value* out : node->outputs()) outputNeeded = outputNeeded || needed.count(out) != 0;
    // An in-place op writes its first input, which later users read under that name.
    if (isInPlaceKind(node->kind().toQualString()) && !node->inputs().empty())
      outputNeeded = outputNeeded || needed.count(node->input(0)) != 0;
    if (!isDataBlind(node) || outputNeeded) {
      for (const Value* in : node->inputs()) needed.insert(in);
    } else if (heavyKind(node) != Heavy::None || keepsInputSizeAndDtype(node)) {
      result.insert(node);
    }
  }
  return result;
}

bool resultHasInputSizeAndDtype(const Node* node, c10::ArrayRef<c10::IValue> in) {
  if (!keepsInputSizeAndDtype(node) || node->outputs().size() != 1 || in.empty() || !in[0].isTensor()) return false;
  const at::Tensor& x = in[0].toTensor();
  // A strided input (a transpose) would lend its strides, and views downstream read them.
  if (!at::isFloatingType(x.scalar_type()) || !x.is_contiguous()) return false;
  const std::string kind = node->kind().toQualString();
  if ((kind == "aten::softmax" || kind == "aten::log_softmax") && (in.size() < 3 || !in[2].isNone())) return false;
  if (kind.rfind("aten::clamp", 0) == 0)  // tensor bounds broadcast
    for (size_t i = 1; i < in.size(); ++i)
      if (in[i].isTensor()) return false;
  if (isBinaryArithmetic(node)) {
    if (in.size() < 2) return false;
    if (in[1].isDouble()) return true;
    if (!in[1].isTensor()) return false;  // an int scalar is fine too, but rare enough to run
    const at::Tensor& y = in[1].toTensor();
    return y.scalar_type() == x.scalar_type() && y.sizes() == x.sizes() && y.is_contiguous();
  }
  return true;
}

c10::optional<std::vector<int64_t>> outputSizesWithoutComputing(const Node* node,
                                                                c10::ArrayRef<c10::IValue> in) {
  const Heavy heavy = heavyKind(node);
  if (heavy == Heavy::None) return c10::nullopt;
  for (size_t i = 0; i < std::min<size_t>(in.size(), 3); ++i)
    if (!in[i].isTensor() && !(i == 2 && in[i].isNone())) return c10::nullopt;
  const at::Tensor& x = in[0].toTensor();
  const at::Tensor& y = in[1].toTensor();
  const at::Tensor* z = in.size() > 2 && in[2].isTensor() ? &in[2].toTensor() : nullptr;
  if (x.scalar_type() != y.scalar_type() || (z && z->scalar_type() != x.scalar_type()) ||
      !at::isFloatingType(x.scalar_type()))
    return c10::nullopt;
  switch (heavy) {
    case Heavy::Convolution:  // input, weight, bias, stride, padding, dilation, transposed, output_padding, groups
      return convolutionSizes(x, y, in[3], in[4], in[5], in[6].toBool(), in[7], in[8].toInt());
    case Heavy::ConvNd:  // input, weight, bias, stride, padding, dilation, groups
      return convolutionSizes(x, y, in[3], in[4], in[5], false, c10::IValue(), in[6].toInt());
    case Heavy::ConvTransposeNd:  // input, weight, bias, stride, padding, output_padding, groups, dilation
      return convolutionSizes(x, y, in[3], in[4], in[7], true, in[5], in[6].toInt());
    case Heavy::Linear: {
      if (x.dim() < 1 || y.dim() != 2 || x.size(-1) != y.size(1)) return c10::nullopt;
      std::vector<int64_t> sizes = x.sizes().vec();
      sizes.back() = y.size(0);
      return sizes;
    }
    case Heavy::Mm:
    case Heavy::Bmm:
      if (x.dim() != (heavy == Heavy::Mm ? 2 : 3) || y.dim() != x.dim()) return c10::nullopt;
      if (heavy == Heavy::Bmm && x.size(0) != y.size(0)) return c10::nullopt;
      return matmulSizes(x, y);
    case Heavy::Addmm:
    case Heavy::Baddbmm: {  // self, a, b: self broadcasts to a @ b
      if (!z || z->dim() != (heavy == Heavy::Addmm ? 2 : 3) || y.dim() != z->dim()) return c10::nullopt;
      if (heavy == Heavy::Baddbmm && y.size(0) != z->size(0)) return c10::nullopt;
      auto sizes = matmulSizes(y, *z);
      if (!sizes || x.dim() > static_cast<int64_t>(sizes->size())) return c10::nullopt;
      for (int64_t d = 1; d <= x.dim(); ++d)
        if (x.size(-d) != 1 && x.size(-d) != (*sizes)[sizes->size() - static_cast<size_t>(d)]) return c10::nullopt;
      return sizes;
    }
    case Heavy::Matmul:
      return matmulSizes(x, y);
    case Heavy::None:
      break;
  }
  return c10::nullopt;
}

}  // namespace modelexport

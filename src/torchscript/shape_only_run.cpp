#include "modelexport/shape_only_run.h"

#include <algorithm>
#include <string>
#include <unordered_map>

#include "modelexport/node_op_facts.h"
#include "modelexport/value_facts.h"

namespace modelexport {
namespace {

using torch::jit::Node;
using torch::jit::Value;

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

// scaled_dot_product_attention(q, k, v): q's sizes with v's last, for the forms LibTorch
// takes (PyTorch's docs: q (..., L, E), k (..., S, E), v (..., S, Ev), a mask that
// broadcasts to (..., L, S); with enable_gqa, k and v may have fewer heads, dividing q's).
c10::optional<std::vector<int64_t>> attentionSizes(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                                   const c10::IValue& mask, bool gqa) {
  const int64_t n = q.dim();
  if (n < 3 || k.dim() != n || v.dim() != n || q.size(-1) != k.size(-1) || k.size(-2) != v.size(-2))
    return c10::nullopt;
  for (int64_t d = 0; d < n - 2; ++d) {
    const bool heads = d == n - 3;
    if (k.size(d) != v.size(d)) return c10::nullopt;
    if (k.size(d) != q.size(d) && !(gqa && heads && k.size(d) > 0 && q.size(d) % k.size(d) == 0))
      return c10::nullopt;
  }
  if (mask.isTensor()) {
    const at::Tensor& m = mask.toTensor();
    if (m.dim() > n) return c10::nullopt;
    for (int64_t d = 1; d <= m.dim(); ++d) {
      const int64_t want = d == 1 ? k.size(-2) : q.size(-d);
      if (m.size(-d) != 1 && m.size(-d) != want) return c10::nullopt;
    }
  } else if (!mask.isNone()) {
    return c10::nullopt;
  }
  std::vector<int64_t> sizes = q.sizes().vec();
  sizes.back() = v.size(-1);
  return sizes;
}

// Attention run on two query rows and two key rows of these inputs (the mask sliced to
// match): its result's layout in memory, for a stand-in laid out the same way.
at::Tensor attentionLayoutProbe(const Node* node, c10::ArrayRef<c10::IValue> in) {
  auto rows = [](const at::Tensor& t, int64_t dim) { return t.size(dim) > 2 ? t.narrow(dim, 0, 2) : t; };
  torch::jit::Stack probe(in.begin(), in.end());
  probe[0] = rows(in[0].toTensor(), -2);
  probe[1] = rows(in[1].toTensor(), -2);
  probe[2] = rows(in[2].toTensor(), -2);
  if (in[3].isTensor()) {
    const at::Tensor& mask = in[3].toTensor();
    probe[3] = mask.dim() >= 2 ? rows(rows(mask, -1), -2) : rows(mask, -1);
  }
  node->getOperation()(probe);
  return probe.back().toTensor();
}

// Zeros of `sizes` whose dims lie in memory in the order they do in `probe` (outermost
// first; by decreasing stride, ties in dim order).
at::Tensor zerosLaidOutAs(const std::vector<int64_t>& sizes, const at::Tensor& probe, const at::TensorOptions& options) {
  std::vector<int64_t> order(sizes.size());
  for (size_t d = 0; d < order.size(); ++d) order[d] = static_cast<int64_t>(d);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return probe.stride(a) > probe.stride(b); });
  std::vector<int64_t> stored(sizes.size()), back(sizes.size());
  for (size_t i = 0; i < order.size(); ++i) {
    stored[i] = sizes[static_cast<size_t>(order[i])];
    back[static_cast<size_t>(order[i])] = static_cast<int64_t>(i);
  }
  return at::zeros(stored, options).permute(back);
}

}  // namespace

at::Tensor standInOfSize(const Node* node, const OpFactsTable& ops, c10::ArrayRef<c10::IValue> in,
                         const std::vector<int64_t>& sizes) {
  const at::TensorOptions options = in[0].toTensor().options();
  if (opFactsOrNone(ops, node).sizeFormula != SizeFormula::Attention) return at::zeros(sizes, options);
  // LibTorch's CPU attention kernels return (B, L, H, E) transposed on some paths and a
  // contiguous result on others; views downstream work only on the layout the model met.
  const at::Tensor probe = attentionLayoutProbe(node, in);
  if (probe.dim() != static_cast<int64_t>(sizes.size())) return at::zeros(sizes, options);
  return zerosLaidOutAs(sizes, probe, options);
}

std::unordered_set<const Node*> nodesNeedingOnlySizes(const torch::jit::Graph& graph, const OpFactsTable& ops) {
  std::unordered_set<const Value*> needed;
  std::vector<const Node*> order(graph.nodes().begin(), graph.nodes().end());
  for (const Node* node : order)
    for (const torch::jit::Block* block : node->blocks()) collectUsedInside(block, needed);
  std::unordered_set<const Node*> result;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const Node* node = *it;
    const OpFacts& facts = opFactsOrNone(ops, node);
    if (facts.has(OpFacts::kReadsOnlySizes)) continue;
    bool outputNeeded = false;
    for (const Value* out : node->outputs()) outputNeeded = outputNeeded || needed.count(out) != 0;
    // An in-place op writes its first input, which later users read under that name.
    if (isInPlaceKind(node->kind().toQualString()) && !node->inputs().empty())
      outputNeeded = outputNeeded || needed.count(node->input(0)) != 0;
    if (!facts.dataBlind() || outputNeeded) {
      for (const Value* in : node->inputs()) needed.insert(in);
    } else if (facts.sizeFormula != SizeFormula::None || facts.keepsInputSize != KeepsInputSize::No) {
      result.insert(node);
    }
  }
  return result;
}

bool resultHasInputSizeAndDtype(const Node* node, const OpFactsTable& ops, c10::ArrayRef<c10::IValue> in) {
  const KeepsInputSize when = opFactsOrNone(ops, node).keepsInputSize;
  if (when == KeepsInputSize::No || node->outputs().size() != 1 || in.empty() || !in[0].isTensor()) return false;
  const at::Tensor& x = in[0].toTensor();
  // A strided input (a transpose) would lend its strides, and views downstream read them.
  if (!at::isFloatingType(x.scalar_type()) || !x.is_contiguous()) return false;
  switch (when) {
    case KeepsInputSize::WithoutDtype:
      return in.size() >= 3 && in[2].isNone();
    case KeepsInputSize::NumberBounds:  // tensor bounds broadcast
      for (size_t i = 1; i < in.size(); ++i)
        if (in[i].isTensor()) return false;
      return true;
    case KeepsInputSize::SameSizeOperand: {
      if (in.size() < 2) return false;
      if (in[1].isDouble()) return true;
      if (!in[1].isTensor()) return false;  // an int scalar is fine too, but rare enough to run
      const at::Tensor& y = in[1].toTensor();
      return y.scalar_type() == x.scalar_type() && y.sizes() == x.sizes() && y.is_contiguous();
    }
    case KeepsInputSize::Always:
    case KeepsInputSize::No:
      break;
  }
  return true;
}

c10::optional<std::vector<int64_t>> outputSizesWithoutComputing(const Node* node, const OpFactsTable& ops,
                                                                c10::ArrayRef<c10::IValue> in) {
  const SizeFormula heavy = opFactsOrNone(ops, node).sizeFormula;
  if (heavy == SizeFormula::None) return c10::nullopt;
  for (size_t i = 0; i < std::min<size_t>(in.size(), 3); ++i)
    if (!in[i].isTensor() && !(i == 2 && in[i].isNone())) return c10::nullopt;
  const at::Tensor& x = in[0].toTensor();
  const at::Tensor& y = in[1].toTensor();
  const at::Tensor* z = in.size() > 2 && in[2].isTensor() ? &in[2].toTensor() : nullptr;
  if (x.scalar_type() != y.scalar_type() || (z && z->scalar_type() != x.scalar_type()) ||
      !at::isFloatingType(x.scalar_type()))
    return c10::nullopt;
  switch (heavy) {
    case SizeFormula::Convolution:  // input, weight, bias, stride, padding, dilation, transposed, output_padding, groups
      return convolutionSizes(x, y, in[3], in[4], in[5], in[6].toBool(), in[7], in[8].toInt());
    case SizeFormula::ConvNd:  // input, weight, bias, stride, padding, dilation, groups
      return convolutionSizes(x, y, in[3], in[4], in[5], false, c10::IValue(), in[6].toInt());
    case SizeFormula::ConvTransposeNd:  // input, weight, bias, stride, padding, output_padding, groups, dilation
      return convolutionSizes(x, y, in[3], in[4], in[7], true, in[5], in[6].toInt());
    case SizeFormula::Linear: {
      if (x.dim() < 1 || y.dim() != 2 || x.size(-1) != y.size(1)) return c10::nullopt;
      std::vector<int64_t> sizes = x.sizes().vec();
      sizes.back() = y.size(0);
      return sizes;
    }
    case SizeFormula::Mm:
    case SizeFormula::Bmm:
      if (x.dim() != (heavy == SizeFormula::Mm ? 2 : 3) || y.dim() != x.dim()) return c10::nullopt;
      if (heavy == SizeFormula::Bmm && x.size(0) != y.size(0)) return c10::nullopt;
      return matmulSizes(x, y);
    case SizeFormula::Addmm:
    case SizeFormula::Baddbmm: {  // self, a, b: self broadcasts to a @ b
      if (!z || z->dim() != (heavy == SizeFormula::Addmm ? 2 : 3) || y.dim() != z->dim()) return c10::nullopt;
      if (heavy == SizeFormula::Baddbmm && y.size(0) != z->size(0)) return c10::nullopt;
      auto sizes = matmulSizes(y, *z);
      if (!sizes || x.dim() > static_cast<int64_t>(sizes->size())) return c10::nullopt;
      for (int64_t d = 1; d <= x.dim(); ++d)
        if (x.size(-d) != 1 && x.size(-d) != (*sizes)[sizes->size() - static_cast<size_t>(d)]) return c10::nullopt;
      return sizes;
    }
    case SizeFormula::Matmul:
      return matmulSizes(x, y);
    case SizeFormula::Attention:  // query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa
      if (!z || in.size() < 4) return c10::nullopt;  // enable_gqa is newer than torch 2.4
      return attentionSizes(x, y, *z, in[3], in.size() >= 8 && in[7].isBool() && in[7].toBool());
    case SizeFormula::None:
      break;
  }
  return c10::nullopt;
}

}  // namespace modelexport

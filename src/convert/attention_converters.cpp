// Fused attention ops: what nn.MultiheadAttention traces into in eval mode.
#include <cmath>
#include <limits>

#include "modelexport/convert_context.h"
#include "modelexport/converter_helpers.h"

namespace modelexport {
namespace {

using torch::jit::Value;

bool given(ConvertContext& ctx, size_t i) {
  return ctx.node()->inputs().size() > i && !ctx.isNone(ctx.in(i));
}

// x @ W[rows]^T + b[rows] for one of the packed q/k/v projections (rows part*E .. part*E+E).
std::string packedProjection(ConvertContext& ctx, const Value* x, const Value* weight, const Value* bias,
                             int64_t part, int64_t embed, at::ScalarType type) {
  if (!ctx.isStatic(weight) || (bias && !ctx.isStatic(bias))) {
    ctx.unsupported("projection weights computed at run time");
  }
  const at::Tensor w = ctx.toTensor(weight).to(type).slice(0, part * embed, (part + 1) * embed);
  std::string y = ctx.op("MatMul", {ctx.inputAs(x, type), ctx.constant(w.t(), ctx.nameHint(weight) + ".T")});
  if (bias) {
    const at::Tensor b = ctx.toTensor(bias).to(type).slice(0, part * embed, (part + 1) * embed).contiguous();
    y = ctx.op("Add", {y, ctx.constant(b, ctx.nameHint(bias))});
  }
  return y;
}

// torch._native_multi_head_attention(query, key, value, embed_dim, num_head, qkv_weight,
// qkv_bias, proj_weight, proj_bias, mask, need_weights, average_attn_weights, mask_type):
// the fast path of a batch_first nn.MultiheadAttention ([B, L, E] inputs). The mask is a
// bool key padding mask [B, S] (mask_type 1) or attention mask [L, S] (mask_type 0), true
// where attention is not allowed (a query that may attend to nothing gets NaN, in
// LibTorch 1.13 and here).
void nativeMultiHeadAttention(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out(0));
  if (ctx.rank(ctx.in(0)) != 3 || ctx.rank(ctx.in(1)) != 3 || ctx.rank(ctx.in(2)) != 3) {
    ctx.unsupported("unbatched or nested inputs (rank-3 [B, L, E] only)");
  }
  const int64_t embed = ctx.toInt(ctx.in(3));
  const int64_t heads = ctx.toInt(ctx.in(4));
  if (heads <= 0 || embed % heads != 0) ctx.unsupported("embed_dim not divisible by num_head");
  const int64_t headDim = embed / heads;
  const Value* qkvBias = given(ctx, 6) ? ctx.in(6) : nullptr;

  // [B, T, E] -> [B, T, H, D] -> `perm`. Reshape's 0 keeps B and T as they come, so
  // the file works for any batch size and length (dynamic axes).
  auto splitHeads = [&](const std::string& x, std::vector<int64_t> perm) {
    std::string split = ctx.op("Reshape", {x, ctx.constInts({0, 0, heads, headDim})});
    return ctx.op("Transpose", {split}, {attr::ints("perm", perm)});
  };
  std::string q = packedProjection(ctx, ctx.in(0), ctx.in(5), qkvBias, 0, embed, type);
  std::string k = packedProjection(ctx, ctx.in(1), ctx.in(5), qkvBias, 1, embed, type);
  std::string v = packedProjection(ctx, ctx.in(2), ctx.in(5), qkvBias, 2, embed, type);
  // LibTorch scales q before the product.
  q = ctx.op("Div", {splitHeads(q, {0, 2, 1, 3}), ctx.scalar(std::sqrt((double)headDim), type)});
  k = splitHeads(k, {0, 2, 3, 1});  // [B, H, D, S]
  v = splitHeads(v, {0, 2, 1, 3});
  std::string scores = ctx.op("MatMul", {q, k});  // [B, H, L, S]

  if (given(ctx, 9)) {
    if (ctx.dtype(ctx.in(9)) != at::kBool) ctx.unsupported("a mask that is not bool");
    const int64_t maskType = given(ctx, 12) ? ctx.toInt(ctx.in(12)) : (ctx.rank(ctx.in(9)) == 2 ? 1 : 2);
    std::string mask = ctx.input(ctx.in(9));
    if (maskType == 1 && ctx.rank(ctx.in(9)) == 2) {
      mask = unsqueeze(ctx, mask, {1, 2});  // [B, S] -> [B, 1, 1, S]
    } else if (!(maskType == 0 && ctx.rank(ctx.in(9)) == 2) && ctx.rank(ctx.in(9)) != 4) {
      ctx.unsupported("mask of rank " + std::to_string(ctx.rank(ctx.in(9))) + " with mask_type " +
                      std::to_string(maskType));
    }
    scores = ctx.op("Where", {mask, ctx.scalar(-std::numeric_limits<double>::infinity(), type), scores});
  }
  std::string probs = ctx.op("Softmax", {scores}, {attr::i("axis", 3)});

  std::string context = ctx.op("MatMul", {probs, v});  // [B, H, L, D]
  context = ctx.op("Transpose", {context}, {attr::ints("perm", {0, 2, 1, 3})});
  context = ctx.op("Reshape", {context, ctx.constInts({0, 0, embed})});
  if (!ctx.isStatic(ctx.in(7)) || (given(ctx, 8) && !ctx.isStatic(ctx.in(8)))) {
    ctx.unsupported("output projection computed at run time");
  }
  const at::Tensor projWeight = ctx.toTensor(ctx.in(7)).to(type);
  std::string y = ctx.op("MatMul", {context, ctx.constant(projWeight.t(), ctx.nameHint(ctx.in(7)) + ".T")});
  if (given(ctx, 8)) y = ctx.op("Add", {y, ctx.inputAs(ctx.in(8), type)});
  ctx.setOutput(y, type, 0);

  const bool needWeights = given(ctx, 10) ? ctx.toBool(ctx.in(10)) : true;
  if (ctx.node()->outputs().size() < 2) return;
  if (!needWeights) {
    // LibTorch returns an empty tensor there.
    if (!ctx.out(1)->uses().empty()) ctx.unsupported("use of the attention weights with need_weights=False");
    return;
  }
  const bool average = given(ctx, 11) ? ctx.toBool(ctx.in(11)) : true;
  if (average) probs = ctx.op("ReduceMean", {probs}, {attr::ints("axes", {1}), attr::i("keepdims", 0)});
  ctx.setOutput(probs, type, 1);
}

}  // namespace

void registerAttentionConverters(ConverterRegistry& r) {
  r.add("aten::_native_multi_head_attention", nativeMultiHeadAttention);
}

}  // namespace modelexport

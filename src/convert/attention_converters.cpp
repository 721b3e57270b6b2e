// Fused attention ops: what nn.MultiheadAttention and nn.TransformerEncoderLayer trace
// into in eval mode, and scaled_dot_product_attention (Hugging Face models' "sdpa" attention).
#include <cmath>
#include <limits>

#include "modelexport/convert_context.h"
#include "modelexport/converter_helpers.h"

namespace modelexport {
namespace {

using torch::jit::Value;

// x @ W[rows]^T + b[rows] for one of the packed q/k/v projections (rows part*E .. part*E+E).
std::string packedProjection(ConvertContext& ctx, const std::string& x, const Value* weight, const Value* bias,
                             int64_t part, int64_t embed, at::ScalarType type) {
  if (!ctx.isStatic(weight) || (bias && !ctx.isStatic(bias))) {
    ctx.unsupported("projection weights computed at run time");
  }
  const at::Tensor w = ctx.toTensor(weight).to(type).slice(0, part * embed, (part + 1) * embed);
  std::string y = ctx.op("MatMul", {x, ctx.constant(w.t(), ctx.nameHint(weight) + ".T")});
  if (bias) {
    const at::Tensor b = ctx.toTensor(bias).to(type).slice(0, part * embed, (part + 1) * embed).contiguous();
    y = ctx.op("Add", {y, ctx.constant(b, ctx.nameHint(bias))});
  }
  return y;
}

// x @ W^T (+ b) for a static weight [out, in].
std::string staticLinear(ConvertContext& ctx, const std::string& x, const Value* weight, const Value* bias,
                         at::ScalarType type) {
  if (!ctx.isStatic(weight) || (bias && !ctx.isStatic(bias))) ctx.unsupported("weights computed at run time");
  std::string y = ctx.op("MatMul", {x, ctx.constant(ctx.toTensor(weight).to(type).t(), ctx.nameHint(weight) + ".T")});
  return bias ? ctx.op("Add", {y, ctx.inputAs(bias, type)}) : y;
}

// The arguments of LibTorch's fused multi-head attention: embedding width, heads, the
// packed q/k/v projection [3E, E] (+ [3E]), the output projection, and the mask with
// its mask_type (0: [L, S] attention mask, 1: [B, S] key padding mask, 2: [B, H, L, S]).
struct FusedAttention {
  int64_t embed = 0, heads = 0;
  const Value *qkvWeight = nullptr, *qkvBias = nullptr, *projWeight = nullptr, *projBias = nullptr;
  const Value* mask = nullptr;
  int64_t maskType = -1;  // -1: not given, taken from the mask's rank
};

// softmax(q k^T / sqrt(D) + mask) v over [B, L, E] inputs, projected; `probs` receives the
// attention weights [B, H, L, S]. A bool mask is true where attention is not allowed (a
// query that may attend to nothing gets NaN, in LibTorch and here); a float one is added.
std::string fusedAttention(ConvertContext& ctx, const FusedAttention& a, const std::string& query,
                           const std::string& key, const std::string& value, at::ScalarType type,
                           std::string* probsOut) {
  if (a.heads <= 0 || a.embed % a.heads != 0) ctx.unsupported("embed_dim not divisible by num_head");
  const int64_t headDim = a.embed / a.heads;
  // [B, T, E] -> [B, T, H, D] -> `perm`. Reshape's 0 keeps B and T as they come, so
  // the file works for any batch size and length (dynamic axes).
  auto splitHeads = [&](const std::string& x, std::vector<int64_t> perm) {
    std::string split = ctx.op("Reshape", {x, ctx.constInts({0, 0, a.heads, headDim})});
    return ctx.op("Transpose", {split}, {attr::ints("perm", perm)});
  };
  std::string q = packedProjection(ctx, query, a.qkvWeight, a.qkvBias, 0, a.embed, type);
  std::string k = packedProjection(ctx, key, a.qkvWeight, a.qkvBias, 1, a.embed, type);
  std::string v = packedProjection(ctx, value, a.qkvWeight, a.qkvBias, 2, a.embed, type);
  // LibTorch scales q before the product.
  q = ctx.op("Div", {splitHeads(q, {0, 2, 1, 3}), ctx.scalar(std::sqrt((double)headDim), type)});
  k = splitHeads(k, {0, 2, 3, 1});  // [B, H, D, S]
  v = splitHeads(v, {0, 2, 1, 3});
  std::string scores = ctx.op("MatMul", {q, k});  // [B, H, L, S]

  if (a.mask) {
    const int64_t maskRank = ctx.rank(a.mask);
    const int64_t maskType = a.maskType >= 0 ? a.maskType : (maskRank == 2 ? 1 : 2);
    const bool isBool = ctx.dtype(a.mask) == at::kBool;
    std::string mask = isBool ? ctx.input(a.mask) : ctx.inputAs(a.mask, type);
    if (maskType == 1 && maskRank == 2) {
      mask = unsqueeze(ctx, mask, {1, 2});  // [B, S] -> [B, 1, 1, S]
    } else if (!(maskType == 0 && maskRank == 2) && maskRank != 4) {
      ctx.unsupported("mask of rank " + std::to_string(maskRank) + " with mask_type " + std::to_string(maskType));
    }
    scores = isBool ? ctx.op("Where", {mask, ctx.scalar(-std::numeric_limits<double>::infinity(), type), scores})
                    : ctx.op("Add", {scores, mask});
  }
  std::string probs = ctx.op("Softmax", {scores}, {attr::i("axis", 3)});
  if (probsOut) *probsOut = probs;

  std::string context = ctx.op("MatMul", {probs, v});  // [B, H, L, D]
  context = ctx.op("Transpose", {context}, {attr::ints("perm", {0, 2, 1, 3})});
  context = ctx.op("Reshape", {context, ctx.constInts({0, 0, a.embed})});
  return staticLinear(ctx, context, a.projWeight, a.projBias, type);
}

// torch._native_multi_head_attention(query, key, value, embed_dim, num_head, qkv_weight,
// qkv_bias, proj_weight, proj_bias, mask, need_weights, average_attn_weights, mask_type):
// the fast path of a batch_first nn.MultiheadAttention ([B, L, E] inputs).
void nativeMultiHeadAttention(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out(0));
  const Value* query = ctx.in("query");
  const Value* key = ctx.in("key");
  const Value* value = ctx.in("value");
  if (ctx.rank(query) != 3 || ctx.rank(key) != 3 || ctx.rank(value) != 3) {
    ctx.unsupported("unbatched or nested inputs (rank-3 [B, L, E] only)");
  }
  FusedAttention a;
  a.embed = ctx.toInt(ctx.in("embed_dim"));
  a.heads = ctx.toInt(ctx.in("num_head"));
  a.qkvWeight = ctx.in("qkv_weight");
  a.qkvBias = ctx.given(ctx.in("qkv_bias")) ? ctx.in("qkv_bias") : nullptr;
  a.projWeight = ctx.in("proj_weight");
  a.projBias = ctx.given(ctx.in("proj_bias")) ? ctx.in("proj_bias") : nullptr;
  if (ctx.given(ctx.in("mask"))) {
    if (ctx.dtype(ctx.in("mask")) != at::kBool) ctx.unsupported("a mask that is not bool");
    a.mask = ctx.in("mask");
    if (ctx.given(ctx.in("mask_type"))) a.maskType = ctx.toInt(ctx.in("mask_type"));
  }
  std::string probs;
  std::string y = fusedAttention(ctx, a, ctx.inputAs(query, type), ctx.inputAs(key, type),
                                 ctx.inputAs(value, type), type, &probs);
  ctx.setOutput(y, type, 0);

  const Value* needWeightsArg = ctx.in("need_weights");
  const bool needWeights = ctx.given(needWeightsArg) ? ctx.toBool(needWeightsArg) : true;
  if (ctx.node()->outputs().size() < 2) return;
  if (!needWeights) {
    // LibTorch returns an empty tensor there.
    if (!ctx.out(1)->uses().empty()) ctx.unsupported("use of the attention weights with need_weights=False");
    return;
  }
  const Value* averageArg = ctx.in("average_attn_weights");
  const bool average = ctx.given(averageArg) ? ctx.toBool(averageArg) : true;
  if (average) probs = ctx.op("ReduceMean", {probs}, {attr::ints("axes", {1}), attr::i("keepdims", 0)});
  ctx.setOutput(probs, type, 1);
}

// LayerNorm over the last dim with static weight and bias.
std::string layerNorm(ConvertContext& ctx, const std::string& x, const Value* weight, const Value* bias, double eps,
                      at::ScalarType type) {
  std::string mean = reduce(ctx, "ReduceMean", x, {-1}, true);
  std::string centered = ctx.op("Sub", {x, mean});
  std::string var = reduce(ctx, "ReduceMean", ctx.op("Pow", {centered, ctx.scalar(2, type)}), {-1}, true);
  std::string normed = ctx.op("Div", {centered, ctx.op("Sqrt", {ctx.op("Add", {var, ctx.scalar(eps, type)})})});
  return ctx.op("Add", {ctx.op("Mul", {normed, ctx.inputAs(weight, type)}), ctx.inputAs(bias, type)});
}

// aten::_transformer_encoder_layer_fwd(src, embed_dim, num_heads, qkv_weight, qkv_bias,
// proj_weight, proj_bias, use_gelu, norm_first, eps, norm_weight_1, norm_bias_1,
// norm_weight_2, norm_bias_2, ffn_weight_1, ffn_bias_1, ffn_weight_2, ffn_bias_2, mask,
// mask_type): nn.TransformerEncoderLayer's fast path (batch_first, eval, no grad).
// Self-attention and the feed-forward block, each with its residual; the norms before
// each block (norm_first) or after each residual.
void transformerEncoderLayer(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  if (ctx.rank(ctx.in("src")) != 3) ctx.unsupported("unbatched or nested input (rank-3 [B, L, E] only)");
  FusedAttention a;
  a.embed = ctx.toInt(ctx.in("embed_dim"));
  a.heads = ctx.toInt(ctx.in("num_heads"));
  a.qkvWeight = ctx.in("qkv_weight");
  a.qkvBias = ctx.given(ctx.in("qkv_bias")) ? ctx.in("qkv_bias") : nullptr;
  a.projWeight = ctx.in("proj_weight");
  a.projBias = ctx.given(ctx.in("proj_bias")) ? ctx.in("proj_bias") : nullptr;
  const bool gelu = ctx.toBool(ctx.in("use_gelu"));
  const bool normFirst = ctx.toBool(ctx.in("norm_first"));
  const double eps = ctx.toDouble(ctx.in("eps"));
  if (ctx.given(ctx.in("mask"))) a.mask = ctx.in("mask");
  if (ctx.given(ctx.in("mask_type"))) a.maskType = ctx.toInt(ctx.in("mask_type"));

  const std::string src = ctx.inputAs(ctx.in("src"), type);
  auto norm1 = [&](const std::string& x) {
    return layerNorm(ctx, x, ctx.in("norm_weight_1"), ctx.in("norm_bias_1"), eps, type);
  };
  auto norm2 = [&](const std::string& x) {
    return layerNorm(ctx, x, ctx.in("norm_weight_2"), ctx.in("norm_bias_2"), eps, type);
  };
  std::string x = normFirst ? norm1(src) : src;
  x = ctx.op("Add", {fusedAttention(ctx, a, x, x, x, type, nullptr), src});
  if (!normFirst) x = norm1(x);
  const std::string residual = x;
  std::string h = staticLinear(ctx, normFirst ? norm2(x) : x, ctx.in("ffn_weight_1"), ctx.in("ffn_bias_1"), type);
  h = gelu ? erfGelu(ctx, h, type) : ctx.op("Relu", {h});  // use_gelu: the erf form, as aten::gelu
  x = ctx.op("Add", {staticLinear(ctx, h, ctx.in("ffn_weight_2"), ctx.in("ffn_bias_2"), type), residual});
  if (!normFirst) x = norm2(x);
  ctx.setOutput(x, type);
}

// Repeats every head of x ([..., H, S, E]) `times` times in place, as
// repeat_interleave(times, dim=-3): [..., H, 1, S, E] expanded to [..., H, times, S, E]
// and read back as [..., H*times, S, E]. Reshape's 0 keeps the leading dims and -1 the
// length, so both may vary with dynamic axes.
std::string repeatHeads(ConvertContext& ctx, const std::string& x, const Value* v, int64_t times) {
  const int64_t rank = ctx.rank(v);
  std::string inserted = unsqueeze(ctx, x, {rank - 2});
  std::vector<int64_t> reps(static_cast<size_t>(rank + 1), 1);
  reps[static_cast<size_t>(rank - 2)] = times;
  std::string expanded = ctx.op("Expand", {inserted, ctx.constInts(reps)});
  std::vector<int64_t> shape(static_cast<size_t>(rank - 3), 0);
  shape.push_back(ctx.dim(v, -3) * times);
  shape.push_back(-1);
  shape.push_back(ctx.dim(v, -1));
  return ctx.op("Reshape", {expanded, ctx.constInts(shape)});
}

// Whether a query may be left with no key to attend to: true for a mask computed at run
// time, else whether some row of the static mask (with the causal one) allows nothing.
bool mayMaskWholeRow(ConvertContext& ctx, const Value* mask, const at::Tensor& causal) {
  if (!ctx.given(mask)) return false;  // a causal mask alone always allows key 0
  if (!ctx.isStatic(mask)) return true;
  const at::Tensor m = ctx.toTensor(mask);
  at::Tensor allowed = m.scalar_type() == at::kBool ? m : m.ne(-std::numeric_limits<double>::infinity());
  if (causal.defined()) allowed = allowed.logical_and(causal);
  return !allowed.any(-1).all().item<bool>();
}

// aten::scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.,
// is_causal=False, *, scale=None, enable_gqa=False): softmax(q @ k^T * scale + mask) @ v
// for q [..., L, E], k [..., S, E], v [..., S, Ev]. A bool mask is true where a query may
// attend to a key, a float mask is added to the scores; is_causal allows key j for query
// i when j <= i (top-left aligned when L != S). LibTorch 2.13 allows a mask together with
// is_causal in its 4-d CPU kernel (both apply) and refuses it in the others.
void scaledDotProductAttention(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const Value* query = ctx.in("query");
  const Value* key = ctx.in("key");
  const Value* value = ctx.in("value");
  const Value* mask = ctx.arg("attn_mask");
  const Value* dropout = ctx.arg("dropout_p");
  const Value* causalArg = ctx.arg("is_causal");
  const Value* scaleArg = ctx.arg("scale");
  const Value* gqaArg = ctx.arg("enable_gqa");
  // LibTorch drops out attention weights whenever dropout_p > 0, eval mode or not.
  if (ctx.given(dropout) && ctx.toDouble(dropout) != 0.0) ctx.unsupported("dropout_p other than 0");
  if (ctx.rank(query) < 2 || ctx.rank(key) < 2 || ctx.rank(value) < 2) ctx.unsupported("inputs of rank < 2");

  std::string q = ctx.inputAs(query, type);
  std::string k = ctx.inputAs(key, type);
  std::string v = ctx.inputAs(value, type);
  if (ctx.given(gqaArg) && ctx.toBool(gqaArg)) {
    // Grouped-query attention: each key/value head serves Hq/Hkv consecutive query heads.
    if (ctx.rank(query) < 3 || ctx.rank(key) < 3 || ctx.rank(value) < 3) ctx.unsupported("enable_gqa without heads");
    const int64_t heads = ctx.dim(query, -3);
    const int64_t keyHeads = ctx.dim(key, -3);
    const int64_t valueHeads = ctx.dim(value, -3);
    if (heads % keyHeads != 0 || heads % valueHeads != 0) ctx.unsupported("query heads not a multiple of key heads");
    if (keyHeads != heads) k = repeatHeads(ctx, k, key, heads / keyHeads);
    if (valueHeads != heads) v = repeatHeads(ctx, v, value, heads / valueHeads);
  }

  const int64_t keyRank = ctx.rank(key);
  std::vector<int64_t> perm;
  for (int64_t d = 0; d < keyRank; ++d) perm.push_back(d);
  std::swap(perm[keyRank - 2], perm[keyRank - 1]);
  std::string scores = ctx.op("MatMul", {q, ctx.op("Transpose", {k}, {attr::ints("perm", perm)})});
  // The scores are scaled, as in the reference code of PyTorch's documentation.
  const double scale = ctx.given(scaleArg) ? ctx.toDouble(scaleArg)
                                            : 1.0 / std::sqrt(static_cast<double>(ctx.dim(query, -1)));
  scores = ctx.op("Mul", {scores, ctx.scalar(scale, type)});

  const std::string minusInf = ctx.scalar(-std::numeric_limits<double>::infinity(), type);
  if (ctx.given(mask)) {
    if (ctx.dtype(mask) == at::kBool) {
      scores = ctx.op("Where", {ctx.input(mask), scores, minusInf});
    } else {
      scores = ctx.op("Add", {scores, ctx.inputAs(mask, type)});
    }
  }
  at::Tensor causal;
  if (ctx.given(causalArg) && ctx.toBool(causalArg)) {
    causal = torch::ones({ctx.dim(query, -2), ctx.dim(key, -2)}, at::kBool).tril();
    scores = ctx.op("Where", {ctx.constant(causal, "causal_mask"), scores, minusInf});
  }
  std::string probs = ctx.op("Softmax", {scores}, {attr::i("axis", -1)});
  if (mayMaskWholeRow(ctx, mask, causal)) {
    // A row of -inf scores: ONNX's Softmax gives NaN, LibTorch 2.13 (_safe_softmax in its
    // math kernel, the CPU flash kernel alike) gives 0 weights, so a zero output row.
    std::string rowMax = reduce(ctx, "ReduceMax", scores, {-1}, true);
    probs = ctx.op("Where", {ctx.op("Equal", {rowMax, minusInf}), ctx.scalar(0.0, type), probs});
  }
  ctx.setOutput(ctx.op("MatMul", {probs, v}), type);
}

}  // namespace

void registerAttentionConverters(ConverterRegistry& r) {
  r.add("aten::_native_multi_head_attention", nativeMultiHeadAttention);
  r.add("aten::scaled_dot_product_attention", scaledDotProductAttention, sizedBy(SizeFormula::Attention));
  r.add("aten::_transformer_encoder_layer_fwd", transformerEncoderLayer);
}

}  // namespace modelexport

// Fused attention converters: each test exports the op through the real pipeline and
// compares onnxruntime with LibTorch. Projection weights are module parameters, as
// nn.MultiheadAttention's are.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "test_support.h"

namespace modelexport::testing {
namespace {

// Embedding 8, 2 heads: packed q/k/v weight [24, 8], output projection [8, 8].
TestParameters attentionParameters() {
  return {{"qkv_weight", randomTensor({24, 8}, 11) * 0.5}, {"qkv_bias", randomTensor({24}, 12) * 0.1},
          {"proj_weight", randomTensor({8, 8}, 13) * 0.5}, {"proj_bias", randomTensor({8}, 14) * 0.1}};
}

TEST(AttentionConverters, NativeMultiHeadAttentionSelfAttention) {
  for (int opset : {11, 14, 17}) {
    OpTestOptions options{opset, 1e-5, {"MatMul", "Softmax"}};
    // need_weights with head-averaged and per-head weights; and the ViT form (no weights).
    expectOpMatches("native_mha_self_" + std::to_string(opset),
                    "def forward(self, x):\n"
                    "  a, w = torch._native_multi_head_attention(x, x, x, 8, 2, self.qkv_weight, self.qkv_bias,\n"
                    "      self.proj_weight, self.proj_bias, None, True, True, None)\n"
                    "  b, wh = torch._native_multi_head_attention(x, x, x, 8, 2, self.qkv_weight, self.qkv_bias,\n"
                    "      self.proj_weight, self.proj_bias, None, True, False, None)\n"
                    "  c, _ = torch._native_multi_head_attention(x, x, x, 8, 2, self.qkv_weight, self.qkv_bias,\n"
                    "      self.proj_weight, self.proj_bias, None, False, True, None)\n"
                    "  return a, w, b, wh, c\n",
                    {floatInput({2, 5, 8})}, options, attentionParameters());
  }
}

TEST(AttentionConverters, NativeMultiHeadAttentionCrossAttention) {
  OpTestOptions options{14, 1e-5, {"MatMul", "Softmax"}};
  // LibTorch 1.13's kernel requires query, key and value of one shape; cross attention
  // here means three different tensors, each projected by its own slice of qkv_weight.
  expectOpMatches("native_mha_cross",
                  "def forward(self, q, k, v):\n"
                  "  return torch._native_multi_head_attention(q, k, v, 8, 2, self.qkv_weight, self.qkv_bias,\n"
                  "      self.proj_weight, self.proj_bias, None, True, True, None)\n",
                  {floatInput({2, 3, 8}), floatInput({2, 3, 8}), floatInput({2, 3, 8})}, options,
                  attentionParameters());
}

TEST(AttentionConverters, NativeMultiHeadAttentionKeyPaddingMask) {
  OpTestOptions options{14, 1e-5, {"Where", "Softmax"}};
  // Key padding mask [B, S] (mask_type 1), true = ignore that key.
  expectOpMatches("native_mha_key_padding",
                  "def forward(self, x):\n"
                  "  mask = torch.tensor([[False, False, True, False, True], [True, False, True, True, False]])\n"
                  "  return torch._native_multi_head_attention(x, x, x, 8, 2, self.qkv_weight, self.qkv_bias,\n"
                  "      self.proj_weight, self.proj_bias, mask, True, False, 1)\n",
                  {floatInput({2, 5, 8})}, options, attentionParameters());
}

// --dynamic-batch: the heads are split with Reshape's 0 (keep B and T), the key padding
// mask unsqueezed, so one file runs at any batch size.
TEST(AttentionConverters, NativeMultiHeadAttentionWithDynamicBatch) {
  for (int opset : {11, 14}) {
    expectOpMatches("native_mha_dynamic_batch_" + std::to_string(opset),
                    "def forward(self, x):\n"
                    "  mask = x[:, :, 0] > 1.0\n"
                    "  a, w = torch._native_multi_head_attention(x, x, x, 8, 2, self.qkv_weight, self.qkv_bias,\n"
                    "      self.proj_weight, self.proj_bias, mask, True, False, 1)\n"
                    "  return a, w\n",
                    {floatInput({2, 5, 8})}, withDynamicBatch(opts(opset, 1e-5, {"Softmax"}), 3),
                    attentionParameters());
  }
}

int countOps(const onnx::ModelProto& model, const std::string& opType) {
  int n = 0;
  for (const auto& node : model.graph().node()) n += node.op_type() == opType;
  return n;
}

// scaled_dot_product_attention without a mask: 4-d [B, H, L, E] and 3-d [H, L, E]
// inputs, L != S, a value width other than E, default scale 1/sqrt(E) and a given one.
TEST(AttentionConverters, ScaledDotProductAttentionWithoutMask) {
  for (int opset : {11, 14, 17}) {
    const auto model = expectOpMatches(
        "sdpa_no_mask_" + std::to_string(opset),
        "def forward(self, q, k, v):\n"
        "  return (torch.scaled_dot_product_attention(q, k, v),\n"
        "          torch.scaled_dot_product_attention(q, k, v, scale=0.3),\n"
        "          torch.scaled_dot_product_attention(q[0], k[0], v[0]),\n"
        "          torch.scaled_dot_product_attention(q[1], k[1], v[1], None, 0.0, False, scale=2.0))\n",
        {floatInput({2, 4, 3, 8}), floatInput({2, 4, 5, 8}), floatInput({2, 4, 5, 6})},
        opts(opset, 1e-5, {"MatMul", "Softmax"}));
    EXPECT_EQ(countOps(model, "Equal"), 0) << "no mask, so no row can be masked out";
  }
}

// Bool masks, true = may attend, in shapes that broadcast: [L, S], [B, 1, L, S],
// [B, H, L, S]. Computed at run time, so every masked-out row is guarded; the last one has
// row 1 masked out entirely, which LibTorch 2.13 answers with zeros.
TEST(AttentionConverters, ScaledDotProductAttentionBoolMask) {
  for (int opset : {11, 14}) {
    expectOpMatches("sdpa_bool_mask_" + std::to_string(opset),
                    "def forward(self, q, k, v, m2, m4, mh):\n"
                    "  empty_row = m2 & (torch.arange(3).unsqueeze(1) != 1)\n"
                    "  return (torch.scaled_dot_product_attention(q, k, v, m2),\n"
                    "          torch.scaled_dot_product_attention(q, k, v, attn_mask=m4),\n"
                    "          torch.scaled_dot_product_attention(q, k, v, mh, scale=0.5),\n"
                    "          torch.scaled_dot_product_attention(q[0], k[0], v[0], m2),\n"
                    "          torch.scaled_dot_product_attention(q, k, v, empty_row))\n",
                    {floatInput({2, 4, 3, 8}), floatInput({2, 4, 5, 8}), floatInput({2, 4, 5, 8}),
                     boolInput({3, 5}), boolInput({2, 1, 3, 5}), boolInput({2, 4, 3, 5})},
                    opts(opset, 1e-5, {"Where", "Softmax", "Equal"}));
  }
}

// A mask known at export time is checked there: the guard for rows with no key appears
// only when some row has none.
TEST(AttentionConverters, ScaledDotProductAttentionStaticBoolMask) {
  const auto withEmptyRow = expectOpMatches(
      "sdpa_static_mask_empty_row",
      "def forward(self, q, k, v):\n"
      "  m = torch.tensor([[True, False, True], [False, False, False]])\n"
      "  return torch.scaled_dot_product_attention(q, k, v, m)\n",
      {floatInput({2, 2, 2, 4}), floatInput({2, 2, 3, 4}), floatInput({2, 2, 3, 4})}, opts(14, 1e-5, {"Where"}));
  EXPECT_EQ(countOps(withEmptyRow, "Equal"), 1);
  const auto full = expectOpMatches(
      "sdpa_static_mask",
      "def forward(self, q, k, v):\n"
      "  m = torch.tensor([[True, False, True], [False, True, False]])\n"
      "  return torch.scaled_dot_product_attention(q, k, v, m)\n",
      {floatInput({2, 2, 2, 4}), floatInput({2, 2, 3, 4}), floatInput({2, 2, 3, 4})}, opts(14, 1e-5, {"Where"}));
  EXPECT_EQ(countOps(full, "Equal"), 0);
}

// Float masks are added to the scores; a row of -inf masks that query out (zeros).
TEST(AttentionConverters, ScaledDotProductAttentionFloatMask) {
  expectOpMatches("sdpa_float_mask",
                  "def forward(self, q, k, v, bias):\n"
                  "  blocked = bias.masked_fill(torch.arange(3).unsqueeze(1) == 2, float('-inf'))\n"
                  "  return (torch.scaled_dot_product_attention(q, k, v, bias),\n"
                  "          torch.scaled_dot_product_attention(q, k, v, blocked, scale=0.25))\n",
                  {floatInput({2, 4, 3, 8}), floatInput({2, 4, 5, 8}), floatInput({2, 4, 5, 8}),
                   floatInput({2, 1, 3, 5})},
                  opts(14, 1e-5, {"Add", "Softmax"}));
}

// is_causal: key j for query i when j <= i, top-left aligned for L < S and L > S; with a
// bool mask too in the 4-d case (LibTorch's CPU kernel applies both).
TEST(AttentionConverters, ScaledDotProductAttentionCausal) {
  for (int opset : {11, 17}) {
    expectOpMatches("sdpa_causal_" + std::to_string(opset),
                    "def forward(self, q, k, v, m):\n"
                    "  return (torch.scaled_dot_product_attention(q, k, v, is_causal=True),\n"
                    "          torch.scaled_dot_product_attention(k, q, q, is_causal=True),\n"
                    "          torch.scaled_dot_product_attention(k, k, v, None, 0.0, True),\n"
                    "          torch.scaled_dot_product_attention(q[0], k[0], v[0], is_causal=True),\n"
                    "          torch.scaled_dot_product_attention(q, k, v, m, is_causal=True))\n",
                    {floatInput({2, 4, 3, 8}), floatInput({2, 4, 5, 8}), floatInput({2, 4, 5, 8}),
                     boolInput({3, 5})},
                    opts(opset, 1e-5, {"Where", "Softmax"}));
  }
}

// enable_gqa: 4 query heads over 2 key/value heads (head h reads key head h / 2), 4-d and
// 3-d, with and without a mask.
TEST(AttentionConverters, ScaledDotProductAttentionGroupedQuery) {
  for (int opset : {11, 14}) {
    expectOpMatches("sdpa_gqa_" + std::to_string(opset),
                    "def forward(self, q, k, v, m):\n"
                    "  return (torch.scaled_dot_product_attention(q, k, v, enable_gqa=True),\n"
                    "          torch.scaled_dot_product_attention(q, k, v, m, enable_gqa=True, scale=0.5),\n"
                    "          torch.scaled_dot_product_attention(q[1], k[1], v[1], is_causal=True, enable_gqa=True),\n"
                    "          torch.scaled_dot_product_attention(q, k, v[:, :1], enable_gqa=True))\n",
                    {floatInput({2, 4, 3, 8}), floatInput({2, 2, 5, 8}), floatInput({2, 2, 5, 6}),
                     boolInput({2, 1, 3, 5})},
                    opts(opset, 1e-5, {"Expand", "Softmax"}));
  }
}

// --dynamic-batch: head repetition and masks keep the batch dim open.
TEST(AttentionConverters, ScaledDotProductAttentionWithDynamicBatch) {
  expectOpMatches("sdpa_dynamic_batch",
                  "def forward(self, q, k, v, m):\n"
                  "  return (torch.scaled_dot_product_attention(q, k, v, m, enable_gqa=True),\n"
                  "          torch.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True))\n",
                  {floatInput({2, 4, 3, 8}), floatInput({2, 2, 5, 8}), floatInput({2, 2, 5, 8}),
                   boolInput({2, 1, 3, 5})},
                  withDynamicBatch(opts(14, 1e-5, {"Expand", "Softmax"}), 3));
}

// Dropout on the attention weights is random: refused.
TEST(AttentionConverters, ScaledDotProductAttentionRefusesDropout) {
  const std::string error =
      exportError("sdpa_dropout",
                  "def forward(self, q, k, v):\n"
                  "  return torch.scaled_dot_product_attention(q, k, v, None, 0.1)\n",
                  {floatInput({2, 4, 3, 8}), floatInput({2, 4, 5, 8}), floatInput({2, 4, 5, 8})}, 14);
  EXPECT_NE(error.find("aten::scaled_dot_product_attention"), std::string::npos) << error;
  EXPECT_NE(error.find("dropout_p"), std::string::npos) << error;
}

// nn.TransformerEncoderLayer's parameters around attentionParameters(): the two norms
// [8] and the feed-forward block 8 -> 16 -> 8.
TestParameters encoderLayerParameters() {
  TestParameters p = attentionParameters();
  p.push_back({"norm1_weight", 1.0 + randomTensor({8}, 21) * 0.1});
  p.push_back({"norm1_bias", randomTensor({8}, 22) * 0.1});
  p.push_back({"norm2_weight", 1.0 + randomTensor({8}, 23) * 0.1});
  p.push_back({"norm2_bias", randomTensor({8}, 24) * 0.1});
  p.push_back({"ffn1_weight", randomTensor({16, 8}, 25) * 0.4});
  p.push_back({"ffn1_bias", randomTensor({16}, 26) * 0.1});
  p.push_back({"ffn2_weight", randomTensor({8, 16}, 27) * 0.4});
  p.push_back({"ffn2_bias", randomTensor({8}, 28) * 0.1});
  return p;
}

std::string encoderLayerCall(const std::string& x, bool gelu, bool normFirst, const std::string& mask,
                             const std::string& maskType) {
  return "torch._transformer_encoder_layer_fwd(" + x + ", 8, 2, self.qkv_weight, self.qkv_bias,\n"
         "      self.proj_weight, self.proj_bias, " + std::string(gelu ? "True" : "False") + ", " +
         (normFirst ? "True" : "False") + ", 1e-5, self.norm1_weight, self.norm1_bias, self.norm2_weight,\n"
         "      self.norm2_bias, self.ffn1_weight, self.ffn1_bias, self.ffn2_weight, self.ffn2_bias, " + mask + ", " +
         maskType + ")";
}

// aten::_transformer_encoder_layer_fwd (the nn.TransformerEncoderLayer fast path): post-
// and pre-norm, relu and gelu, no mask, a bool key padding mask (LibTorch 1.13's), a
// float one (-inf where padded, as LibTorch 2.13's Python makes it) and a float [L, S]
// attention mask (mask_type 0).
TEST(AttentionConverters, TransformerEncoderLayerFastPath) {
  for (int opset : {11, 14, 17}) {
    expectOpMatches("transformer_encoder_layer_" + std::to_string(opset),
                    "def forward(self, x):\n"
                    "  pad = torch.tensor([[False, False, False, True, True], [False, True, False, False, False]])\n"
                    "  fpad = torch.zeros([2, 5]).masked_fill(pad, float('-inf'))\n"
                    "  causal = torch.zeros([5, 5]).masked_fill(torch.ones([5, 5]).triu(1) > 0, float('-inf'))\n"
                    "  return (" + encoderLayerCall("x", false, false, "None", "None") + ",\n"
                    "          " + encoderLayerCall("x", true, true, "None", "None") + ",\n"
                    "          " + encoderLayerCall("x", true, false, "pad", "1") + ",\n"
                    "          " + encoderLayerCall("x", false, true, "fpad", "1") + ",\n"
                    "          " + encoderLayerCall("x", false, false, "causal", "0") + ")\n",
                    {floatInput({2, 5, 8})}, opts(opset, 1e-5, {"MatMul", "Softmax", "Erf", "Relu"}),
                    encoderLayerParameters());
  }
}

// --dynamic-batch: heads split with Reshape's 0s, the norms over the last dim only.
TEST(AttentionConverters, TransformerEncoderLayerWithDynamicBatch) {
  expectOpMatches("transformer_encoder_layer_dynamic_batch",
                  "def forward(self, x):\n"
                  "  pad = (x[:, :, 0] > 1.5) & (torch.arange(5) > 0)\n"
                  "  return " + encoderLayerCall("x", true, true, "pad", "1") + "\n",
                  {floatInput({2, 5, 8})}, withDynamicBatch(opts(14, 1e-5, {"Softmax"}), 3),
                  encoderLayerParameters());
}

}  // namespace
}  // namespace modelexport::testing

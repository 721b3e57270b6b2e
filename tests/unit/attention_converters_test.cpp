// Fused attention converters: each test exports the op through the real pipeline and
// compares onnxruntime with LibTorch. Projection weights are module parameters, as
// nn.MultiheadAttention's are.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "test_support.h"

namespace modelexport::testing {
namespace {

at::Tensor randomTensor(std::vector<int64_t> shape, uint64_t seed) {
  auto generator = at::detail::createCPUGenerator(seed);
  return at::randn(shape, generator);
}

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

}  // namespace
}  // namespace modelexport::testing

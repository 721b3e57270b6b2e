// Initializers written once: the same memory reached twice (tied weights) and equal bytes
// in different memory share one initializer; anything else keeps its own.
#include <gtest/gtest.h>

#include <torch/script.h>

#include "modelexport/onnx_graph_builder.h"

namespace modelexport::testing {
namespace {

TEST(InitializerDedup, TheSameViewOfOneStorageIsOneInitializer) {
  OnnxGraphBuilder builder;
  const at::Tensor weight = at::randn({64, 32});
  const std::string first = builder.addInitializer(weight, "embed");
  // Another tensor object over the same bytes, as a tied lm_head is.
  const at::Tensor tied = at::from_blob(weight.data_ptr(), {64, 32}, at::kFloat);
  EXPECT_EQ(builder.addInitializer(tied, "lm_head"), first);
  // Its transpose views the same bytes in another order: a tensor of its own.
  const std::string transposed = builder.addInitializer(weight.t(), "lm_head_t");
  EXPECT_NE(transposed, first);
  EXPECT_EQ(builder.addInitializer(weight.t(), "again"), transposed);
  // Rows of it: other sizes, another tensor.
  EXPECT_NE(builder.addInitializer(weight.narrow(0, 0, 32), "half"), first);
  EXPECT_EQ(builder.payloads().byName.size(), 3u);
}

TEST(InitializerDedup, EqualBytesInOtherMemoryAreOneInitializerAndOtherBytesAreNot) {
  OnnxGraphBuilder builder;
  const at::Tensor weight = at::randn({64, 32});
  const std::string first = builder.addInitializer(weight, "a");
  EXPECT_EQ(builder.addInitializer(weight.clone(), "b"), first);
  at::Tensor changed = weight.clone();
  changed[63][31] = changed[63][31].item<float>() + 1.0f;  // one element, outside most samples
  EXPECT_NE(builder.addInitializer(changed, "c"), first);
  EXPECT_EQ(builder.payloads().byName.size(), 2u);
}

}  // namespace
}  // namespace modelexport::testing

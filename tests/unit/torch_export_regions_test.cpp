// Higher-order regions of plain torch.export programs (issue 23 item 3):
// wrap_with_set_grad_enabled and wrap_with_autocast are inlined by the .pt2 loader; an
// enabled CPU autocast region gets the casts LibTorch's AutocastCPU kernels make. The
// programs are written by tests/tools/make_region_programs.py with the venv's torch.

#include <gtest/gtest.h>

#include "modelexport/autocast_policy.h"
#include "modelexport/errors.h"
#include "modelexport/recorded_module_tree.h"
#include "modelexport/torch_export_loader.h"
#include "test_support.h"

namespace modelexport::testing {
namespace {

TEST(AutocastPolicy, CpuCastsAsLibTorchRegistersThem) {
  EXPECT_EQ(cpuAutocastCast({"aten::linear", ""}), AutocastCast::kLowerPrecision);
  EXPECT_EQ(cpuAutocastCast({"aten::conv2d", "padding"}), AutocastCast::kLowerPrecision);
  EXPECT_EQ(cpuAutocastCast({"aten::scaled_dot_product_attention", ""}), AutocastCast::kLowerPrecision);
  EXPECT_EQ(cpuAutocastCast({"aten::cat", ""}), AutocastCast::kWidest);
  EXPECT_EQ(cpuAutocastCast({"aten::prod", "dim_int"}), AutocastCast::kFloat32);
  EXPECT_EQ(cpuAutocastCast({"aten::mse_loss", ""}), AutocastCast::kFloat32);
  // No AutocastCPU kernel: left alone (softmax, layer_norm and add on the CPU; out= forms).
  EXPECT_EQ(cpuAutocastCast({"aten::softmax", "int"}), AutocastCast::kNone);
  EXPECT_EQ(cpuAutocastCast({"aten::layer_norm", ""}), AutocastCast::kNone);
  EXPECT_EQ(cpuAutocastCast({"aten::add", "Tensor"}), AutocastCast::kNone);
  EXPECT_EQ(cpuAutocastCast({"aten::matmul", "out"}), AutocastCast::kNone);
}

class TorchExportRegions : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Kept in the build tree between runs: the script remakes them when it or torch
    // changed (under a lock, for the single-test ctests that run in parallel).
    dir_ = std::string(MODELEXPORT_FIXTURE_DIR) + "/torch_export_regions";
    const ProcessResult made = runCommand(
        shellQuote(MODELEXPORT_VENV_PYTHON) + " " +
        shellQuote(std::string(MODELEXPORT_SOURCE_DIR) + "/tests/tools/make_region_programs.py") + " " +
        shellQuote(dir_) + " --without-transformers");
    made_ = made.exitCode == 0;
    log_ = made.output;
  }
  void SetUp() override { ASSERT_TRUE(made_) << log_; }

  // The module path of a loaded node as hierarchy/ makes it of the loader's frames ("" for
  // the root, "?" for none).
  static std::string modulePath(const RecordedModuleTree& modules, const torch::jit::Node* node) {
    auto it = modules.nodeModules.find(node);
    return it == modules.nodeModules.end() ? "?" : modules.tree.modules()[static_cast<size_t>(it->second)].path;
  }

  // The dtype an input of `node` is cast to by an aten::to before it, or nullopt.
  static std::optional<at::ScalarType> castTo(const torch::jit::Value* input) {
    const torch::jit::Node* producer = input->node();
    if (producer->kind() != c10::Symbol::fromQualString("aten::to")) return std::nullopt;
    return static_cast<at::ScalarType>(torch::jit::toIValue(producer->input(1))->toInt());
  }

  static std::string dir_, log_;
  static bool made_;
};
std::string TorchExportRegions::dir_, TorchExportRegions::log_;
bool TorchExportRegions::made_ = false;

TEST_F(TorchExportRegions, GradAndDisabledAutocastRegionsAreTheirBodies) {
  const TorchExportModel model = loadTorchExport(dir_ + "/regions.pt2");
  const RecordedModuleTree modules = recordedModuleTree(model.moduleFrames);
  std::map<std::string, int> linears;
  for (const torch::jit::Node* n : model.prepared.graph->nodes()) {
    EXPECT_NE(std::string(n->kind().ns().toUnqualString()), "higher_order") << *n;
    EXPECT_NE(n->kind(), c10::Symbol::fromQualString("aten::to")) << "no cast in a disabled region: " << *n;
    if (n->kind() == c10::Symbol::fromQualString("aten::linear")) linears[modulePath(modules, n)]++;
  }
  EXPECT_EQ(linears, (std::map<std::string, int>{{"a", 1}, {"b", 1}, {"c", 1}}));
}

TEST_F(TorchExportRegions, EnabledAutocastCastsWhatAutocastCasts) {
  const TorchExportModel model = loadTorchExport(dir_ + "/autocast_bf16.pt2");
  const RecordedModuleTree modules = recordedModuleTree(model.moduleFrames);
  int linears = 0, matmuls = 0, convs = 0, cats = 0, prods = 0;
  for (const torch::jit::Node* n : model.prepared.graph->nodes()) {
    const std::string kind = n->kind().toQualString();
    if (kind == "aten::linear") {
      ++linears;
      // proj: input and weight cast to bfloat16 (the bias too); kept, in the disabled
      // region inside: float32 as it is.
      const bool kept = modulePath(modules, n) == "kept";
      EXPECT_EQ(castTo(n->input(0)), kept ? std::nullopt : std::optional(at::kBFloat16)) << modulePath(modules, n);
      EXPECT_EQ(castTo(n->input(1)), kept ? std::nullopt : std::optional(at::kBFloat16)) << modulePath(modules, n);
    } else if (kind == "aten::matmul") {
      ++matmuls;
      for (const torch::jit::Value* in : n->inputs()) {
        // The float32 input is cast; the other is proj's bfloat16 result already.
        if (castTo(in)) {
          EXPECT_EQ(castTo(in), at::kBFloat16);
        }
      }
    } else if (kind == "aten::conv2d") {
      ++convs;
      EXPECT_EQ(castTo(n->input(0)), at::kBFloat16);
      EXPECT_EQ(castTo(n->input(1)), at::kBFloat16);
      EXPECT_EQ(modulePath(modules, n), "conv");
    } else if (kind == "aten::cat") {
      ++cats;  // bfloat16 with float32: the widest, float32
      const torch::jit::Node* list = n->input(0)->node();
      ASSERT_EQ(list->inputs().size(), 2u);
      EXPECT_EQ(castTo(list->input(0)), at::kFloat);
      EXPECT_EQ(castTo(list->input(1)), std::nullopt);
    } else if (kind == "aten::prod") {
      ++prods;
      EXPECT_EQ(castTo(n->input(0)), at::kFloat);
    }
  }
  EXPECT_EQ(linears, 2);
  EXPECT_EQ(matmuls, 2);
  EXPECT_EQ(convs, 1);
  EXPECT_EQ(cats, 1);
  EXPECT_EQ(prods, 1);
  // Casts are stamped with the module of the op they feed.
  for (const torch::jit::Node* n : model.prepared.graph->nodes())
    if (n->kind() == c10::Symbol::fromQualString("aten::to")) {
      EXPECT_NE(modulePath(modules, n), "?") << *n;
    }
}

// float16 autocast: onnxruntime has float16 kernels, so the casts run against LibTorch.
TEST_F(TorchExportRegions, Float16AutocastRunsInOnnxruntime) {
  expectFileMatches("torch_export_autocast_fp16", dir_ + "/autocast_fp16.pt2",
                    {floatInput({2, 5, 8}), floatInput({2, 2, 6, 6})}, opts(14, 5e-3, {"Cast", "Conv", "ReduceProd"}));
}

// aten.pad's decomposition holds replication_pad2d, which autocast runs in float32: the
// recorded float32 result of bfloat16 arguments gives it away, and the file is refused.
TEST_F(TorchExportRegions, CastsInsideAnOpAreRefusedNamingTheNodeAndRegion) {
  try {
    loadTorchExport(dir_ + "/autocast_pad.pt2");
    FAIL() << "autocast_pad.pt2 loaded";
  } catch (const UserError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("autocast_pad.pt2: node 'pad' (torch.ops.aten.pad.default, at "), std::string::npos)
        << message;
    EXPECT_NE(message.find("in the autocast region 'submod_1' gave float32 where its arguments are bfloat16"),
              std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace modelexport::testing

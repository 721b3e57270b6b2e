// Op forms that only a tracer or torch.export records (Module::define's compiler, and
// TorchScript's loader, rename aliases to their canonical ops): the models are written
// by tests/tools/make_recorded_forms.py and checked like expectOpMatches' models.
#include <gtest/gtest.h>

#include "kept_model_scripts.h"
#include "test_support.h"

namespace modelexport::testing {
namespace {

class RecordedForms : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    made_ = runKeptModelScripts("recorded_forms", {{MODELEXPORT_VENV_PYTHON, "tests/tools/make_recorded_forms.py"}}, "");
    dir_ = made_.dir;
  }
  void SetUp() override { ASSERT_TRUE(made_.ok) << made_.log; }

  inline static MadeModels made_;
  inline static std::string dir_;
};

TEST_F(RecordedForms, TorchExportAliases) {
  expectFileMatches("torch_export_aliases", dir_ + "/aliases.pt2", {floatInput({2, 3}), floatInput({2, 3})},
                    opts(14, 1e-5, {"Clip", "Concat", "Transpose", "Div", "Sub"}));
}

TEST_F(RecordedForms, TracedSizeAsTensorWithADynamicBatch) {
  expectFileMatches("traced_size_as_tensor", dir_ + "/size_as_tensor.pt", {floatInput({2, 3})},
                    withDynamicBatch(opts(14, 1e-5, {"Shape", "Mul"}), 4));
}

// SymInt arithmetic on the dynamic batch (_operator.mod, neg, floordiv, truediv, pow;
// torch.sym_max, sym_min, sym_float) stays computed from the input's Shape, also
// n // 3, which the run at batch 5 cannot tell from a constant.
TEST_F(RecordedForms, TorchExportSizeArithmeticWithADynamicBatch) {
  expectFileMatches("torch_export_size_arithmetic", dir_ + "/size_arithmetic.pt2", {floatInput({4, 3})},
                    withDynamicBatch(opts(14, 1e-5, {"Shape", "Mod", "Neg", "Pow", "Max", "Min"}), 7));
}

}  // namespace
}  // namespace modelexport::testing

// Op forms that only a tracer or torch.export records (Module::define's compiler, and
// TorchScript's loader, rename aliases to their canonical ops): the models are written
// by tests/tools/make_recorded_forms.py and checked like expectOpMatches' models.
#include <unistd.h>

#include <gtest/gtest.h>

#include "test_support.h"

namespace modelexport::testing {
namespace {

class RecordedForms : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // ctest runs each test in a process of its own, in parallel: a directory per process.
    dir_ = freshWorkDir("recorded_forms/files-" + std::to_string(::getpid()));
    const ProcessResult made = runCommand(
        shellQuote(MODELEXPORT_VENV_PYTHON) + " " +
        shellQuote(std::string(MODELEXPORT_SOURCE_DIR) + "/tests/tools/make_recorded_forms.py") + " " +
        shellQuote(dir_));
    made_ = made.exitCode == 0;
    log_ = made.output;
  }
  void SetUp() override { ASSERT_TRUE(made_) << log_; }
  static std::string dir_, log_;
  static bool made_;
};
std::string RecordedForms::dir_, RecordedForms::log_;
bool RecordedForms::made_ = false;

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

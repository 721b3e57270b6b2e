// LibTorch's errors in one line: a TorchScript interpreter error gives its innermost
// message and operator, not its generic first line.
#include <gtest/gtest.h>

#include <torch/script.h>

#include "modelexport/errors.h"
#include "modelexport/libtorch_errors.h"
#include "modelexport/model_loader.h"
#include "test_support.h"

namespace modelexport {
namespace {

// LibTorch 2.13's words when a torch 1.13 quantized MobileNetV2's packed weights could
// not be restored (issue 23 item 7: the binary's one line said only the first line).
const char* kPrepackFailure = R"(The following operation failed in the TorchScript interpreter.
The following operation failed in the TorchScript interpreter.
Traceback of TorchScript, serialized code (most recent call last):
  File "code/__torch__/torch/nn/intrinsic/quantized/modules/conv_relu/___torch_mangle_147.py", line 48, in __setstate__
    self.groups = (state)[8]
    self.padding_mode = (state)[9]
    _1 = (self).set_weight_bias((state)[10], (state)[11], )
          ~~~~~~~~~~~~~~~~~~~~~ <--- HERE
    self.scale = (state)[12]
    self.zero_point = (state)[13]
  File "code/__torch__/torch/nn/intrinsic/quantized/modules/conv_relu/___torch_mangle_147.py", line 70, in set_weight_bias
      _7 = [_5, _6]
      _8, _9, = dilation
      _10 = ops.quantized.conv2d_prepack(w, b, _4, _7, [_8, _9], groups)
            ~~~~~~~~~~~~~~~~~~~~~~~~~~~~ <--- HERE
      self._packed_params = _10
    else:

Traceback of TorchScript, original code (most recent call last):
  File "/usr/lib/python3/dist-packages/torch/ao/nn/quantized/modules/conv.py", line 180, in __setstate__
        self.groups = state[8]
        self.padding_mode = state[9]
        self.set_weight_bias(state[10], state[11])
        ~~~~~~~~~~~~~~~~~~~~ <--- HERE
        self.scale = state[12]
        self.zero_point = state[13]
  File "/usr/lib/python3/dist-packages/torch/ao/nn/quantized/modules/conv.py", line 439, in set_weight_bias
    def set_weight_bias(self, w: torch.Tensor, b: Optional[torch.Tensor]) -> None:
        if self.padding_mode == 'zeros':
            self._packed_params = torch.ops.quantized.conv2d_prepack(
                                  ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~ <--- HERE
                w, b, self.stride, self.padding, self.dilation, self.groups)
        else:
RuntimeError: value cannot be converted to type int without overflow

)";

TEST(LibTorchErrors, InterpreterFailureGivesTheInnermostMessageAndOperator) {
  auto failure = interpreterFailure(kPrepackFailure);
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->message, "value cannot be converted to type int without overflow");
  EXPECT_EQ(failure->op, "quantized::conv2d_prepack");
  ASSERT_EQ(failure->functions.size(), 2u);
  EXPECT_EQ(failure->functions[0], "__setstate__");
  EXPECT_EQ(failure->functions[1], "set_weight_bias");
  EXPECT_EQ(libTorchCause(std::runtime_error(kPrepackFailure)), "value cannot be converted to type int without overflow");
}

TEST(LibTorchErrors, OtherErrorsAreNoInterpreterFailure) {
  EXPECT_FALSE(interpreterFailure("shape '[3]' is invalid for input of size 2"));
  EXPECT_EQ(libTorchCause(std::runtime_error("first line\nsecond line")), "first line");
}

// A module whose __setstate__ fails while LibTorch loads it: the one line names the
// operator, that it was restoring a module's state, and the operator's own message.
TEST(LibTorchErrors, ALoadFailingInSetstateSaysTheOperatorAndItsMessage) {
  const std::string path = testing::freshWorkDir("libtorch_errors_setstate") + "/setstate.pt";
  {
    torch::jit::Module m("Restorer");
    m.register_parameter("w", torch::randn({2}), false);
    m.define(R"(
      def __getstate__(self) -> Tuple[Tensor, Tensor]:
          return (self.w, self.w)

      def __setstate__(self, state: Tuple[Tensor, Tensor]) -> None:
          self.w = torch.reshape(state[0], [3])

      def forward(self, x):
          return x + self.w
    )");
    m.save(path);
  }
  try {
    loadTorchScript(path);
    FAIL() << "loaded";
  } catch (const UserError& e) {
    const std::string line = e.what();
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
    for (const char* text : {"cannot load", "aten::reshape failed while restoring a module's state (__setstate__)",
                             "shape '[3]' is invalid for input of size 2"})
      EXPECT_NE(line.find(text), std::string::npos) << line << "\nshould say " << text;
    EXPECT_EQ(line.find("The following operation failed"), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace modelexport

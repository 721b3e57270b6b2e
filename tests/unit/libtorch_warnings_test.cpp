// LibTorch's warnings during an export: to the -v log once each, never to stderr.
#include <gtest/gtest.h>

#include <sstream>

#include <c10/util/Exception.h>

#include "modelexport/libtorch_warnings.h"

namespace modelexport::testing {
namespace {

void warnTwice() {
  TORCH_WARN("a LibTorch deprecation\nwith a second line");
  TORCH_WARN("a LibTorch deprecation\nwith a second line");
  TORCH_WARN("another hint");
}

TEST(LibTorchWarnings, GoToTheVerboseLogOnceEachAndNotToStderr) {
  c10::WarningHandler* before = c10::WarningUtils::get_warning_handler();
  std::ostringstream log;
  ::testing::internal::CaptureStderr();
  {
    const LibTorchWarningsToLog warnings(&log);
    warnTwice();
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_EQ(log.str(), "libtorch: warning: a LibTorch deprecation\nlibtorch: warning: another hint\n");
  EXPECT_EQ(c10::WarningUtils::get_warning_handler(), before);
}

TEST(LibTorchWarnings, AreDroppedWithoutAVerboseLog) {
  ::testing::internal::CaptureStderr();
  {
    const LibTorchWarningsToLog warnings(nullptr);
    warnTwice();
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

}  // namespace
}  // namespace modelexport::testing

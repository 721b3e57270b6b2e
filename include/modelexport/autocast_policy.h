#pragma once
// How CPU autocast (torch.autocast("cpu")) casts the tensor arguments of an ATen op, as
// LibTorch's AutocastCPU kernels do: what inlining an enabled autocast region of a
// torch.export program (wrap_with_autocast) must do to the region's ops.
#include <optional>

#include <ATen/core/operator_name.h>

namespace modelexport {

enum class AutocastCast {
  kNone,            // autocast leaves the op's arguments alone
  kLowerPrecision,  // floating tensors (not float64) to the region's dtype: matmul, linear, conv ...
  kFloat32,         // floating tensors (not float64) to float32: losses, fft, linalg ...
  kWidest,          // floating tensors (not float64) to the widest of them: cat, stack, index_copy
};

// The cast of CPU autocast for the overload `op`: kNone when LibTorch registers no
// AutocastCPU kernel for it; nullopt when it does and the kernel's cast is not one listed
// here (a newer LibTorch's op: the caller refuses rather than guess).
std::optional<AutocastCast> cpuAutocastCast(const c10::OperatorName& op);

}  // namespace modelexport

#pragma once
// Copies of a 2-d view's rows into row-major memory: the reorder a transposed weight
// (a Linear weight as MatMul's right-hand side) needs before it is written.
#include <cstdint>

#include <torch/script.h>

namespace modelexport {

// Copies rows [r0, r1) of a 2-d view into `out`, row-major; false (nothing copied) for
// other forms (more dims, quantized, negative strides). `allowSimd` false keeps to the
// portable loops (tests compare the two).
bool copyRowsTiled(const at::Tensor& t, int64_t r0, int64_t r1, char* out, bool allowSimd = true);

}  // namespace modelexport

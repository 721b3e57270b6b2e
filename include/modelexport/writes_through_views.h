#pragma once
// prepare stage: in-place writes through views made functional. LibTorch's
// RemoveTensorMutation leaves a write whose target aliases another value
// (`mask[:, :, :, :n].copy_(x)`, `x[0] = y`); converted as it stands, the write would
// rename only the view, and the tensor it views would be read later without it (OPT,
// BLOOM and Falcon traces build their causal masks so).
#include <torch/script.h>

namespace modelexport {

// Each in-place op of the graph's top block whose first argument is a view (a chain of
// slice, select, narrow, (un)squeeze, view, transpose, t, permute, diagonal, detach,
// alias over a base) becomes its out-of-place form on the view, followed by the scatter
// of the result back into each parent up to the base (slice_scatter, select_scatter,
// diagonal_scatter, a reshape or transpose back). Every later reader of the base, of a
// view on the way, of another view of the base made before the write, or of the op's
// own result reads the new value. New nodes carry the write's module (call stack).
// Throws UserError for such a write whose op has no out-of-place form.
void functionalizeWritesThroughViews(torch::jit::Graph& graph);

}  // namespace modelexport

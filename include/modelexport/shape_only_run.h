#pragma once

#include <cstdint>
#include <unordered_set>
#include <vector>

#include <ATen/core/stack.h>
#include <c10/util/Optional.h>
#include <torch/csrc/jit/ir/ir.h>

#include "modelexport/op_facts.h"

namespace modelexport {

// The export's run exists for every value's dtype and shape, and for the data of values
// that decide something (an if on a tensor, an index, x.item()). The data of a node that
// only flows, through ops whose result shape never depends on data, into the graph's
// outputs is never looked at: such a node needs only a stand-in of its result's size.
// Convolutions and matrix products get zeros of the size a formula gives (no
// multiply-adds: most of the run time of a conv net); activations, normalizations and
// same-size arithmetic pass their input on. What each op allows is in the op table's
// facts (`ops`: keepsInputSize, sizeFormula, data-blind, reads only sizes).

// Top-level nodes of `graph` whose output data nothing downstream needs, among the
// convolution / matmul family and the ops resultHasInputSizeAndDtype covers.
// Conservative: a value used inside an if or loop body, or by any op not known to be
// data-blind, counts as needed.
std::unordered_set<const torch::jit::Node*> nodesNeedingOnlySizes(const torch::jit::Graph& graph,
                                                                  const OpFactsTable& ops);

// The output size of such a node for these inputs (the node's inputs, in order), or
// nullopt when the formula does not cover the form (string padding, mixed dtypes,
// 1-d matmul operands, inconsistent sizes): the caller then runs the node, so LibTorch
// reports any error as before.
c10::optional<std::vector<int64_t>> outputSizesWithoutComputing(const torch::jit::Node* node, const OpFactsTable& ops,
                                                                c10::ArrayRef<c10::IValue> inputs);

// Zeros of those sizes, laid out in memory as the node's own result would be (views
// downstream read the strides): contiguous, but for attention, whose layout depends on
// the kernel LibTorch picks, learned from a run on two rows of its inputs.
at::Tensor standInOfSize(const torch::jit::Node* node, const OpFactsTable& ops, c10::ArrayRef<c10::IValue> inputs,
                         const std::vector<int64_t>& sizes);

// Whether this node's result, for these inputs, has exactly its first input's sizes and
// dtype (activations, normalizations, softmax, arithmetic with a same-size tensor or a
// float) and, the input being contiguous, its strides too (views downstream read them),
// so that input can stand in for a result whose data is not needed.
bool resultHasInputSizeAndDtype(const torch::jit::Node* node, const OpFactsTable& ops,
                                 c10::ArrayRef<c10::IValue> inputs);

}  // namespace modelexport

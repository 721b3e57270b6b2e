#pragma once
// A TorchScript node's entry in the op table (op_facts.h): the one place that turns a
// node into the table's key, for the stages that run, tag and convert the graph.
#include <string>

#include <torch/csrc/jit/ir/ir.h>

#include "modelexport/op_facts.h"

namespace modelexport {

// The node's overload name ("Tensor_mode" of aten::div.Tensor_mode); "" when it has none
// or no schema.
std::string overloadOf(const torch::jit::Node* node);

// The facts of the node's op: its overload's entry, else its kind's; nullptr for an op
// the table does not know.
const OpFacts* opFacts(const OpFactsTable& ops, const torch::jit::Node* node);
// The same, or no facts at all.
const OpFacts& opFactsOrNone(const OpFactsTable& ops, const torch::jit::Node* node);

}  // namespace modelexport

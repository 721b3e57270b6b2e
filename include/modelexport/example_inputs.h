#pragma once
// Example inputs: dtype inferred from how an input is used, shape from --input-shape.
#include <string>
#include <vector>

#include <torch/script.h>

#include "modelexport/op_facts.h"

namespace modelexport {

struct InputSpec {
  std::string name;
  at::ScalarType dtype = at::kFloat;
  std::vector<int64_t> shape;
  // For index inputs: exclusive upper bound of valid ids (smallest table they index).
  int64_t indexLimit = 0;
};

// int64 when the input reaches an embedding or indexing op (or is a *mask* input the
// model casts itself), float32 otherwise; for
// embeddings whose table is a constant, the table size bounds the example ids. `ops`
// says which ops index, cast, move elements or read only shapes.
InputSpec inferInputSpec(const torch::jit::Value* input, const std::string& name, const std::vector<int64_t>& shape,
                         const OpFactsTable& ops);

std::vector<InputSpec> inferInputSpecs(const torch::jit::Graph& graph, const std::vector<std::string>& names,
                                       const std::vector<int64_t>& shape, const OpFactsTable& ops);

// Deterministic example tensors: ids below indexLimit, inputs named *mask* all ones, floats from a seeded
// normal distribution.
std::vector<c10::IValue> makeExampleInputs(const std::vector<InputSpec>& specs);

std::vector<int64_t> parseShape(const std::string& text);

}  // namespace modelexport

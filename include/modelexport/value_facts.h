#pragma once
// run stage: the dtype and shape of every value, learned by running the
// prepared graph once on example inputs, and the values that are known at export time.
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <torch/script.h>

#include "modelexport/op_facts.h"

namespace modelexport {

struct ValueFact {
  bool isTensor = false;
  at::ScalarType dtype = at::ScalarType::Undefined;
  std::vector<int64_t> sizes;
  // Static: does not depend on the data of the inputs (only on constants and shapes),
  // so its value is folded into the ONNX file. Always kept for non-tensors.
  bool isStatic = false;
  // Computed from a module parameter or buffer: kept as ONNX nodes even when static, so
  // that every module whose forward computes something keeps its nodes.
  bool fromParameter = false;
  c10::IValue value;  // set for static values and for every non-tensor value
  // Dims that change with the dynamic axes (--dynamic-axes): symbolic in the file.
  std::vector<int64_t> dynamicDims;
  // A per-tensor quantized tensor's scale and zero point (0 scale: not one). Its ONNX
  // tensor is float, the dequantized values (quantized_converters.cpp).
  double qScale = 0;
  int64_t qZeroPoint = 0;
};

class ValueFacts {
 public:
  const ValueFact& of(const torch::jit::Value* v) const;
  bool has(const torch::jit::Value* v) const { return facts_.count(v) != 0; }
  ValueFact& set(const torch::jit::Value* v) { return facts_[v]; }
  // Compares with a run on inputs whose dynamic axes had other sizes: dims that differ
  // become dynamic, and values known at export time that differ stop being known. When
  // that run varied the data-dependent sizes (nms, boolean masks), everything computed
  // from a value that differs stops being known too (but by shape-only ops), even where
  // both runs gave the same: min(60, boxes kept) is 60 in both when each keeps more.
  void markVarying(const ValueFacts& other, const OpFactsTable& ops);
  // Set by runForFacts on a run that varied the data-dependent sizes.
  void setVariedDataDependentSizes() { variedDataDependentSizes_ = true; }
  // Values a torch.export program declares symbolic (value -> dims that are expressions
  // of its symbols; none for a SymInt): those dims become dynamic and the values stop
  // being known at export time, and so does everything computed from them (except by
  // shape-only ops), even where the run with the axes one larger gave the same (a
  // length after strided convolutions, n // 20). `ops` says which ops are shape-only.
  void markSymbolic(const torch::jit::Graph& graph,
                    const std::unordered_map<const torch::jit::Value*, std::vector<int64_t>>& symbolic,
                    const OpFactsTable& ops);

 private:
  // What depends on a value no longer known at export time is not known either, as the
  // run decides (Runner::runNode): static when shape-only (a fill value aside) or when
  // every input is.
  void followNotStatic(const torch::jit::Graph& graph, const OpFactsTable& ops);

  std::unordered_map<const torch::jit::Value*, ValueFact> facts_;
  bool variedDataDependentSizes_ = false;
};

struct RunResult {
  ValueFacts facts;
  // Nodes given a stand-in instead of being computed (shape_only_run.h). The run's own
  // results are therefore no numerical reference; --dump-io runs the model itself.
  size_t sizedNotComputed = 0;
};

// The value of a prim::Constant output (nullopt for anything else). Unlike toIValue it
// takes the None constants scripted code leaves typed as optionals (`Tensor?`).
c10::optional<c10::IValue> constantValue(const torch::jit::Value* v);

// An in-place ATen kind (`aten::relu_`; not a dunder like `aten::__and__`).
bool isInPlaceKind(const std::string& kind);

// Runs the graph node by node. Throws UserError when the model rejects the inputs.
// `ops` is the op table's facts (which ops are shape-only, views, data-dependent in
// size, or need only a stand-in of their result: shape_only_run.h).
// `parameters` are the constants that hold module parameters and buffers. With
// `varyDataDependentSizes`, each result of an op whose size depends on data
// (OpFacts::kDataDependentSize; kSizeFromMask with a mask computed from data) has
// another count along that size: its first entry alone, the one entry twice, or one
// zero row for none, so comparing with a plain run (markVarying) shows what follows
// those sizes. In a graph with such ops, a branch not taken on a size gets facts too.
RunResult runForFacts(torch::jit::Graph& graph, const std::vector<c10::IValue>& inputs, const OpFactsTable& ops,
                      const std::unordered_set<const torch::jit::Value*>& parameters = {},
                      bool varyDataDependentSizes = false);

// Whether the graph (or a block in it) calls an op whose result size depends on data.
// With a run's facts, an index counts only with a boolean mask computed from data; without
// them, with an index whose type may be one.
bool hasDataDependentSizes(const torch::jit::Block* block, const OpFactsTable& ops, const ValueFacts* facts = nullptr);

}  // namespace modelexport

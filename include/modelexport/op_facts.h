#pragma once
// What the stages before conversion need to know about an op, and the table of them
// keyed by op name. Plain data: the converters' registrations fill it (each op's facts
// declared beside its converter, convert_context.h), the pipeline hands it to the stages
// that read it, and node_op_facts.h finds a TorchScript node's entry.
#include <cstdint>
#include <string>
#include <unordered_map>

namespace modelexport {

// When an op's result has its first input's sizes and dtype (and, for a contiguous
// floating input, its strides), so the shape-only run may take that input as a
// stand-in for a result whose data nothing needs (shape_only_run.h).
enum class KeepsInputSize : uint8_t {
  No,
  Always,
  WithoutDtype,     // softmax: unless a dtype argument is given
  NumberBounds,     // clamp: unless a bound is a tensor (it broadcasts)
  SameSizeOperand,  // add/sub/mul/div: the other operand a float or a same-size, same-dtype tensor
};

// A formula for the result's sizes from the inputs' sizes, so the op itself need not
// run (shape_only_run.cpp): the arguments' positions of each family.
enum class SizeFormula : uint8_t { None, Convolution, ConvNd, ConvTransposeNd, Linear, Mm, Addmm, Bmm, Baddbmm, Matmul, Attention };

struct OpFacts {
  enum Flag : uint32_t {
    // Depends only on its inputs' shapes, dtypes and devices (or on which are None): a
    // value known at export time, and it carries none of its inputs' data onward.
    kShapeOnly = 1u << 0,
    // Reads nothing of any input but its sizes: the shape-only run needs no input data.
    kReadsOnlySizes = 1u << 1,
    // Output sizes follow from input sizes and non-tensor arguments, and it never fails
    // on any data (no integer division, no indices from data).
    kDataBlind = 1u << 2,
    // Bookkeeping with no module of its own (constants, list plumbing, casts, size
    // reads): tagged from its consumers when it has no callstack.
    kAuxiliary = 1u << 3,
    // Its result is a view of its first input: an in-place write through it writes that input.
    kView = 1u << 4,
    // The size of its result's dim 0 depends on input data (boxes kept by nms): the run
    // varies it to learn which sizes downstream follow it, and those stay dynamic.
    kDataDependentSize = 1u << 5,
    // Indexing (aten::index): with a boolean mask computed from data among its indices,
    // its result's size at the mask's place depends on the data, as kDataDependentSize.
    kSizeFromMask = 1u << 6,
    // Its result is elements of its first input, moved or selected, none computed (view,
    // slice, expand, index, ...): a mask passed through it is still that mask.
    kMovesElements = 1u << 7,
    // Converts its first input to another dtype (to, type_as): an input named *mask*
    // that reaches one is given as int64, as tokenizers make masks.
    kDtypeCast = 1u << 8,
  };
  uint32_t flags = 0;
  KeepsInputSize keepsInputSize = KeepsInputSize::No;
  SizeFormula sizeFormula = SizeFormula::None;
  int indexInput = -1;  // an input holding indices: a graph input reaching it is int64
  int indexTable = -1;  // the input whose dim 0 those indices select (bounds the ids)
  // A shape-only op's fill value (full_like, new_full): computed from data, it makes the
  // result depend on data after all.
  int fillInput = -1;

  bool has(Flag f) const { return (flags & f) != 0; }
  // Data-blind also when a stand-in or a size formula covers it.
  bool dataBlind() const {
    return has(kDataBlind) || keepsInputSize != KeepsInputSize::No || sizeFormula != SizeFormula::None;
  }
  // The union: flags of both, and each field the other one sets.
  OpFacts operator|(const OpFacts& o) const {
    OpFacts r = *this;
    r.flags |= o.flags;
    if (o.keepsInputSize != KeepsInputSize::No) r.keepsInputSize = o.keepsInputSize;
    if (o.sizeFormula != SizeFormula::None) r.sizeFormula = o.sizeFormula;
    if (o.indexInput >= 0) r.indexInput = o.indexInput;
    if (o.indexTable >= 0) r.indexTable = o.indexTable;
    if (o.fillInput >= 0) r.fillInput = o.fillInput;
    return r;
  }
};

// Short forms for registrations: `r.add("aten::relu", relu, keepsSize())`.
inline OpFacts flags(uint32_t f) { return OpFacts{f}; }
inline OpFacts shapeOnly() { return flags(OpFacts::kShapeOnly); }
inline OpFacts dataBlind() { return flags(OpFacts::kDataBlind); }
inline OpFacts auxiliary() { return flags(OpFacts::kAuxiliary); }
inline OpFacts view() { return flags(OpFacts::kView); }
inline OpFacts dataDependentSize() { return flags(OpFacts::kDataDependentSize); }
inline OpFacts sizeFromMask() { return flags(OpFacts::kSizeFromMask); }
inline OpFacts movesElements() { return flags(OpFacts::kMovesElements); }
inline OpFacts dtypeCast() { return flags(OpFacts::kDtypeCast); }
inline OpFacts keepsSize(KeepsInputSize when = KeepsInputSize::Always) {
  OpFacts f;
  f.keepsInputSize = when;
  return f;
}
inline OpFacts sizedBy(SizeFormula formula) {
  OpFacts f;
  f.sizeFormula = formula;
  return f;
}
inline OpFacts indexAt(int input, int table = -1) {
  OpFacts f;
  f.indexInput = input;
  f.indexTable = table;
  return f;
}

inline OpFacts fillFrom(int input) {
  OpFacts f;
  f.fillInput = input;
  return f;
}

// The op table's facts. A key is an op kind ("aten::add": every overload) or one
// overload ("aten::add.Tensor"); an overload's entry, when there is one, replaces its
// kind's (the rounding-mode overloads of div declare none).
class OpFactsTable {
 public:
  // The facts join those the key has (an entry with no facts is still an entry).
  void add(const std::string& key, const OpFacts& facts) {
    OpFacts& f = table_[key];
    f = f | facts;
  }
  // The entry of the overload (empty: the plain kind), else of the kind; nullptr for an
  // op the table does not know.
  const OpFacts* find(const std::string& kind, const std::string& overload = std::string()) const {
    auto it = table_.find(overload.empty() ? kind : kind + "." + overload);
    if (it == table_.end() && !overload.empty()) it = table_.find(kind);
    return it == table_.end() ? nullptr : &it->second;
  }

 private:
  std::unordered_map<std::string, OpFacts> table_;
};

}  // namespace modelexport

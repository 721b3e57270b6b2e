#pragma once
// What the stages before conversion need to know about an op, declared with its
// converter in the one op table (defaultConverters(), convert_context.h).
#include <cstdint>

#include <torch/csrc/jit/ir/ir.h>

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
enum class SizeFormula : uint8_t { None, Convolution, ConvNd, ConvTransposeNd, Linear, Mm, Addmm, Bmm, Baddbmm, Matmul };

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
  };
  uint32_t flags = 0;
  KeepsInputSize keepsInputSize = KeepsInputSize::No;
  SizeFormula sizeFormula = SizeFormula::None;
  int indexInput = -1;  // an input holding indices: a graph input reaching it is int64
  int indexTable = -1;  // the input whose dim 0 those indices select (bounds the ids)

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

// The facts of this node's op in defaultConverters(): its overload's entry, else its
// kind's; nullptr for an op the table does not know.
const OpFacts* opFacts(const torch::jit::Node* node);
// The same, or no facts at all.
const OpFacts& opFactsOrNone(const torch::jit::Node* node);

}  // namespace modelexport

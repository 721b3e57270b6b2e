// Shape and layout: reshape, transpose, squeeze, concat, split, slice, pad, tile.
#include <algorithm>
#include <limits>
#include <numeric>

#include "modelexport/convert_context.h"
#include "modelexport/converter_helpers.h"

namespace modelexport {
namespace {

using torch::jit::Value;

std::string slice(ConvertContext& ctx, const std::string& x, int64_t axis, int64_t start, int64_t end,
                  int64_t step) {
  return ctx.op("Slice", {x, ctx.constInts({start}), ctx.constInts({end}), ctx.constInts({axis}),
                          ctx.constInts({step})});
}

// The output's recorded shape: exact for static-shape exports whatever -1s the call had.
// With dynamic axes the output shape is not fixed: view/reshape pass their size list
// (-1 and all), view_as/reshape_as the other tensor's Shape.
void reshapeToOutput(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  std::string shape;
  if (!ctx.hasDynamicDims(ctx.out())) {
    shape = ctx.constInts(ctx.sizes(ctx.out()));
  } else {
    const std::string kind = ctx.node()->kind().toQualString();
    if (kind == "aten::view" || kind == "aten::_unsafe_view") {
      shape = ctx.intListInput(ctx.in("size"));
    } else if (kind == "aten::reshape") {
      shape = ctx.intListInput(ctx.in("shape"));
    } else if (kind == "aten::view_as" || kind == "aten::reshape_as") {
      shape = ctx.op("Shape", {ctx.input(ctx.in("other"))});
    } else {
      ctx.unsupported(kind + " of a tensor with dynamic axes");
    }
  }
  ctx.setOutput(ctx.op("Reshape", {ctx.inputAs(ctx.in("self"), type), shape}), type);
}

void flatten(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const int64_t rank = ctx.rank(ctx.in("self"));
  const int64_t start = ConvertContext::normDim(ctx.toInt(ctx.in("start_dim")), rank);
  const int64_t end = ConvertContext::normDim(ctx.toInt(ctx.in("end_dim")), rank);
  if (rank >= 2 && start == 1 && end == rank - 1) {
    ctx.setOutput(ctx.op("Flatten", {ctx.inputAs(ctx.in("self"), type)}, {attr::i("axis", 1)}), type);
    return;
  }
  if (ctx.hasDynamicDims(ctx.in("self")) && rank > 0) {
    // Sizes known at run time: the dims before start kept (Reshape's 0), the flattened
    // ones -1, those after end from x's Shape.
    std::string x = ctx.inputAs(ctx.in("self"), type);
    std::vector<int64_t> head(static_cast<size_t>(start), 0);
    head.push_back(-1);
    std::string shape = ctx.constInts(head);
    if (end + 1 < rank) {
      std::string tail = ctx.op("Slice", {ctx.op("Shape", {x}), ctx.constInts({end + 1}), ctx.constInts({rank})});
      shape = ctx.op("Concat", {shape, tail}, {attr::i("axis", 0)});
    }
    ctx.setOutput(ctx.op("Reshape", {x, shape}), type);
    return;
  }
  reshapeToOutput(ctx);
}

void permute(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const int64_t rank = ctx.rank(ctx.in("self"));
  std::vector<int64_t> perm = ctx.toInts(ctx.in("dims"));
  for (auto& p : perm) p = ConvertContext::normDim(p, rank);
  ctx.setOutput(ctx.op("Transpose", {ctx.inputAs(ctx.in("self"), type)}, {attr::ints("perm", perm)}), type);
}

// transpose/swapdims(self, dim0, dim1), swapaxes(self, axis0, axis1): the names of the
// two dims come from the registration; aten::t (none) swaps a matrix's.
void transpose(ConvertContext& ctx, const char* dim0, const char* dim1) {
  const auto type = ctx.dtype(ctx.out());
  const int64_t rank = ctx.rank(ctx.in("self"));
  std::vector<int64_t> perm;
  for (int64_t d = 0; d < rank; ++d) perm.push_back(d);
  if (dim0) {
    std::swap(perm[ConvertContext::normDim(ctx.toInt(ctx.in(dim0)), rank)],
              perm[ConvertContext::normDim(ctx.toInt(ctx.in(dim1)), rank)]);
  } else if (rank == 2) {  // aten::t
    std::swap(perm[0], perm[1]);
  }
  std::string x = ctx.inputAs(ctx.in("self"), type);
  ctx.setOutput(rank < 2 ? x : ctx.op("Transpose", {x}, {attr::ints("perm", perm)}), type);
}

void unsqueezeOp(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const int64_t dim = ConvertContext::normDim(ctx.toInt(ctx.in("dim")), ctx.rank(ctx.in("self")) + 1);
  ctx.setOutput(unsqueeze(ctx, ctx.inputAs(ctx.in("self"), type), {dim}), type);
}

// Only the named dims (or all) of size 1 go; asking a dynamic dim's size refuses, since
// whether it is 1 is only known at run time.
void squeezeOp(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const int64_t rank = ctx.rank(ctx.in("self"));
  std::vector<int64_t> axes;
  if (ctx.given("dim")) {  // squeeze.dim, squeeze.dims
    for (int64_t d : ctx.toInts(ctx.in("dim"))) {
      d = ConvertContext::normDim(d, rank);
      if (d < rank && ctx.dim(ctx.in("self"), d) == 1) axes.push_back(d);
    }
  } else {
    for (int64_t d = 0; d < rank; ++d)
      if (ctx.dim(ctx.in("self"), d) == 1) axes.push_back(d);
  }
  std::string x = ctx.inputAs(ctx.in("self"), type);
  ctx.setOutput(axes.empty() ? x : squeeze(ctx, x, axes), type);
}

void expand(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  if (!ctx.hasDynamicDims(ctx.out())) {
    ctx.setOutput(ctx.op("Expand", {ctx.inputAs(ctx.in("self"), type), ctx.constInts(ctx.sizes(ctx.out()))}), type);
    return;
  }
  const std::string kind = ctx.node()->kind().toQualString();
  if (kind == "aten::expand_as") {
    ctx.setOutput(ctx.op("Expand", {ctx.inputAs(ctx.in("self"), type), ctx.op("Shape", {ctx.input(ctx.in("other"))})}), type);
    return;
  }
  // torch's -1 keeps a dim; ONNX Expand broadcasts, and 1 keeps any dim the same way.
  const Value* sizes = ctx.in("size");
  if (sizes->node()->kind() != c10::prim::ListConstruct) ctx.unsupported("expand to a computed size list");
  std::vector<std::string> parts;
  for (const Value* element : sizes->node()->inputs()) {
    if (ctx.isStatic(element)) {
      const int64_t n = ctx.toInt(element);
      parts.push_back(ctx.constInts({n == -1 ? 1 : n}));
    } else {
      parts.push_back(unsqueeze(ctx, ctx.inputAs(element, at::kLong), {0}));
    }
  }
  ctx.setOutput(ctx.op("Expand", {ctx.inputAs(ctx.in("self"), type), ctx.op("Concat", parts, {attr::i("axis", 0)})}),
                type);
}

void cat(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const int64_t dim = ConvertContext::normDim(ctx.toInt(ctx.in("dim")), ctx.rank(ctx.out()));
  std::vector<std::string> parts;
  if (auto elements = ctx.listElements(ctx.in("tensors"))) {
    for (const Value* element : *elements) {
      if (ctx.fact(element).isTensor && ctx.fact(element).sizes.size() == 1 && ctx.fact(element).sizes[0] == 0 &&
          ctx.rank(ctx.out()) != 1)
        continue;  // LibTorch skips legacy empty 1-D tensors in cat
      parts.push_back(ctx.inputAs(element, type));
    }
  } else {
    parts = ctx.inputList(ctx.in("tensors"));
  }
  ctx.setOutput(parts.size() == 1 ? parts[0] : ctx.op("Concat", parts, {attr::i("axis", dim)}), type);
}

void stack(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const int64_t dim = ConvertContext::normDim(ctx.toInt(ctx.in("dim")), ctx.rank(ctx.out()));
  std::vector<std::string> parts;
  if (auto elements = ctx.listElements(ctx.in("tensors"))) {
    for (const Value* element : *elements) parts.push_back(unsqueeze(ctx, ctx.inputAs(element, type), {dim}));
  } else {
    for (const auto& name : ctx.inputList(ctx.in("tensors"))) parts.push_back(unsqueeze(ctx, name, {dim}));
  }
  ctx.setOutput(ctx.op("Concat", parts, {attr::i("axis", dim)}), type);
}

int64_t optionalInt(ConvertContext& ctx, const Value* v, int64_t fallback) {
  return ctx.given(v) ? ctx.toInt(v) : fallback;
}

// A slice bound as a 1-element int64 tensor: constant, or from a dynamic size.
std::string sliceBound(ConvertContext& ctx, const Value* v, int64_t fallback) {
  if (!ctx.given(v)) return ctx.constInts({fallback});
  if (ctx.isStatic(v)) return ctx.constInts({ctx.toInt(v)});
  return unsqueeze(ctx, ctx.inputAs(v, at::kLong), {0});
}

void sliceOp(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const int64_t rank = ctx.rank(ctx.in("self"));
  const int64_t dim = ConvertContext::normDim(ctx.toInt(ctx.in("dim")), rank);
  if ((ctx.given(ctx.in("start")) && !ctx.isStatic(ctx.in("start"))) || (ctx.given(ctx.in("end")) && !ctx.isStatic(ctx.in("end")))) {
    const int64_t step = ctx.given("step") ? ctx.toInt(ctx.in("step")) : 1;
    ctx.setOutput(ctx.op("Slice", {ctx.inputAs(ctx.in("self"), type), sliceBound(ctx, ctx.in("start"), 0),
                                   sliceBound(ctx, ctx.in("end"), std::numeric_limits<int64_t>::max()),
                                   ctx.constInts({dim}), ctx.constInts({step})}),
                  type);
    return;
  }
  const int64_t start = optionalInt(ctx, ctx.in("start"), 0);
  const int64_t end = optionalInt(ctx, ctx.in("end"), std::numeric_limits<int64_t>::max());
  const int64_t step = ctx.given("step") ? ctx.toInt(ctx.in("step")) : 1;
  ctx.setOutput(slice(ctx, ctx.inputAs(ctx.in("self"), type), dim, start, end, step), type);
}

void narrow(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const int64_t dim = ConvertContext::normDim(ctx.toInt(ctx.in("dim")), ctx.rank(ctx.in("self")));
  int64_t start = ctx.toInt(ctx.in("start"));
  if (start < 0) start += ctx.sizes(ctx.in("self")).at(dim);
  ctx.setOutput(slice(ctx, ctx.inputAs(ctx.in("self"), type), dim, start, start + ctx.toInt(ctx.in("length")), 1), type);
}

void select(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const int64_t dim = ConvertContext::normDim(ctx.toInt(ctx.in("dim")), ctx.rank(ctx.in("self")));
  std::string index = ctx.isStatic(ctx.in("index")) ? ctx.scalar(static_cast<double>(ctx.toInt(ctx.in("index"))), at::kLong)
                                              : ctx.inputAs(ctx.in("index"), at::kLong);
  ctx.setOutput(ctx.op("Gather", {ctx.inputAs(ctx.in("self"), type), index}, {attr::i("axis", dim)}), type);
}

bool isDynamicDim(const ConvertContext& ctx, const Value* x, int64_t d) {
  const auto& dynamic = ctx.fact(x).dynamicDims;
  return std::find(dynamic.begin(), dynamic.end(), d) != dynamic.end();
}

// The size of dim `d` of x as a 0-d int64 tensor: a constant when fixed, else from Shape.
std::string dimSize(ConvertContext& ctx, const Value* x, int64_t d) {
  if (!isDynamicDim(ctx, x, d)) return ctx.scalar(static_cast<double>(ctx.dim(x, d)), at::kLong);
  return ctx.op("Gather", {ctx.op("Shape", {ctx.input(x)}), ctx.scalar(static_cast<double>(d), at::kLong)},
                {attr::i("axis", 0)});
}

// A start position as LibTorch takes it: a negative one counts from the end, and it is
// clamped to [0, size]. 0-d int64; a constant when the start and that dim are fixed.
std::string clampedStart(ConvertContext& ctx, const Value* start, const Value* self, int64_t dim) {
  if (!ctx.given(start)) return ctx.scalar(0, at::kLong);
  if (ctx.isStatic(start) && !isDynamicDim(ctx, self, dim)) {
    const int64_t size = ctx.dim(self, dim);
    int64_t s = ctx.toInt(start);
    if (s < 0) s += size;
    return ctx.scalar(static_cast<double>(std::clamp<int64_t>(s, 0, size)), at::kLong);
  }
  std::string s = ctx.inputAs(start, at::kLong), size = dimSize(ctx, self, dim), zero = ctx.scalar(0, at::kLong);
  s = ctx.op("Where", {ctx.op("Less", {s, zero}), ctx.op("Add", {s, size}), s});
  return ctx.op("Min", {ctx.op("Max", {s, zero}), size});
}

// self with src written along `dim` at positions start, start + step, ... (`count` of
// them, a 0-d int64): ScatterElements with those positions broadcast to src's shape.
std::string scatterAlong(ConvertContext& ctx, const Value* self, const std::string& src, const std::string& srcShape,
                         int64_t dim, const std::string& start, const std::string& count, int64_t step,
                         at::ScalarType type) {
  std::string delta = ctx.scalar(static_cast<double>(step), at::kLong);
  std::string limit = ctx.op("Add", {start, ctx.op("Mul", {count, delta})});
  std::vector<int64_t> along(static_cast<size_t>(ctx.rank(self)), 1);
  along[static_cast<size_t>(dim)] = -1;
  std::string positions = ctx.op("Reshape", {ctx.op("Range", {start, limit, delta}), ctx.constInts(along)});
  std::string indices = ctx.op("Expand", {positions, srcShape});
  return ctx.op("ScatterElements", {ctx.inputAs(self, type), indices, src}, {attr::i("axis", dim)});
}

// slice_scatter(self, src, dim, start, end, step): src written into that slice of self.
// A slice of the whole dim (start 0, no end, step 1) is src itself.
void sliceScatter(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const Value* self = ctx.in("self");
  const Value* srcValue = ctx.in("src");
  const int64_t dim = ConvertContext::normDim(ctx.toInt(ctx.in("dim")), ctx.rank(self));
  const int64_t step = ctx.given("step") ? ctx.toInt(ctx.in("step")) : 1;
  const Value* start = ctx.in("start");
  const Value* end = ctx.in("end");
  const bool fromZero = !ctx.given(start) || (ctx.isStatic(start) && ctx.toInt(start) == 0);
  const bool toEnd = !ctx.given(end) || (ctx.isStatic(end) && ctx.toInt(end) == std::numeric_limits<int64_t>::max());
  std::string src = ctx.inputAs(srcValue, type);
  if (fromZero && toEnd && step == 1) {
    ctx.setOutput(src, type);
    return;
  }
  std::string srcShape = ctx.hasDynamicDims(srcValue) ? ctx.op("Shape", {src}) : ctx.constInts(ctx.sizes(srcValue));
  ctx.setOutput(scatterAlong(ctx, self, src, srcShape, dim, clampedStart(ctx, start, self, dim),
                             dimSize(ctx, srcValue, dim), step, type),
                type);
}

// select_scatter(self, src, dim, index): src (self's shape without dim) written at index.
void selectScatter(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const Value* self = ctx.in("self");
  const int64_t dim = ConvertContext::normDim(ctx.toInt(ctx.in("dim")), ctx.rank(self));
  std::string src = unsqueeze(ctx, ctx.inputAs(ctx.in("src"), type), {dim});
  const Value* index = ctx.in("index");
  std::string position;
  if (ctx.isStatic(index) && (ctx.toInt(index) >= 0 || !isDynamicDim(ctx, self, dim))) {
    const int64_t i = ctx.toInt(index);
    position = ctx.scalar(static_cast<double>(i < 0 ? i + ctx.dim(self, dim) : i), at::kLong);
  } else {
    std::string i = ctx.inputAs(index, at::kLong);
    position = ctx.op("Where", {ctx.op("Less", {i, ctx.scalar(0, at::kLong)}), ctx.op("Add", {i, dimSize(ctx, self, dim)}), i});
  }
  std::string srcShape;
  if (ctx.hasDynamicDims(self)) {
    srcShape = ctx.op("Shape", {src});
  } else {
    std::vector<int64_t> sizes = ctx.sizes(self);
    sizes[static_cast<size_t>(dim)] = 1;
    srcShape = ctx.constInts(sizes);
  }
  ctx.setOutput(scatterAlong(ctx, self, src, srcShape, dim, position, ctx.scalar(1, at::kLong), 1, type), type);
}

// split / split_with_sizes / chunk / unbind: sizes come from the recorded outputs.
// `sizesInput`: Split takes its sizes as an input (opset 13 on), an attribute before.
void split(ConvertContext& ctx, bool squeezeParts, bool sizesInput) {
  const Value* result = ctx.out();
  const auto& listValue = ctx.fact(result).value;
  const int64_t rank = ctx.rank(ctx.in("self"));
  const Value* dimArg = ctx.arg("dim");  // unbind's second argument, split's and chunk's third
  const int64_t dim = ConvertContext::normDim(ctx.given(dimArg) ? ctx.toInt(dimArg) : 0, rank);
  if (!listValue.isTensorList()) ctx.unsupported("split whose parts are not a tensor list");
  std::vector<at::Tensor> parts = listValue.toTensorVector();
  std::vector<int64_t> sizes;
  // unbind's parts have lost `dim`: each is one slice of it.
  for (const auto& p : parts) sizes.push_back(squeezeParts ? 1 : p.size(dim));
  const auto type = ctx.dtype(ctx.in("self"));
  std::string x = ctx.inputAs(ctx.in("self"), type);
  // Sizes known only at run time: a split of a dim that varies (boxes kept per image).
  const Value* sizesArg = ctx.arg("split_sizes");
  const auto& varying = ctx.fact(ctx.in("self")).dynamicDims;
  const bool dimVaries = std::find(varying.begin(), varying.end(), dim) != varying.end();
  if (!squeezeParts && parts.size() == 1) {  // the whole tensor, whatever its size
    ctx.bindList(result, {ctx.op("Identity", {x})});
    return;
  }
  std::vector<std::string> outs;
  if (!squeezeParts && (dimVaries || (ctx.given(sizesArg) && !ctx.isStatic(sizesArg)))) {
    if (!ctx.given(sizesArg)) ctx.unsupported("split into parts of a fixed size along a dim whose size varies");
    if (!sizesInput) ctx.unsupported("split sizes known only at run time need Split's sizes input (opset 13)");
    outs = ctx.ops("Split", {x, ctx.intListInput(sizesArg)}, sizes.size(), {attr::i("axis", dim)});
  } else if (sizesInput) {
    outs = ctx.ops("Split", {x, ctx.constInts(sizes)}, sizes.size(), {attr::i("axis", dim)});
  } else {
    outs = ctx.ops("Split", {x}, sizes.size(), {attr::i("axis", dim), attr::ints("split", sizes)});
  }
  if (squeezeParts)
    for (auto& o : outs) o = squeeze(ctx, o, {dim});
  ctx.bindList(result, outs);
}

// Repeats may be sizes only known at run time (dynamic axes); their count must be known.
void repeat(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  size_t count = 0;
  if (ctx.isStatic(ctx.in("repeats"))) {
    count = ctx.toInts(ctx.in("repeats")).size();
  } else if (auto elements = ctx.listElements(ctx.in("repeats"))) {
    count = elements->size();
  } else {
    ctx.unsupported("repeats of a length only known at run time");
  }
  std::string x = ctx.inputAs(ctx.in("self"), type);
  const auto rank = static_cast<size_t>(ctx.rank(ctx.in("self")));
  if (count > rank) {  // torch prepends dims of size 1
    std::vector<int64_t> leading(count - rank);
    std::iota(leading.begin(), leading.end(), 0);
    x = unsqueeze(ctx, x, leading);
  }
  ctx.setOutput(ctx.op("Tile", {x, ctx.intListInput(ctx.in("repeats"))}), type);
}

// Pad with torch's pad list (last_begin, last_end, prev_begin, prev_end, ...) and the
// constant fill "value" (constant_pad_nd and pad both name it so).
// Pad's pads (x1_begin, x2_begin, ..., x1_end, ...) from a pad list whose amounts are
// run-time ints (window padding that follows the dynamic axes).
std::string runTimePads(ConvertContext& ctx, int64_t rank) {
  auto elements = ctx.listElements(ctx.in("pad"));
  if (!elements) ctx.unsupported("pad amounts in a list computed at run time");
  std::vector<std::string> pads(2 * static_cast<size_t>(rank), ctx.constInts({0}));
  for (size_t k = 0; k + 1 < elements->size() && k / 2 < static_cast<size_t>(rank); k += 2) {
    const auto d = static_cast<size_t>(rank - 1 - static_cast<int64_t>(k / 2));
    for (size_t side = 0; side < 2; ++side) {
      const Value* amount = (*elements)[k + side];
      pads[d + side * static_cast<size_t>(rank)] = ctx.isStatic(amount) ? ctx.constInts({ctx.toInt(amount)})
                                                   : unsqueeze(ctx, ctx.inputAs(amount, at::kLong), {0});
    }
  }
  return ctx.op("Concat", pads, {attr::i("axis", 0)});
}

void padWith(ConvertContext& ctx, const std::string& onnxMode) {
  const auto type = ctx.dtype(ctx.out());
  const int64_t rank = ctx.rank(ctx.in("self"));
  std::string padsInput;
  if (ctx.isStatic(ctx.in("pad"))) {
    auto pad = ctx.toInts(ctx.in("pad"));  // (last_begin, last_end, prev_begin, prev_end, ...)
    std::vector<int64_t> pads(2 * rank, 0);
    for (size_t k = 0; k + 1 < pad.size() && k / 2 < static_cast<size_t>(rank); k += 2) {
      const int64_t d = rank - 1 - static_cast<int64_t>(k / 2);
      pads[d] = pad[k];
      pads[d + rank] = pad[k + 1];
    }
    padsInput = ctx.constInts(pads);
  } else {
    padsInput = runTimePads(ctx, rank);
  }
  std::vector<std::string> inputs{ctx.inputAs(ctx.in("self"), type), padsInput};
  if (onnxMode == "constant") {
    inputs.push_back(ctx.scalar(ctx.given("value") ? ctx.toDouble(ctx.in("value")) : 0.0, type));
  }
  ctx.setOutput(ctx.op("Pad", inputs, {attr::s("mode", onnxMode)}), type);
}

void constantPad(ConvertContext& ctx) { padWith(ctx, "constant"); }

// aten::pad(self, pad, mode, value): what F.pad traces into since torch 1.13.
void padOp(ConvertContext& ctx) {
  const std::string mode = ctx.given("mode") ? ctx.staticValue(ctx.in("mode")).toStringRef() : "constant";
  if (mode == "constant") return padWith(ctx, "constant");
  if (mode == "reflect") return padWith(ctx, "reflect");
  if (mode == "replicate") return padWith(ctx, "edge");
  ctx.unsupported("pad mode '" + mode + "'");
}

void sizeOp(ConvertContext& ctx) {
  // Only reached when the shape is not known at export time (dynamic axes).
  std::string shape = ctx.op("Shape", {ctx.input(ctx.in("self"))});
  if (ctx.given("dim")) {  // size.int
    const int64_t dim = ConvertContext::normDim(ctx.toInt(ctx.in("dim")), ctx.rank(ctx.in("self")));
    shape = ctx.op("Gather", {shape, ctx.scalar(static_cast<double>(dim), at::kLong)}, {attr::i("axis", 0)});
  }
  // The result is an int or int[], not a tensor: bound as is, nothing to cast.
  ctx.setOutput(shape);
}

// numel: ONNX Size, an int64 scalar. Only reached when the element count is not known
// at export time (boxes kept by nms, dynamic axes).
void numelOp(ConvertContext& ctx) { ctx.setOutput(ctx.op("Size", {ctx.input(ctx.in("self"))})); }

void flip(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const int64_t rank = ctx.rank(ctx.in("self"));
  std::vector<int64_t> axes = ctx.toInts(ctx.in("dims"));
  for (auto& a : axes) a = ConvertContext::normDim(a, rank);
  std::vector<int64_t> starts(axes.size(), -1), ends(axes.size(), std::numeric_limits<int64_t>::min()),
      steps(axes.size(), -1);
  ctx.setOutput(ctx.op("Slice", {ctx.inputAs(ctx.in("self"), type), ctx.constInts(starts), ctx.constInts(ends),
                                 ctx.constInts(axes), ctx.constInts(steps)}),
                type);
}

// `triluOp`: Trilu exists (opset 14 on); a constant mask and Where before.
void trilu(ConvertContext& ctx, bool upper, bool triluOp) {
  const auto type = ctx.dtype(ctx.out());
  const int64_t k = ctx.given("diagonal") ? ctx.toInt(ctx.in("diagonal")) : 0;
  std::string x = ctx.inputAs(ctx.in("self"), type);
  if (triluOp) {
    ctx.setOutput(ctx.op("Trilu", {x, ctx.scalar(static_cast<double>(k), at::kLong)}, {attr::i("upper", upper)}), type);
    return;
  }
  const auto& shape = ctx.sizes(ctx.in("self"));
  at::Tensor ones = torch::ones({shape[shape.size() - 2], shape.back()}, at::kBool);
  at::Tensor keep = upper ? ones.triu(k) : ones.tril(k);
  ctx.setOutput(ctx.op("Where", {ctx.constant(keep, "trilu_mask"), x, ctx.scalar(0, type)}), type);
}

// tile(x, dims): fewer dims than x's rank repeat the trailing ones, as LibTorch pads
// dims with leading 1s; more dims go through repeat's leading-1 reshape.
void tile(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  auto repeats = ctx.toInts(ctx.in("dims"));
  auto shape = ctx.sizes(ctx.in("self"));
  std::string x = ctx.inputAs(ctx.in("self"), type);
  if (repeats.size() < shape.size()) repeats.insert(repeats.begin(), shape.size() - repeats.size(), 1);
  if (repeats.size() > shape.size()) {
    shape.insert(shape.begin(), repeats.size() - shape.size(), 1);
    x = ctx.op("Reshape", {x, ctx.constInts(shape)});
  }
  ctx.setOutput(ctx.op("Tile", {x, ctx.constInts(repeats)}), type);
}

// roll(x, shifts, dims): each (shift, dim) is two slices swapped; no dims rolls the
// flattened tensor.
// Only the rolled dims need known sizes: the others (a dynamic batch) pass through.
void roll(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  auto shifts = ctx.toInts(ctx.in("shifts"));
  auto dims = ctx.given("dims") ? ctx.toInts(ctx.in("dims")) : std::vector<int64_t>{};
  std::string x = ctx.inputAs(ctx.in("self"), type);
  const bool flat = dims.empty();
  std::vector<int64_t> shape;
  int64_t numel = 1;
  if (flat) {
    shape = ctx.sizes(ctx.in("self"));
    for (int64_t s : shape) numel *= s;
    x = ctx.op("Reshape", {x, ctx.constInts({numel})});
    dims = {0};
  }
  if (shifts.size() != dims.size()) ctx.unsupported("roll with different numbers of shifts and dims");
  const int64_t rank = flat ? 1 : ctx.rank(ctx.in("self"));
  for (size_t k = 0; k < dims.size(); ++k) {
    const int64_t dim = ConvertContext::normDim(dims[k], rank);
    const int64_t n = flat ? numel : ctx.dim(ctx.in("self"), dim);
    if (n == 0) continue;
    const int64_t shift = ((shifts[k] % n) + n) % n;
    if (shift == 0) continue;
    // The last `shift` elements come first.
    std::string tail = slice(ctx, x, dim, n - shift, n, 1);
    std::string head = slice(ctx, x, dim, 0, n - shift, 1);
    x = ctx.op("Concat", {tail, head}, {attr::i("axis", dim)});
  }
  if (flat) x = ctx.op("Reshape", {x, ctx.constInts(shape)});
  ctx.setOutput(x, type);
}

// movedim / moveaxis(x, source, destination) with int or int[] arguments.
void movedim(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const int64_t rank = ctx.rank(ctx.in("self"));
  auto source = ctx.toInts(ctx.in("source"));
  auto destination = ctx.toInts(ctx.in("destination"));
  if (source.size() != destination.size()) ctx.unsupported("movedim with different numbers of dims");
  std::vector<int64_t> perm(static_cast<size_t>(rank), -1);
  std::vector<bool> used(static_cast<size_t>(rank), false);
  for (size_t k = 0; k < source.size(); ++k) {
    const int64_t src = ConvertContext::normDim(source[k], rank);
    perm[ConvertContext::normDim(destination[k], rank)] = src;
    used[src] = true;
  }
  // The other dims keep their order in the remaining slots.
  int64_t next = 0;
  for (auto& p : perm) {
    if (p != -1) continue;
    while (used[next]) ++next;
    p = next++;
  }
  std::string x = ctx.inputAs(ctx.in("self"), type);
  ctx.setOutput(rank < 2 ? x : ctx.op("Transpose", {x}, {attr::ints("perm", perm)}), type);
}

// repeat_interleave(x, repeats, dim?) with int or known-tensor repeats: a Gather with
// the repeated indices; no dim works on the flattened tensor.
void repeatInterleave(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  if (ctx.node()->schema().overload_name() == "Tensor") ctx.unsupported("repeat_interleave(repeats) computed from data");
  if (!ctx.isStatic(ctx.in("repeats"))) ctx.unsupported("repeat_interleave with repeats computed from data");
  const auto& shape = ctx.sizes(ctx.in("self"));
  std::string x = ctx.inputAs(ctx.in("self"), type);
  int64_t dim = 0;
  int64_t length = 1;
  if (ctx.given("dim")) {
    dim = ConvertContext::normDim(ctx.toInt(ctx.in("dim")), static_cast<int64_t>(shape.size()));
    length = shape.at(dim);
  } else {
    for (int64_t s : shape) length *= s;
    x = ctx.op("Reshape", {x, ctx.constInts({length})});
  }
  const auto& repeatsValue = ctx.staticValue(ctx.in("repeats"));
  at::Tensor repeats = repeatsValue.isTensor() ? repeatsValue.toTensor().to(at::kLong)
                                               : torch::tensor({repeatsValue.toInt()}, at::kLong);
  at::Tensor indices = torch::arange(length, at::kLong).repeat_interleave(repeats.numel() == 1 ? repeats.reshape({}) : repeats);
  ctx.setOutput(ctx.op("Gather", {x, ctx.constant(indices, "repeat_indices")}, {attr::i("axis", dim)}), type);
}

}  // namespace

void registerShapeConverters(ConverterRegistry& r) {
  // Layout ops: data-blind (sizes from sizes), most of them views of their input.
  const OpFacts layout = dataBlind(), viewOf = dataBlind() | view();
  const std::pair<const char*, OpFacts> reshapes[] = {
      {"aten::view", viewOf | movesElements()}, {"aten::reshape", viewOf | movesElements()}, {"aten::view_as", {}},
      {"aten::reshape_as", {}},       {"aten::_reshape_alias", {}},        {"aten::unflatten", {}},
      {"aten::_unsafe_view", layout}};
  for (const auto& [kind, facts] : reshapes) r.add(kind, reshapeToOutput, facts);
  r.add("aten::flatten", flatten, viewOf);
  r.add("aten::permute", permute, viewOf);
  r.add("aten::transpose", [](ConvertContext& c) { transpose(c, "dim0", "dim1"); }, viewOf);
  r.add("aten::t", [](ConvertContext& c) { transpose(c, nullptr, nullptr); }, viewOf);
  r.add("aten::swapaxes", [](ConvertContext& c) { transpose(c, "axis0", "axis1"); });
  r.add("aten::swapdims", [](ConvertContext& c) { transpose(c, "dim0", "dim1"); });
  r.add("aten::movedim", movedim);
  r.add("aten::moveaxis", movedim);
  r.add("aten::unsqueeze", unsqueezeOp, viewOf | auxiliary() | movesElements());
  r.add("aten::squeeze", squeezeOp, viewOf | movesElements());
  r.add("aten::expand", expand, viewOf | movesElements());
  r.add("aten::expand_as", expand, layout);
  r.add("aten::broadcast_to", expand);
  r.add("aten::cat", cat, layout);
  r.add("aten::concat", cat);
  r.add("aten::stack", stack, layout);
  r.add("aten::slice", sliceOp, viewOf | movesElements());
  r.add("aten::narrow", narrow, viewOf);
  r.add("aten::select", select, viewOf | movesElements());
  r.add("aten::slice_scatter", sliceScatter, keepsSize());
  r.add("aten::select_scatter", selectScatter, keepsSize());
  // Split's sizes are an input from opset 13.
  auto splitForms = [](bool squeezeParts) {
    return OpsetForms{{kMinOpset, [squeezeParts](ConvertContext& c) { split(c, squeezeParts, false); }},
                      {13, [squeezeParts](ConvertContext& c) { split(c, squeezeParts, true); }}};
  };
  r.add("aten::split", splitForms(false), layout);
  r.add("aten::split_with_sizes", splitForms(false));
  r.add("aten::chunk", splitForms(false), layout);
  r.add("aten::unsafe_chunk", splitForms(false));
  r.add("aten::unbind", splitForms(true), layout);
  r.declare("aten::as_strided", view());
  r.add("aten::repeat", repeat);
  r.add("aten::tile", tile);
  r.add("aten::repeat_interleave", repeatInterleave);
  r.add("aten::roll", roll);
  r.add("aten::constant_pad_nd", constantPad);
  r.add("aten::pad", padOp);
  r.add("aten::size", sizeOp, flags(OpFacts::kShapeOnly | OpFacts::kReadsOnlySizes | OpFacts::kAuxiliary));
  r.add("aten::numel", numelOp, flags(OpFacts::kShapeOnly | OpFacts::kReadsOnlySizes));
  // Other reads of sizes: always known at export time, so never converted.
  for (const char* kind : {"aten::dim", "aten::sizes", "prim::shape"})
    r.declare(kind, flags(OpFacts::kShapeOnly | OpFacts::kReadsOnlySizes));
  r.declare("aten::len.Tensor", shapeOnly());  // a list's len depends on the list
  r.add("aten::flip", flip);
  r.add("aten::tril", OpsetForms{{kMinOpset, [](ConvertContext& c) { trilu(c, false, false); }},
                                 {14, [](ConvertContext& c) { trilu(c, false, true); }}});
  r.add("aten::triu", OpsetForms{{kMinOpset, [](ConvertContext& c) { trilu(c, true, false); }},
                                 {14, [](ConvertContext& c) { trilu(c, true, true); }}});
}

}  // namespace modelexport

// Indexing and gathering (index, index_select, gather, scatter, index_put, one_hot,
// nonzero), einsum, and tensor factories whose result depends on data (arange with
// computed bounds, full with a computed fill value).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include "modelexport/convert_context.h"
#include "modelexport/converter_helpers.h"

namespace modelexport {
namespace {

using torch::jit::Node;
using torch::jit::Value;

std::string transposeIfNeeded(ConvertContext& ctx, const std::string& x, const std::vector<int64_t>& perm) {
  std::vector<int64_t> identity(perm.size());
  std::iota(identity.begin(), identity.end(), 0);
  return perm == identity ? x : ctx.op("Transpose", {x}, {attr::ints("perm", perm)});
}

// One tensor index of an advanced-indexing expression: the dimension of `self` it
// indexes, its int64 ONNX tensor and its shape (unknown when it varies: a dynamic axis,
// or the boxes nms keeps).
struct TensorIndex {
  int64_t dim;
  std::string name;
  std::vector<int64_t> sizes;  // empty when not known
  bool sizesKnown = true;
  int64_t rank = 0;
};

// The tensor indices of aten::index / aten::index_put's Tensor?[] list. None skips a
// dimension; a boolean mask becomes the int64 positions of its true elements, one index
// per mask dimension: constants when the mask is known at export time, else NonZero's
// rows, whose count only the run knows (the value facts vary it: kSizeFromMask).
std::vector<TensorIndex> tensorIndices(ConvertContext& ctx, const Value* list) {
  // Each entry: a graph value, or (for a list folded into a constant) a static tensor.
  std::vector<std::pair<const Value*, c10::IValue>> entries;
  const Node* listNode = list->node();
  if (listNode->kind() == c10::prim::ListConstruct) {
    for (const Value* v : listNode->inputs()) entries.emplace_back(v, c10::IValue());
  } else if (ctx.isStatic(list) && ctx.staticValue(list).isList()) {
    for (const auto& e : ctx.staticValue(list).toListRef()) entries.emplace_back(nullptr, e);
  } else {
    ctx.unsupported("index list that is not a literal list");
  }
  std::vector<TensorIndex> indices;
  int64_t dim = 0;
  for (const auto& [value, folded] : entries) {
    if (value ? !ctx.given(value) : folded.isNone()) {
      ++dim;
      continue;
    }
    const bool known = value ? ctx.isStatic(value) : true;
    at::Tensor tensor = known ? (value ? ctx.toTensor(value) : folded.toTensor()) : at::Tensor();
    const auto type = value ? ctx.dtype(value) : tensor.scalar_type();
    if (type == at::kBool || type == at::kByte) {
      if (!known) {
        const int64_t maskRank = ctx.rank(value);
        if (maskRank == 0) ctx.unsupported("a 0-d boolean mask index computed from data");
        const std::string rows = ctx.op("NonZero", {ctx.inputAs(value, at::kBool)});  // [mask rank, count]
        for (int64_t j = 0; j < maskRank; ++j)
          indices.push_back({dim + j,
                             ctx.op("Gather", {rows, ctx.scalar(static_cast<double>(j), at::kLong)}, {attr::i("axis", 0)}),
                             {}, false, 1});
        dim += maskRank;
        continue;
      }
      at::Tensor positions = tensor.to(at::kBool).nonzero();  // [count, mask rank]
      for (int64_t j = 0; j < positions.size(1); ++j) {
        at::Tensor column = positions.select(1, j).contiguous();
        indices.push_back({dim + j, ctx.constant(column, "mask_index"), {column.size(0)}, true, 1});
      }
      dim += positions.size(1);
      continue;
    }
    if (value) {
      const bool sizesKnown = !ctx.hasDynamicDims(value);
      indices.push_back({dim, ctx.inputAs(value, at::kLong), sizesKnown ? ctx.sizes(value) : std::vector<int64_t>{},
                         sizesKnown, ctx.rank(value)});
    } else {
      indices.push_back({dim, ctx.constant(tensor.to(at::kLong), "index"), tensor.sizes().vec(), true, tensor.dim()});
    }
    ++dim;
  }
  if (indices.empty()) ctx.unsupported("index without tensor indices");
  return indices;
}

// Where the indexed dimensions go: LibTorch keeps the broadcast index shape in place of
// adjacent indexed dimensions, and puts it first when they are separated. Indices whose
// sizes follow dynamic axes (a causal-mask builder's arange over the batch and the
// sequence) are broadcast at run time; only their ranks need to be known here.
struct AdvancedLayout {
  std::vector<int64_t> broadcast;   // common shape of the indices (empty when not all known)
  int64_t broadcastRank = 0;
  bool broadcastKnown = true;
  std::vector<int64_t> dimsFirst;   // permutation of self: indexed dims, then the rest
  int64_t restCount = 0;            // how many dims of self are not indexed
  int64_t inPlaceAt = 0;            // where torch puts the index shape (0 = front)
};

AdvancedLayout advancedLayout(ConvertContext& ctx, const std::vector<TensorIndex>& indices, const Value* self) {
  AdvancedLayout layout;
  const int64_t rank = ctx.rank(self);
  for (const auto& index : indices) {
    layout.broadcastKnown = layout.broadcastKnown && index.sizesKnown;
    layout.broadcastRank = std::max(layout.broadcastRank, index.rank);
    if (layout.broadcastKnown)
      layout.broadcast = &index == &indices.front() ? index.sizes : at::infer_size(layout.broadcast, index.sizes);
    layout.dimsFirst.push_back(index.dim);
  }
  if (!layout.broadcastKnown) layout.broadcast.clear();
  bool adjacent = true;
  for (size_t i = 1; i < indices.size(); ++i) adjacent = adjacent && indices[i].dim == indices[i - 1].dim + 1;
  layout.inPlaceAt = adjacent ? indices.front().dim : 0;
  for (int64_t d = 0; d < rank; ++d) {
    bool indexed = false;
    for (const auto& index : indices) indexed = indexed || index.dim == d;
    if (!indexed) {
      layout.dimsFirst.push_back(d);
      ++layout.restCount;
    }
  }
  return layout;
}

// The indices broadcast and stacked on a last axis: GatherND/ScatterND's [B..., k].
std::string stackedIndices(ConvertContext& ctx, const std::vector<TensorIndex>& indices, const AdvancedLayout& layout) {
  const int64_t last = layout.broadcastRank;
  std::string broadcastShape;
  if (layout.broadcastKnown) {
    broadcastShape = ctx.constInts(layout.broadcast);
  } else {  // the shape of their sum is the broadcast shape, whatever the sizes at run time
    std::string sum = indices.front().name;
    for (size_t i = 1; i < indices.size(); ++i) sum = ctx.op("Add", {sum, indices[i].name});
    broadcastShape = ctx.op("Shape", {sum});
  }
  std::vector<std::string> parts;
  for (const auto& index : indices) {
    const bool same = layout.broadcastKnown && index.sizes == layout.broadcast;
    std::string name = same ? index.name : ctx.op("Expand", {index.name, broadcastShape});
    parts.push_back(unsqueeze(ctx, name, {last}));
  }
  return parts.size() == 1 ? parts[0] : ctx.op("Concat", parts, {attr::i("axis", last)});
}

// Permutation moving the block [from, from + count) of a rank-`rank` tensor to the
// front (or, inverted, from the front back to `from`).
std::vector<int64_t> blockToFront(int64_t rank, int64_t from, int64_t count) {
  std::vector<int64_t> perm;
  for (int64_t d = from; d < from + count; ++d) perm.push_back(d);
  for (int64_t d = 0; d < rank; ++d)
    if (d < from || d >= from + count) perm.push_back(d);
  return perm;
}

std::vector<int64_t> inverse(const std::vector<int64_t>& perm) {
  std::vector<int64_t> inv(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inv[perm[i]] = static_cast<int64_t>(i);
  return inv;
}

void index(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  std::string x = ctx.inputAs(ctx.in("self"), type);
  const auto indices = tensorIndices(ctx, ctx.in("indices"));
  if (indices.size() == 1) {  // one index: a Gather keeps the index shape in place
    ctx.setOutput(ctx.op("Gather", {x, indices[0].name}, {attr::i("axis", indices[0].dim)}), type);
    return;
  }
  const AdvancedLayout layout = advancedLayout(ctx, indices, ctx.in("self"));
  std::string gathered = ctx.op("GatherND", {transposeIfNeeded(ctx, x, layout.dimsFirst),
                                             stackedIndices(ctx, indices, layout)});
  // GatherND gives [B..., rest...]; torch wants [before..., B..., after...] for adjacent indices.
  const int64_t broadcastRank = layout.broadcastRank;
  const int64_t outRank = broadcastRank + layout.restCount;
  ctx.setOutput(transposeIfNeeded(ctx, gathered, inverse(blockToFront(outRank, layout.inPlaceAt, broadcastRank))),
                type);
}

// The shape of x[indices] as torch lays it out: the dims of x not indexed, with the
// indices' broadcast shape at layout.inPlaceAt. A constant when every size is known,
// else assembled at run time from Shape(x) and the indices' broadcast shape (indices
// from data, a boolean mask computed from data, dynamic axes).
std::string indexedShape(ConvertContext& ctx, const std::vector<TensorIndex>& indices, const AdvancedLayout& layout) {
  const torch::jit::Value* self = ctx.in("self");
  const std::vector<int64_t> rest(layout.dimsFirst.begin() + static_cast<long>(indices.size()), layout.dimsFirst.end());
  if (layout.broadcastKnown && !ctx.hasDynamicDims(self)) {
    std::vector<int64_t> shape;
    for (int64_t d : rest) shape.push_back(ctx.sizes(self)[static_cast<size_t>(d)]);
    shape.insert(shape.begin() + layout.inPlaceAt, layout.broadcast.begin(), layout.broadcast.end());
    return ctx.constInts(shape);
  }
  std::string sum = indices.front().name;
  for (size_t i = 1; i < indices.size(); ++i) sum = ctx.op("Add", {sum, indices[i].name});
  const std::string selfShape = ctx.op("Shape", {ctx.input(self)});
  auto restPart = [&](size_t from, size_t to) {
    return ctx.op("Gather", {selfShape, ctx.constInts(std::vector<int64_t>(rest.begin() + static_cast<long>(from),
                                                                             rest.begin() + static_cast<long>(to)))},
                  {attr::i("axis", 0)});
  };
  std::vector<std::string> parts;
  const size_t at = static_cast<size_t>(layout.inPlaceAt);
  if (at > 0) parts.push_back(restPart(0, at));
  parts.push_back(layout.broadcastKnown ? ctx.constInts(layout.broadcast) : ctx.op("Shape", {sum}));
  if (at < rest.size()) parts.push_back(restPart(at, rest.size()));
  return parts.size() == 1 ? parts[0] : ctx.op("Concat", parts, {attr::i("axis", 0)});
}

// index_put(x, indices, values): ScatterND on x with its indexed dims first, the values
// broadcast to x[indices]'s shape and laid out as ScatterND wants them ([B..., rest...]).
// The indices and that shape may be known only at run time (indices computed from data,
// boolean masks, dynamic axes).
void indexPut(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  std::string x = ctx.inputAs(ctx.in("self"), type);
  const auto indices = tensorIndices(ctx, ctx.in("indices"));
  const Value* accumulateArg = ctx.arg("accumulate");
  const bool accumulate = ctx.given(accumulateArg) && ctx.toBool(accumulateArg);
  if (accumulate) ctx.requireOpset(16, "ScatterND reduction='add', for accumulate=True");
  const AdvancedLayout layout = advancedLayout(ctx, indices, ctx.in("self"));
  const int64_t broadcastRank = layout.broadcastRank;
  std::string values = ctx.op("Expand", {ctx.inputAs(ctx.in("values"), type), indexedShape(ctx, indices, layout)});
  const int64_t outRank = broadcastRank + layout.restCount;
  values = transposeIfNeeded(ctx, values, blockToFront(outRank, layout.inPlaceAt, broadcastRank));
  std::vector<onnx::AttributeProto> attrs;
  if (accumulate) attrs.push_back(attr::s("reduction", "add"));
  std::string scattered = ctx.op("ScatterND", {transposeIfNeeded(ctx, x, layout.dimsFirst),
                                               stackedIndices(ctx, indices, layout), values},
                                 attrs);
  ctx.setOutput(transposeIfNeeded(ctx, scattered, inverse(layout.dimsFirst)), type);
}

void indexSelect(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const int64_t dim = ConvertContext::normDim(ctx.toInt(ctx.in("dim")), ctx.rank(ctx.in("self")));
  const Value* indexArg = ctx.in("index");
  std::string index = ctx.inputAs(indexArg, at::kLong);
  if (ctx.rank(indexArg) == 0) index = ctx.op("Reshape", {index, ctx.constInts({1})});  // keeps the dim
  ctx.setOutput(ctx.op("Gather", {ctx.inputAs(ctx.in("self"), type), index}, {attr::i("axis", dim)}), type);
}

void gather(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  const int64_t dim = ConvertContext::normDim(ctx.toInt(ctx.in("dim")), ctx.rank(ctx.in("self")));
  ctx.setOutput(ctx.op("GatherElements", {ctx.inputAs(ctx.in("self"), type), ctx.inputAs(ctx.in("index"), at::kLong)},
                       {attr::i("axis", dim)}),
                type);
}

// scatter (src or value), scatter with reduce=, scatter_add: ScatterElements, whose
// updates have exactly the index's shape (torch lets src be larger). An index whose
// shape is known only at run time (torchvision's RoI pooler merges its levels with an
// index as long as the boxes of a level) takes src's leading block of Shape(index).
void scatter(ConvertContext& ctx, bool add) {
  const auto type = ctx.dtype(ctx.out());
  const int64_t rank = ctx.rank(ctx.in("self"));
  const int64_t dim = ConvertContext::normDim(ctx.toInt(ctx.in("dim")), rank);
  const Value* indexArg = ctx.in("index");
  const std::string index = ctx.inputAs(indexArg, at::kLong);
  const bool indexShapeKnown = !ctx.hasDynamicDims(indexArg);
  std::string reduction = add ? "add" : "";
  if (const Value* r = ctx.arg("reduce"); ctx.given(r)) {
    const std::string mode = ctx.staticValue(r).toStringRef();
    if (mode == "add") reduction = "add";
    else if (mode == "multiply") reduction = "mul";
    else ctx.unsupported("scatter reduce='" + mode + "'");
  }
  if (!reduction.empty()) ctx.requireOpset(16, "ScatterElements reduction='" + reduction + "'");
  const std::string indexShape = indexShapeKnown ? ctx.constInts(ctx.sizes(indexArg)) : ctx.op("Shape", {index});
  std::string updates;
  if (const Value* src = ctx.arg("src"); ctx.given(src)) {
    updates = ctx.inputAs(src, type);
    const bool same = indexShapeKnown && !ctx.hasDynamicDims(src) && ctx.sizes(src) == ctx.sizes(indexArg);
    if (!same) {
      std::vector<int64_t> axes(static_cast<size_t>(ctx.rank(indexArg)));
      std::iota(axes.begin(), axes.end(), 0);
      updates = ctx.op("Slice", {updates, ctx.constInts(std::vector<int64_t>(axes.size(), 0)), indexShape,
                                 ctx.constInts(axes)});
    }
  } else {
    const Value* value = ctx.arg("value");
    if (!ctx.given(value)) ctx.unsupported("scatter without src or value");
    updates = ctx.isStatic(value) && indexShapeKnown
                  ? ctx.constant(torch::full(ctx.sizes(indexArg), ctx.toDouble(value),
                                             torch::TensorOptions().dtype(at::kDouble)).to(type),
                                 "scatter_value")
                  : ctx.op("Expand", {ctx.inputAs(value, type), indexShape});
  }
  std::vector<onnx::AttributeProto> attrs{attr::i("axis", dim)};
  if (!reduction.empty()) attrs.push_back(attr::s("reduction", reduction));
  ctx.setOutput(ctx.op("ScatterElements", {ctx.inputAs(ctx.in("self"), type), index, updates}, attrs), type);
}

// Range's three inputs are scalars of the output type.
void arange(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  auto bound = [&](const char* name, double fallback) {
    const Value* v = ctx.arg(name);
    if (!ctx.given(v)) return ctx.scalar(fallback, type);
    std::string s = ctx.inputAs(v, type);
    return ctx.rank(v) == 0 ? s : ctx.op("Reshape", {s, ctx.constInts({})});
  };
  ctx.setOutput(ctx.op("Range", {bound("start", 0), bound("end", 0), bound("step", 1)}), type);
}

void oneHot(ConvertContext& ctx) {
  std::string indices = ctx.inputAs(ctx.in("self"), at::kLong);
  const Value* classesArg = ctx.arg("num_classes");
  const int64_t classes = ctx.given(classesArg) ? ctx.toInt(classesArg) : -1;
  // num_classes=-1: one more than the largest index in the data.
  std::string depth = classes >= 0 ? ctx.scalar(static_cast<double>(classes), at::kLong)
                                   : ctx.op("Add", {ctx.op("ReduceMax", {indices}, {attr::i("keepdims", 0)}),
                                                    ctx.scalar(1, at::kLong)});
  std::string offOn = ctx.constant(torch::tensor(std::vector<int64_t>{0, 1}, at::kLong), "one_hot_values");
  ctx.setOutput(ctx.op("OneHot", {indices, depth, offOn}, {attr::i("axis", -1)}), at::kLong);
}

void einsum(ConvertContext& ctx) {
  ctx.requireOpset(12, "Einsum");
  const auto type = ctx.dtype(ctx.out());
  if (type != at::kFloat && type != at::kDouble && type != at::kInt && type != at::kLong)
    ctx.unsupported("einsum on " + std::string(c10::toString(type)));
  std::string equation = ctx.staticValue(ctx.in("equation")).toStringRef();
  equation.erase(std::remove(equation.begin(), equation.end(), ' '), equation.end());
  const Value* operands = ctx.in("tensors");
  if (operands->node()->kind() != c10::prim::ListConstruct) ctx.unsupported("einsum operands that are not a literal list");
  std::vector<std::string> ins;
  for (const Value* operand : operands->node()->inputs()) ins.push_back(ctx.inputAs(operand, type));
  ctx.setOutput(ctx.op("Einsum", ins, {attr::s("equation", equation)}), type);
}

// ONNX NonZero gives [rank, count]; torch.nonzero gives [count, rank].
// The tensor is nonzero's "self", where(condition)'s "condition".
const Value* nonzeroInput(const ConvertContext& ctx) {
  const Value* self = ctx.arg("self");
  return self ? self : ctx.in("condition");
}

std::string nonzeroRows(ConvertContext& ctx) { return ctx.op("NonZero", {ctx.inputAs(nonzeroInput(ctx), at::kBool)}); }

void nonzero(ConvertContext& ctx) {
  ctx.setOutput(ctx.op("Transpose", {nonzeroRows(ctx)}, {attr::ints("perm", {1, 0})}), at::kLong);
}

// where(condition) / nonzero_numpy: one index tensor per dimension.
void nonzeroPerDim(ConvertContext& ctx) {
  const int64_t rank = ctx.rank(nonzeroInput(ctx));
  if (rank == 0) ctx.unsupported("where(condition) on a 0-d tensor");
  std::string rows = nonzeroRows(ctx);
  std::vector<std::string> parts = rank == 1 ? std::vector<std::string>{rows}
                                             : ctx.ops("Split", {rows}, static_cast<size_t>(rank), {attr::i("axis", 0)});
  for (auto& part : parts) part = squeeze(ctx, part, {0});
  ctx.bindList(ctx.out(), parts);
}

// masked_select(x, mask): the elements of x and mask broadcast together where mask is
// true, flattened in row-major order, as Compress without an axis selects them. Where
// broadcasts x to the common shape; the mask is expanded to it and flattened.
void maskedSelect(ConvertContext& ctx) {
  const std::string mask = ctx.inputAs(ctx.in("mask"), at::kBool);
  const std::string values = ctx.op("Where", {mask, ctx.input(ctx.in("self")), ctx.input(ctx.in("self"))});
  const std::string fullMask = ctx.op("Expand", {mask, ctx.op("Shape", {values})});
  const std::string flatMask = ctx.op("Reshape", {fullMask, ctx.constInts({-1})});
  ctx.setOutput(ctx.op("Compress", {values, flatMask}), ctx.dtype(ctx.in("self")));
}

// full / full_like / new_full reach a converter only when the fill value comes from
// data (otherwise they are folded): the value expanded to the recorded shape.
// full/zeros/ones and their _like and new_ forms. Static outputs fold before this; a
// result reaches here when its value or (with dynamic axes) its shape is only known at
// run time. `fill` is 0 or 1 for zeros/ones, NaN for full (the fill_value argument).
void filled(ConvertContext& ctx, double fill) {
  const auto type = ctx.dtype(ctx.out());
  std::string shape;
  if (!ctx.hasDynamicDims(ctx.out())) {
    shape = ctx.constInts(ctx.sizes(ctx.out()));
  } else if (const auto* size = ctx.arg("size")) {
    shape = ctx.intListInput(size);
  } else {
    shape = ctx.op("Shape", {ctx.input(ctx.arg("self"))});  // the _like forms
  }
  const std::string value = std::isnan(fill) ? ctx.inputAs(ctx.arg("fill_value"), type) : ctx.scalar(fill, type);
  ctx.setOutput(ctx.op("Expand", {value, shape}), type);
}

}  // namespace

void registerIndexConverters(ConverterRegistry& r) {
  // A graph input reaching an index argument is int64 ids (example_inputs.cpp).
  r.add("aten::index", index, indexAt(1) | sizeFromMask() | movesElements());
  r.add("aten::index_put", indexPut);
  r.add("aten::index_select", indexSelect, indexAt(2));
  r.add("aten::gather", gather, indexAt(2));
  r.add("aten::scatter", [](ConvertContext& c) { scatter(c, false); });
  r.add("aten::scatter_add", [](ConvertContext& c) { scatter(c, true); });
  r.add("aten::masked_select", maskedSelect, dataDependentSize());
  r.add("aten::arange", arange);
  r.add("aten::one_hot", oneHot);
  r.add("aten::einsum", einsum);
  r.add("aten::nonzero", nonzero, dataDependentSize());
  r.add("aten::nonzero_numpy", nonzeroPerDim, dataDependentSize());
  // The elementwise family owns where(cond, a, b); the one-argument form is nonzero's.
  // where(condition), the overload with no name, gives as many positions as the data has
  // true elements (the three-argument overloads' facts are their own: elementwise). Each
  // elementwise form is wrapped over the same opsets.
  const auto conditionOnlyOr = [](ConverterFn elementwiseWhere) {
    return [elementwiseWhere](ConvertContext& c) {
      if (!c.arg("self")) {  // where(condition)
        nonzeroPerDim(c);
      } else if (elementwiseWhere) {
        elementwiseWhere(c);
      } else {
        c.unsupported("where(condition, a, b) has no converter");
      }
    };
  };
  OpsetForms whereForms;
  if (const OpsetForms* elementwise = r.forms("aten::where")) {
    for (const OpsetForm& form : *elementwise) whereForms.push_back({form.since, conditionOnlyOr(form.convert)});
  } else {
    whereForms.push_back({kMinOpset, conditionOnlyOr(nullptr)});
  }
  r.add("aten::where", std::move(whereForms), dataDependentSize());
  const double kFillArgument = std::numeric_limits<double>::quiet_NaN();
  // The _like and new_ forms take only the shape, dtype and device of their tensor.
  const std::pair<const char*, OpFacts> fulls[] = {{"aten::full", {}}, {"aten::full_like", shapeOnly() | fillFrom(1)},
                                                   {"aten::new_full", shapeOnly() | fillFrom(2)}};
  for (const auto& [kind, facts] : fulls)
    r.add(kind, [kFillArgument](ConvertContext& c) { filled(c, kFillArgument); }, facts);
  const std::pair<const char*, OpFacts> zeros[] = {{"aten::zeros", {}}, {"aten::zeros_like", shapeOnly()},
                                                   {"aten::new_zeros", shapeOnly()}};
  for (const auto& [kind, facts] : zeros) r.add(kind, [](ConvertContext& c) { filled(c, 0.0); }, facts);
  const std::pair<const char*, OpFacts> ones[] = {{"aten::ones", {}}, {"aten::ones_like", shapeOnly()},
                                                  {"aten::new_ones", shapeOnly()}};
  for (const auto& [kind, facts] : ones) r.add(kind, [](ConvertContext& c) { filled(c, 1.0); }, facts);
  for (const char* kind : {"aten::empty_like", "aten::new_empty"}) r.declare(kind, shapeOnly());
}

}  // namespace modelexport

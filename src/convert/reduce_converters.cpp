// Reductions (sum, mean, max/min, arg max/min, prod, var/std, norms, logsumexp,
// all/any), cumulative sums and sorting (topk, sort).
#include <cmath>
#include <limits>

#include "modelexport/convert_context.h"
#include "modelexport/converter_helpers.h"

namespace modelexport {
namespace {

using torch::jit::Value;

bool flag(const ConvertContext& ctx, const char* name, bool fallback) {
  const Value* v = ctx.arg(name);
  return ctx.given(v) ? ctx.toBool(v) : fallback;
}

// onnxruntime's reduction, arg-max and sort kernels cover float, double, int32 and
// int64 only: narrower types run as int32, half as float.
at::ScalarType workType(at::ScalarType type) {
  switch (type) {
    case at::kBool:
    case at::kByte:
    case at::kChar:
    case at::kShort:
      return at::kInt;
    case at::kHalf:
    case at::kBFloat16:
      return at::kFloat;
    default:
      return type;
  }
}

// The dimensions named by `dimArg`, normalized and sorted; empty means all of them
// (torch treats a missing and an empty dim list alike).
std::vector<int64_t> reduceDims(const ConvertContext& ctx, const Value* dimArg, int64_t rank) {
  if (!ctx.given(dimArg) || rank == 0) return {};
  std::vector<int64_t> dims = ctx.toInts(dimArg);
  for (auto& d : dims) d = ConvertContext::normDim(d, rank);
  std::sort(dims.begin(), dims.end());
  dims.erase(std::unique(dims.begin(), dims.end()), dims.end());
  return dims;
}

// sum, mean, amax, amin, prod, logsumexp: the input (already in the dtype torch
// accumulates in, e.g. int64 for an integer sum) reduced over `dim`.
void plainReduce(ConvertContext& ctx, const std::string& opType) {
  const auto work = workType(ctx.dtype(ctx.out()));
  std::string x = ctx.inputAs(ctx.in("self"), work);
  const auto axes = reduceDims(ctx, ctx.arg("dim"), ctx.rank(ctx.in("self")));
  ctx.setOutput(reduce(ctx, opType, x, axes, flag(ctx, "keepdim", false)), work);
}

// ArgMax/ArgMin index `x` along `dim`; torch and ONNX (select_last_index=0) both
// return the first extreme element.
std::string argExtreme(ConvertContext& ctx, bool isMax, const std::string& x, int64_t dim, bool keepdim) {
  return ctx.op(isMax ? "ArgMax" : "ArgMin", {x}, {attr::i("axis", dim), attr::i("keepdims", keepdim ? 1 : 0)});
}

// int64 has no ArgMax kernel in onnxruntime; double holds every index-sized integer.
at::ScalarType argWorkType(at::ScalarType type) {
  const auto work = workType(type);
  return work == at::kLong ? at::kDouble : work;
}

// `integerMinMax`: Max/Min take integers (opset 12 on).
void maxMin(ConvertContext& ctx, bool isMax, bool integerMinMax) {
  // The overload by its arguments: max.other(self, other), max(self), max.dim(self, dim, keepdim).
  if (const Value* other = ctx.arg("other")) {
    // max(a, b): elementwise.
    auto work = workType(ctx.dtype(ctx.out()));
    if (!integerMinMax && !at::isFloatingType(work)) work = at::kDouble;
    ctx.setOutput(ctx.op(isMax ? "Max" : "Min", {ctx.inputAs(ctx.in("self"), work), ctx.inputAs(other, work)}), work);
    return;
  }
  const std::string reduceType = isMax ? "ReduceMax" : "ReduceMin";
  if (!ctx.arg("dim")) {
    const auto work = workType(ctx.dtype(ctx.out()));
    ctx.setOutput(reduce(ctx, reduceType, ctx.inputAs(ctx.in("self"), work), {}, false), work);
    return;
  }
  // max(x, dim, keepdim) -> (values, indices)
  const int64_t rank = ctx.rank(ctx.in("self"));
  if (rank == 0) ctx.unsupported("max/min over a dim of a 0-d tensor");
  const int64_t dim = ConvertContext::normDim(ctx.toInt(ctx.in("dim")), rank);
  const bool keepdim = flag(ctx, "keepdim", false);
  const auto work = workType(ctx.dtype(ctx.out(0)));
  ctx.setOutput(reduce(ctx, reduceType, ctx.inputAs(ctx.in("self"), work), {dim}, keepdim), work, 0);
  const auto argWork = argWorkType(ctx.dtype(ctx.in("self")));
  ctx.setOutput(argExtreme(ctx, isMax, ctx.inputAs(ctx.in("self"), argWork), dim, keepdim), at::kLong, 1);
}

void argMaxMin(ConvertContext& ctx, bool isMax) {
  const auto work = argWorkType(ctx.dtype(ctx.in("self")));
  std::string x = ctx.inputAs(ctx.in("self"), work);
  const Value* dimArg = ctx.arg("dim");
  const bool keepdim = flag(ctx, "keepdim", false);
  if (ctx.given(dimArg) && ctx.rank(ctx.in("self")) > 0) {
    const int64_t dim = ConvertContext::normDim(ctx.toInt(dimArg), ctx.rank(ctx.in("self")));
    ctx.setOutput(argExtreme(ctx, isMax, x, dim, keepdim), at::kLong);
    return;
  }
  // No dim: the index into the flattened tensor, shaped as torch shaped it.
  std::string flat = ctx.op("Reshape", {x, ctx.constInts({-1})});
  std::string index = argExtreme(ctx, isMax, flat, 0, false);
  if (!ctx.sizes(ctx.out()).empty()) index = ctx.op("Reshape", {index, ctx.constInts(ctx.sizes(ctx.out()))});
  ctx.setOutput(index, at::kLong);
}

int64_t elementsOver(const std::vector<int64_t>& shape, const std::vector<int64_t>& axes) {
  int64_t n = 1;
  if (axes.empty()) {
    for (int64_t s : shape) n *= s;
  } else {
    for (int64_t a : axes) n *= shape.at(a);
  }
  return n;
}

// var/std: sum of squared deviations over (N - correction); `unbiased` is correction 1.
void varStd(ConvertContext& ctx, bool isStd) {
  const auto type = ctx.dtype(ctx.out());
  if (!at::isFloatingType(type)) ctx.unsupported("var/std of a non-floating result");
  std::string x = ctx.inputAs(ctx.in("self"), type);
  const auto& shape = ctx.sizes(ctx.in("self"));
  const auto axes = reduceDims(ctx, ctx.arg("dim"), static_cast<int64_t>(shape.size()));
  const bool keepdim = flag(ctx, "keepdim", false);
  double correction = 1.0;
  if (const Value* u = ctx.arg("unbiased"); ctx.given(u)) correction = ctx.toBool(u) ? 1.0 : 0.0;
  if (const Value* c = ctx.arg("correction"); ctx.given(c)) correction = ctx.toDouble(c);
  const double n = static_cast<double>(elementsOver(shape, axes));
  std::string mean = reduce(ctx, "ReduceMean", x, axes, true);
  std::string centered = ctx.op("Sub", {x, mean});
  std::string squares = reduce(ctx, "ReduceSum", ctx.op("Mul", {centered, centered}), axes, keepdim);
  std::string var = ctx.op("Div", {squares, ctx.scalar(n - correction, type)});
  ctx.setOutput(isStd ? ctx.op("Sqrt", {var}) : var, type);
}

// norm(p) / linalg_vector_norm(ord): (sum |x|^p)^(1/p) with the usual special cases.
void norm(ConvertContext& ctx) {
  const auto type = ctx.dtype(ctx.out());
  if (!at::isFloatingType(type)) ctx.unsupported("norm of a non-floating result");
  std::string x = ctx.inputAs(ctx.in("self"), type);
  double p = 2.0;
  const Value* pArg = ctx.arg("p");
  if (!pArg) pArg = ctx.arg("ord");
  if (ctx.given(pArg)) p = ctx.toDouble(pArg);
  const auto axes = reduceDims(ctx, ctx.arg("dim"), ctx.rank(ctx.in("self")));
  const bool keepdim = flag(ctx, "keepdim", false);
  std::string result;
  if (p == 2.0) {
    result = reduce(ctx, "ReduceL2", x, axes, keepdim);
  } else if (p == 1.0) {
    result = reduce(ctx, "ReduceL1", x, axes, keepdim);
  } else if (std::isinf(p)) {
    result = reduce(ctx, p > 0 ? "ReduceMax" : "ReduceMin", ctx.op("Abs", {x}), axes, keepdim);
  } else if (p == 0.0) {  // number of non-zero elements
    std::string nonzero = ctx.cast(ctx.cast(x, at::kBool), type);
    result = reduce(ctx, "ReduceSum", nonzero, axes, keepdim);
  } else {
    std::string powered = ctx.op("Pow", {ctx.op("Abs", {x}), ctx.scalar(p, type)});
    result = ctx.op("Pow", {reduce(ctx, "ReduceSum", powered, axes, keepdim), ctx.scalar(1.0 / p, type)});
  }
  ctx.setOutput(result, type);
}

// all/any: the elements as 0/1, then the minimum/maximum.
void allAny(ConvertContext& ctx, bool isAll) {
  std::string bits = ctx.cast(ctx.inputAs(ctx.in("self"), at::kBool), at::kInt);
  const auto axes = reduceDims(ctx, ctx.arg("dim"), ctx.rank(ctx.in("self")));
  ctx.setOutput(reduce(ctx, isAll ? "ReduceMin" : "ReduceMax", bits, axes, flag(ctx, "keepdim", false)), at::kInt);
}

void countNonzero(ConvertContext& ctx) {
  std::string counts = ctx.cast(ctx.inputAs(ctx.in("self"), at::kBool), at::kLong);
  const auto axes = reduceDims(ctx, ctx.arg("dim"), ctx.rank(ctx.in("self")));
  ctx.setOutput(reduce(ctx, "ReduceSum", counts, axes, false), at::kLong);
}

void cumsum(ConvertContext& ctx) {
  const auto work = workType(ctx.dtype(ctx.out()));
  const int64_t dim = ConvertContext::normDim(ctx.toInt(ctx.in("dim")), ctx.rank(ctx.in("self")));
  if (ctx.rank(ctx.in("self")) == 0) {  // cumsum of a scalar is the scalar
    ctx.setOutput(ctx.inputAs(ctx.in("self"), work), work);
    return;
  }
  ctx.setOutput(ctx.op("CumSum", {ctx.inputAs(ctx.in("self"), work), ctx.scalar(static_cast<double>(dim), at::kLong)}),
                work);
}

// TopK along `dim` with K as a 1-D int64 input; always sorted (an unsorted topk may
// return its elements in any order, sorted is one of them).
std::vector<std::string> topK(ConvertContext& ctx, const std::string& x, const std::string& k, int64_t dim,
                              bool largest) {
  return ctx.ops("TopK", {x, k}, 2,
                 {attr::i("axis", dim), attr::i("largest", largest ? 1 : 0), attr::i("sorted", 1)});
}

void topk(ConvertContext& ctx) {
  const int64_t rank = ctx.rank(ctx.in("self"));
  if (rank == 0) ctx.unsupported("topk of a 0-d tensor");
  const auto work = workType(ctx.dtype(ctx.in("self")));
  const Value* dimArg = ctx.arg("dim");
  const int64_t dim = ConvertContext::normDim(ctx.given(dimArg) ? ctx.toInt(dimArg) : -1, rank);
  const Value* kArg = ctx.in("k");
  std::string k = ctx.isStatic(kArg) ? ctx.constInts({ctx.toInt(kArg)})
                                     : ctx.op("Reshape", {ctx.inputAs(kArg, at::kLong), ctx.constInts({1})});
  auto outs = topK(ctx, ctx.inputAs(ctx.in("self"), work), k, dim, flag(ctx, "largest", true));
  ctx.setOutput(outs[0], work, 0);
  ctx.setOutput(outs[1], at::kLong, 1);
}

// sort / argsort: a TopK over the whole dimension. Ties may come out in another order
// than LibTorch's (its sort is not stable unless asked).
void sort(ConvertContext& ctx, bool indicesOnly) {
  const int64_t rank = ctx.rank(ctx.in("self"));
  const auto work = workType(ctx.dtype(ctx.in("self")));
  std::string x = ctx.inputAs(ctx.in("self"), work);
  if (rank == 0) {
    if (indicesOnly) {
      ctx.setOutput(ctx.scalar(0, at::kLong), at::kLong);
    } else {
      ctx.setOutput(x, work, 0);
      ctx.setOutput(ctx.scalar(0, at::kLong), at::kLong, 1);
    }
    return;
  }
  const Value* dimArg = ctx.arg("dim");
  const int64_t dim = ConvertContext::normDim(ctx.given(dimArg) ? ctx.toInt(dimArg) : -1, rank);
  const int64_t length = ctx.sizes(ctx.in("self")).at(dim);
  auto outs = topK(ctx, x, ctx.constInts({length}), dim, flag(ctx, "descending", false));
  if (indicesOnly) {
    ctx.setOutput(outs[1], at::kLong);
    return;
  }
  ctx.setOutput(outs[0], work, 0);
  ctx.setOutput(outs[1], at::kLong, 1);
}

}  // namespace

void registerReduceConverters(ConverterRegistry& r) {
  r.add("aten::sum", [](ConvertContext& c) { plainReduce(c, "ReduceSum"); }, dataBlind());
  r.add("aten::mean", [](ConvertContext& c) { plainReduce(c, "ReduceMean"); }, dataBlind());
  r.add("aten::amax", [](ConvertContext& c) { plainReduce(c, "ReduceMax"); });
  r.add("aten::amin", [](ConvertContext& c) { plainReduce(c, "ReduceMin"); });
  r.add("aten::prod", [](ConvertContext& c) { plainReduce(c, "ReduceProd"); });
  r.add("aten::logsumexp", [](ConvertContext& c) { plainReduce(c, "ReduceLogSumExp"); });
  // Elementwise Max/Min take integers from opset 12.
  r.add("aten::max", OpsetForms{{kMinOpset, [](ConvertContext& c) { maxMin(c, true, false); }},
                                {12, [](ConvertContext& c) { maxMin(c, true, true); }}});
  r.add("aten::min", OpsetForms{{kMinOpset, [](ConvertContext& c) { maxMin(c, false, false); }},
                                {12, [](ConvertContext& c) { maxMin(c, false, true); }}});
  r.add("aten::argmax", [](ConvertContext& c) { argMaxMin(c, true); });
  r.add("aten::argmin", [](ConvertContext& c) { argMaxMin(c, false); });
  r.add("aten::var", [](ConvertContext& c) { varStd(c, false); });
  r.add("aten::std", [](ConvertContext& c) { varStd(c, true); });
  r.add("aten::norm", norm);
  r.add("aten::linalg_vector_norm", norm);
  r.add("aten::all", [](ConvertContext& c) { allAny(c, true); });
  r.add("aten::any", [](ConvertContext& c) { allAny(c, false); });
  r.add("aten::count_nonzero", countNonzero);
  r.add("aten::cumsum", cumsum);
  r.add("aten::topk", topk);
  r.add("aten::sort", [](ConvertContext& c) { sort(c, false); });
  r.add("aten::argsort", [](ConvertContext& c) { sort(c, true); });
}

}  // namespace modelexport

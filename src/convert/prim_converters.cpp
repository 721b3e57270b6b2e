// Structural ops: lists, tuples, scalar/tensor conversions and ops that are identities
// in an inference graph.
#include "modelexport/convert_context.h"
#include "modelexport/onnx_tensor.h"

namespace modelexport {
namespace {

void listConstruct(ConvertContext& ctx) {
  const auto* node = ctx.node();
  std::vector<std::string> names;
  for (const auto* element : node->inputs()) {
    // Int lists with sizes of dynamic axes are shapes: their users read them through
    // intListInput, from this node's inputs.
    if (element->type()->kind() == c10::TypeKind::IntType && !ctx.isStatic(element)) return;
    if (!ctx.fact(element).isTensor && !ctx.isStatic(element))
      ctx.unsupported("a list of values computed from input data");
    // None in a Tensor?[] list (aten::index's skipped dims): ONNX's empty name for "absent".
    names.push_back(ctx.given(element) ? ctx.input(element) : std::string());
  }
  ctx.bindList(ctx.out(), names);
}

// An int list known only at run time (x.size() under dynamic axes) is one 1-D int64
// tensor; its elements are taken out with Gather, as 0-d tensors like other run-time ints.
bool isRunTimeIntList(const ConvertContext& ctx, const torch::jit::Value* list) {
  return list->type()->isSubtypeOf(*c10::ListType::ofInts()) && !ctx.isStatic(list) && !ctx.listElements(list);
}

std::string intListElement(ConvertContext& ctx, const torch::jit::Value* list, int64_t index) {
  return ctx.op("Gather", {ctx.input(list), ctx.scalar(static_cast<double>(index), at::kLong)},
                {attr::i("axis", 0)});
}

void listUnpack(ConvertContext& ctx) {
  if (isRunTimeIntList(ctx, ctx.in(0))) {
    for (size_t i = 0; i < ctx.node()->outputs().size(); ++i)
      ctx.setOutput(intListElement(ctx, ctx.in(0), static_cast<int64_t>(i)), i);
    return;
  }
  auto names = ctx.inputList(ctx.in(0));
  if (names.size() != ctx.node()->outputs().size()) ctx.unsupported("list length differs from unpack count");
  for (size_t i = 0; i < names.size(); ++i) ctx.setOutput(names[i], i);
}

// list[index] / tuple[index] for a list whose elements the exporter follows.
void listIndex(ConvertContext& ctx) {
  if (isRunTimeIntList(ctx, ctx.in(0))) {  // Gather takes a negative index as Python does
    ctx.setOutput(intListElement(ctx, ctx.in(0), ctx.toInt(ctx.in(1))));
    return;
  }
  auto names = ctx.inputList(ctx.in(0));
  int64_t index = ctx.toInt(ctx.in(1));
  const auto count = static_cast<int64_t>(names.size());
  if (index < 0) index += count;
  if (index < 0 || index >= count) ctx.unsupported("list index out of range");
  ctx.setOutput(names[static_cast<size_t>(index)]);
}

void listAppend(ConvertContext& ctx) {
  if (!ctx.fact(ctx.in(1)).isTensor) ctx.unsupported("append of a non-tensor computed from input data");
  if (ctx.out()->hasUses()) ctx.unsupported("use of the list returned by append");
  ctx.appendToList(ctx.in(0), ctx.in(1));
}

// A value passes through, converted to the dtype LibTorch produced: covers identities
// (contiguous, eval-mode dropout), dtype casts (aten::to; aten::_to_copy in torch.export
// programs), and scalar<->tensor moves
// (dynamic scalars are held as 0-d tensors; aten::tensor of one number is such a move).
void passThrough(ConvertContext& ctx) {
  ctx.setOutput(ctx.input(ctx.in(0)), ctx.dtype(ctx.in(0)));
}

// `x` broadcast to self's shape, as the node's output in its dtype.
void broadcastToSelf(ConvertContext& ctx, std::string x, const torch::jit::Value* src) {
  const torch::jit::Value* self = ctx.arg("self");
  const bool sameShape = src && !ctx.hasDynamicDims(self) && !ctx.hasDynamicDims(src) && ctx.sizes(self) == ctx.sizes(src);
  if (!sameShape) {
    std::string shape = ctx.hasDynamicDims(self) ? ctx.op("Shape", {ctx.input(self)}) : ctx.constInts(ctx.sizes(self));
    x = ctx.op("Expand", {x, shape});
  }
  ctx.setOutput(x, ctx.dtype(ctx.out()));
}

// copy(self, src, non_blocking): the functional form of self.copy_(src) that torch.export
// records (and the prepare stage makes of a copy_ into a view): src broadcast to self's
// shape, in self's dtype. fill(self, value) likewise with a number or a 0-d tensor.
void copyInto(ConvertContext& ctx, const char* source) {
  const torch::jit::Value* src = ctx.arg(source);
  broadcastToSelf(ctx, ctx.inputAs(src, ctx.dtype(ctx.out())), src);
}

// zero(self): the functional form of self.zero_().
void zero(ConvertContext& ctx) { broadcastToSelf(ctx, ctx.scalar(0, ctx.dtype(ctx.out())), nullptr); }

// dropout(x, p, train) in eval mode is removed before conversion; in training mode
// LibTorch zeroes random elements, which an ONNX file for inference does not do.
void evalDropout(ConvertContext& ctx) {
  if (ctx.toBool(ctx.in(2)) && ctx.toDouble(ctx.in(1)) > 0.0)
    ctx.unsupported("dropout in training mode (train=True): export the model after model.eval()");
  passThrough(ctx);
}

}  // namespace

void registerPrimConverters(ConverterRegistry& registry) {
  const OpFacts plumbing = dataBlind() | auxiliary();
  registry.add("prim::ListConstruct", listConstruct, plumbing);
  registry.add("prim::TupleConstruct", listConstruct, plumbing);
  registry.add("prim::ListUnpack", listUnpack, plumbing);
  registry.add("prim::TupleUnpack", listUnpack, plumbing);
  registry.add("aten::__getitem__", listIndex);
  registry.add("prim::TupleIndex", listIndex);
  registry.add("aten::append", listAppend);
  const std::pair<const char*, OpFacts> passing[] = {
      {"prim::NumToTensor", auxiliary()},
      {"aten::Int", auxiliary()},
      {"aten::IntImplicit", auxiliary()},  // a 0-d tensor used as an int (slice bounds)
      {"aten::Float", auxiliary()},
      {"aten::ScalarImplicit", auxiliary()},
      {"aten::contiguous", keepsSize() | auxiliary() | movesElements()},
      {"aten::clone", dataBlind()},
      {"aten::detach", keepsSize() | view()},
      {"aten::alias", view() | dataBlind()},
      {"aten::lift_fresh", {}},
      {"aten::to", dataBlind() | auxiliary() | dtypeCast()},
      {"aten::_to_copy", dataBlind()},
      {"aten::type_as", dataBlind() | auxiliary() | dtypeCast()},
      {"aten::item", {}},
      {"aten::Bool", {}},
      {"aten::tensor", {}},
      {"aten::scalar_tensor", {}},
      {"prim::unchecked_cast", {}}};
  for (const auto& [kind, facts] : passing) registry.add(kind, passThrough, facts);
  registry.add("aten::copy", [](ConvertContext& c) { copyInto(c, "src"); }, keepsSize());
  registry.add("aten::fill", [](ConvertContext& c) { copyInto(c, "value"); }, keepsSize());
  registry.add("aten::zero", zero, keepsSize());
  registry.add("aten::dropout", evalDropout, keepsSize());
  registry.add("aten::feature_dropout", evalDropout, keepsSize());
  registry.add("aten::alpha_dropout", evalDropout);
  // Handled by the converter walk itself (graph_converter.cpp), or always known at
  // export time: facts only, no converter.
  registry.declare("prim::Constant", auxiliary());
  for (const char* kind : {"prim::dtype", "prim::device"})
    registry.declare(kind, flags(OpFacts::kShapeOnly | OpFacts::kReadsOnlySizes | OpFacts::kAuxiliary));
  for (const char* kind : {"aten::__is__", "aten::__isnot__"})
    registry.declare(kind, flags(OpFacts::kShapeOnly | OpFacts::kReadsOnlySizes));
  for (const char* kind : {"prim::layout", "prim::is_cuda"}) registry.declare(kind, shapeOnly());
}

}  // namespace modelexport

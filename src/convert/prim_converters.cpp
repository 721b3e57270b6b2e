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

// Unpacks a list or tuple into the node's outputs.
void unpack(ConvertContext& ctx, const torch::jit::Value* list) {
  if (isRunTimeIntList(ctx, list)) {
    for (size_t i = 0; i < ctx.node()->outputs().size(); ++i)
      ctx.setOutput(intListElement(ctx, list, static_cast<int64_t>(i)), i);
    return;
  }
  auto names = ctx.inputList(list);
  if (names.size() != ctx.node()->outputs().size()) ctx.unsupported("list length differs from unpack count");
  for (size_t i = 0; i < names.size(); ++i) ctx.setOutput(names[i], i);
}

// list[index] / tuple[index] for a list whose elements the exporter follows;
// aten::__getitem__.t(list, idx) and prim::TupleIndex(tup, i) name them differently.
void listIndex(ConvertContext& ctx, const char* listName, const char* indexName) {
  const torch::jit::Value* list = ctx.arg(listName);
  if (!list) ctx.unsupported("indexing of a value that is not a list or tuple");  // str, Dict
  const torch::jit::Value* indexValue = ctx.in(indexName);
  if (isRunTimeIntList(ctx, list)) {  // Gather takes a negative index as Python does
    ctx.setOutput(intListElement(ctx, list, ctx.toInt(indexValue)));
    return;
  }
  auto names = ctx.inputList(list);
  int64_t index = ctx.toInt(indexValue);
  const auto count = static_cast<int64_t>(names.size());
  if (index < 0) index += count;
  if (index < 0 || index >= count) ctx.unsupported("list index out of range");
  ctx.setOutput(names[static_cast<size_t>(index)]);
}

// aten::append.t(self, el).
void listAppend(ConvertContext& ctx) {
  const torch::jit::Value* element = ctx.in("el");
  if (!ctx.fact(element).isTensor) ctx.unsupported("append of a non-tensor computed from input data");
  if (ctx.out()->hasUses()) ctx.unsupported("use of the list returned by append");
  ctx.appendToList(ctx.in("self"), element);
}

// A value passes through, converted to the dtype LibTorch produced: covers identities
// (contiguous, eval-mode dropout), dtype casts (aten::to; aten::_to_copy in torch.export
// programs), and scalar<->tensor moves
// (dynamic scalars are held as 0-d tensors; aten::tensor of one number is such a move).
// The registration names the argument that passes through.
void passThrough(ConvertContext& ctx, const char* argument) {
  const torch::jit::Value* x = ctx.in(argument);
  ctx.setOutput(ctx.input(x), ctx.dtype(x));
}

// aten::tensor(t[] data) makes a tensor of a list, its overloads for one number
// (aten::tensor.float(float t) and the like) of that number.
void tensorOf(ConvertContext& ctx) { passThrough(ctx, ctx.arg("data") ? "data" : "t"); }

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
  if (ctx.toBool(ctx.in("train")) && ctx.toDouble(ctx.in("p")) > 0.0)
    ctx.unsupported("dropout in training mode (train=True): export the model after model.eval()");
  passThrough(ctx, "input");
}

}  // namespace

void registerPrimConverters(ConverterRegistry& registry) {
  const OpFacts plumbing = dataBlind() | auxiliary();
  // prim::ListConstruct/TupleConstruct have no schema: every input is an element.
  registry.add("prim::ListConstruct", listConstruct, plumbing);
  registry.add("prim::TupleConstruct", listConstruct, plumbing);
  // prim::ListUnpack has no schema (its output count varies): its one input by position.
  registry.add("prim::ListUnpack", [](ConvertContext& c) { unpack(c, c.operand(0)); }, plumbing);
  registry.add("prim::TupleUnpack", [](ConvertContext& c) { unpack(c, c.in("tup")); }, plumbing);
  registry.add("aten::__getitem__", [](ConvertContext& c) { listIndex(c, "list", "idx"); });
  registry.add("prim::TupleIndex", [](ConvertContext& c) { listIndex(c, "tup", "i"); });
  registry.add("aten::append", listAppend);
  // Each op with the schema name of the value that passes through.
  struct Passing {
    const char* kind;
    const char* argument;
    OpFacts facts;
  };
  const Passing passing[] = {
      {"prim::NumToTensor", "a", auxiliary()},
      {"aten::Int", "a", auxiliary()},
      {"aten::IntImplicit", "a", auxiliary()},  // a 0-d tensor used as an int (slice bounds)
      {"aten::Float", "a", auxiliary()},
      {"aten::ScalarImplicit", "a", auxiliary()},
      {"aten::contiguous", "self", keepsSize() | auxiliary() | movesElements()},
      {"aten::clone", "self", dataBlind()},
      {"aten::detach", "self", keepsSize() | view()},
      {"aten::alias", "self", view() | dataBlind()},
      {"aten::lift_fresh", "self", {}},
      {"aten::to", "self", dataBlind() | auxiliary() | dtypeCast()},
      {"aten::_to_copy", "self", dataBlind()},
      {"aten::type_as", "self", dataBlind() | auxiliary() | dtypeCast()},
      {"aten::item", "self", {}},
      {"aten::Bool", "a", {}},
      {"aten::scalar_tensor", "s", {}},
      {"prim::unchecked_cast", "x", {}}};
  for (const auto& [kind, argument, facts] : passing)
    registry.add(kind, [argument = argument](ConvertContext& c) { passThrough(c, argument); }, facts);
  registry.add("aten::tensor", tensorOf);
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

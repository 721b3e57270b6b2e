#include "modelexport/value_facts.h"

#include <malloc.h>

#include <algorithm>
#include <functional>

#include <ATen/MemoryOverlap.h>
#include <torch/csrc/jit/ir/constants.h>

#include "modelexport/errors.h"
#include "modelexport/file_backed_tensors.h"
#include "modelexport/libtorch_errors.h"
#include "modelexport/node_op_facts.h"
#include "modelexport/shape_only_run.h"

namespace modelexport {
namespace {

using torch::jit::Block;
using torch::jit::Node;
using torch::jit::Value;

// Ops whose result depends only on shapes, dtypes and devices, never on data
// (`x is None` too: which optional values are given is fixed by the example inputs);
// full_like/new_full but for a fill value computed from data.
bool isShapeOnly(const Node* node, const OpFactsTable& ops, const ValueFacts& facts) {
  const OpFacts& op = opFactsOrNone(ops, node);
  if (!op.has(OpFacts::kShapeOnly)) return false;
  return op.fillInput < 0 || facts.of(node->input(static_cast<size_t>(op.fillInput))).isStatic;
}

bool isConvolution(const Node* node) {
  const std::string kind = node->kind().toQualString();
  return kind.find("conv") != std::string::npos;  // _convolution, conv2d, conv_transpose*, ...
}

// Whether two tensors have an element in common (not only a storage: the chunks of one
// tensor share a storage and no element). Exact for views of one dtype, by the element
// offsets each one reaches; a storage past 16M elements counts as shared.
bool sharesElements(const at::Tensor& a, const at::Tensor& b) {
  if (!a.is_alias_of(b)) return false;
  const at::MemOverlapStatus status = at::get_overlap_status(a, b);
  if (status == at::MemOverlapStatus::No) return false;
  if (status == at::MemOverlapStatus::Full || a.itemsize() != b.itemsize()) return true;
  const auto elements = static_cast<int64_t>(a.storage().nbytes() / a.itemsize());
  if (elements > (int64_t(1) << 24)) return true;
  const at::Tensor offsets = at::arange(elements, at::kLong);
  const at::Tensor ofA = offsets.as_strided(a.sizes(), a.strides(), a.storage_offset());
  const at::Tensor ofB = offsets.as_strided(b.sizes(), b.strides(), b.storage_offset());
  return at::isin(ofB.flatten(), ofA.flatten()).any().item<bool>();
}

class Runner {
 public:
  Runner(RunResult& result, const std::unordered_set<const Value*>& parameters,
         const std::unordered_set<const Node*>& sizesOnly, const OpFactsTable& ops, bool varyDataDependentSizes,
         bool factsForStaticUntakenBranches)
      : result_(result),
        facts_(result.facts),
        parameters_(parameters),
        sizesOnly_(sizesOnly),
        ops_(ops),
        varyDataDependentSizes_(varyDataDependentSizes),
        factsForStaticUntakenBranches_(factsForStaticUntakenBranches) {}

  void record(const Value* v, const c10::IValue& value, bool isStatic) {
    ValueFact& fact = facts_.set(v);
    fact.isStatic = isStatic;
    if (value.isTensor()) {
      const at::Tensor& t = value.toTensor();
      fact.isTensor = true;
      fact.dtype = t.scalar_type();
      fact.sizes = t.sizes().vec();
      if (t.is_quantized() && t.qscheme() == at::kPerTensorAffine) {
        fact.qScale = t.q_scale();
        fact.qZeroPoint = t.q_zero_point();
      }
      if (isStatic) fact.value = value;
    } else {
      fact.value = value;
    }
    env_[v] = value;
  }

  c10::IValue get(const Value* v) const {
    auto it = env_.find(v);
    TORCH_CHECK(it != env_.end(), "value ", v->debugName(), " used before it was computed");
    return it->second;
  }

  bool allStatic(const Node* node) const {
    for (const Value* in : node->inputs())
      if (!facts_.of(in).isStatic) return false;
    return true;
  }

  void runNode(Node* node) {
    switch (node->kind()) {
      case c10::prim::Constant: {
        const c10::IValue value = *constantValue(node->output());
        record(node->output(), value, true);
        // Packed quantized weights (objects) are read by their converters at export time;
        // the lists holding them (an LSTM's cell params) need no nodes of their own.
        facts_.set(node->output()).fromParameter = parameters_.count(node->output()) != 0 && !value.isObject();
        return;
      }
      case c10::prim::If: {
        bool cond = get(node->input(0)).toBool();
        Block* block = node->blocks()[cond ? 0 : 1];
        bool condStatic = facts_.of(node->input(0)).isStatic;
        if (!condStatic) runUntakenBranch(node->blocks()[cond ? 1 : 0]);
        else if (factsForStaticUntakenBranches_) tryUntakenBranch(node->blocks()[cond ? 1 : 0]);
        runBlock(block);
        for (size_t i = 0; i < node->outputs().size(); ++i) {
          const Value* inner = block->outputs()[i];
          record(node->outputs()[i], get(inner), condStatic && facts_.of(inner).isStatic);
          facts_.set(node->outputs()[i]).fromParameter = facts_.of(inner).fromParameter;
        }
        return;
      }
      case c10::prim::Loop: {
        runLoop(node);
        return;
      }
      default:
        break;
    }
    keepValueBeforeInPlaceWrite(node);
    torch::jit::Stack stack;
    for (const Value* in : node->inputs()) stack.push_back(get(in));
    try {
      if (!pushSizedOutput(node, stack)) runOperation(node, stack);
    } catch (const std::exception& e) {
      if (producesOnlyStrings(node)) {
        // aten::format (assert messages built from shapes) cannot run outside LibTorch's
        // interpreter; no tensor depends on a message.
        for (const Value* out : node->outputs()) record(out, c10::IValue(std::string()), allStatic(node));
        return;
      }
      throw UserError("the model failed on the example inputs at " +
                          std::string(node->kind().toQualString()) + ": " + libTorchCause(e),
                      libTorchText(e));
    }
    // Weights over a mapped archive leave the resident set once the op has read them
    // (they stay in the page cache): the run's peak memory does not grow with the model.
    for (const Value* in : node->inputs())
      if (auto it = env_.find(in); it != env_.end() && it->second.isTensor()) dropReadPages(it->second.toTensor());
    if (varyDataDependentSizes_ && !allStatic(node))
      if (const int64_t dim = dataDependentDim(node); dim >= 0)
        for (size_t i = stack.size() - node->outputs().size(); i < stack.size(); ++i)
          stack[i] = otherCount(stack[i], dim);
    // A list that received a value computed from data is no longer known at export time.
    if (node->kind() == c10::aten::append && !facts_.of(node->input(1)).isStatic)
      facts_.set(node->input(0)).isStatic = false;
    const bool shapeOnly = isShapeOnly(node, ops_, facts_);
    const bool isStatic = !node->isNondeterministic() && (shapeOnly || allStatic(node));
    bool fromParameter = false;
    for (const Value* in : node->inputs()) fromParameter = fromParameter || facts_.of(in).fromParameter;
    const size_t n = node->outputs().size();
    for (size_t i = 0; i < n; ++i) {
      record(node->outputs()[i], stack[stack.size() - n + i], isStatic);
      facts_.set(node->outputs()[i]).fromParameter = fromParameter && !shapeOnly;
    }
    if (!isStatic && isInPlaceKind(node->kind().toQualString()) && !node->inputs().empty())
      refuseWriteReadThroughAlias(node);
    if (isStatic && isInPlaceKind(node->kind().toQualString()) && !node->inputs().empty()) {
      foldMutatedBase(node->input(0));
      for (const Value* out : node->outputs()) facts_.set(out).fromParameter = false;
    }
  }

  // A node whose data nothing needs gets a stand-in of its output's size and dtype
  // instead of its result: its input, or zeros (see shape_only_run.h). Values known at
  // export time are always computed.
  bool pushSizedOutput(const Node* node, torch::jit::Stack& stack) {
    if (!sizesOnly_.count(node) || allStatic(node)) return false;
    const size_t inputs = node->inputs().size();
    const auto args = c10::ArrayRef<c10::IValue>(stack).slice(stack.size() - inputs);
    at::Tensor standIn;
    if (resultHasInputSizeAndDtype(node, ops_, args)) {
      standIn = args[0].toTensor();
    } else if (auto sizes = outputSizesWithoutComputing(node, ops_, args)) {
      standIn = standInOfSize(node, ops_, args, *sizes);
    } else {
      return false;
    }
    stack.resize(stack.size() - inputs);
    stack.emplace_back(std::move(standIn));
    ++result_.sizedNotComputed;
    return true;
  }

  // The dim of the node's results whose size depends on the data, -1 when none does:
  // dim 0 for nms, nonzero and the like; for aten::index with a boolean mask computed
  // from data, where the mask's count lands (the index block's place, or the front when
  // the indices are separated, as torch lays them out).
  int64_t dataDependentDim(const Node* node) const {
    const OpFacts& facts = opFactsOrNone(ops_, node);
    if (facts.has(OpFacts::kDataDependentSize)) return 0;
    if (!facts.has(OpFacts::kSizeFromMask) || node->inputs().size() < 2) return -1;
    const Node* list = node->input(1)->node();
    if (list->kind() != c10::prim::ListConstruct) return -1;
    bool maskFromData = false, adjacent = true;
    int64_t dim = 0, first = -1, end = -1;
    for (const Value* v : list->inputs()) {  // their facts: the values may be freed by now
      const ValueFact& index = facts_.of(v);
      if (!index.isTensor) {
        ++dim;
        continue;
      }
      const bool mask = index.dtype == at::kBool || index.dtype == at::kByte;
      maskFromData = maskFromData || (mask && !index.isStatic);
      if (first < 0) first = dim;
      else adjacent = adjacent && dim == end;
      dim += mask ? std::max<int64_t>(static_cast<int64_t>(index.sizes.size()), 1) : 1;
      end = dim;
    }
    return maskFromData ? (adjacent ? first : 0) : -1;
  }

  // The first entry along `dim` alone (kept boxes come by decreasing score; one, not
  // one fewer or half, so that caps like min(kept, 100) and topk(min(60, n)) see another
  // count whatever the example kept); one entry twice; one zero row (index 0) for none.
  // Never empty: an empty set of positions, indexing another data-dependent result,
  // would find nothing at index 0. Each tensor of a list (where(condition)) alike.
  static c10::IValue otherCount(const c10::IValue& value, int64_t dim) {
    if (value.isTensorList()) {
      c10::List<at::Tensor> varied;
      for (const at::Tensor& t : value.toTensorList().vec()) varied.push_back(otherCount(t, dim).toTensor());
      return varied;
    }
    if (!value.isTensor() || value.toTensor().dim() <= dim) return value;
    const at::Tensor& t = value.toTensor();
    if (t.size(dim) == 1) return at::cat({t, t}, dim);
    if (t.size(dim) > 1) return t.narrow(dim, 0, 1).clone();
    std::vector<int64_t> row = t.sizes().vec();
    row[static_cast<size_t>(dim)] = 1;
    return at::zeros(row, t.options());
  }

  static bool producesOnlyStrings(const Node* node) {
    if (node->outputs().empty()) return false;
    for (const Value* out : node->outputs())
      if (out->type()->kind() != c10::TypeKind::StringType) return false;
    return true;
  }

  // An in-place op on a value known at export time that nothing reads afterwards but
  // through the op's result (torchvision's RPN: `top_n_idx + offset`, then `offset +=
  // num_anchors`): the readers before it read the value as it was, so its fact keeps a
  // copy; the op's result holds the new data. Not for views (their base changes too)
  // nor for a value read again later (foldMutatedBase).
  void keepValueBeforeInPlaceWrite(const Node* node) {
    if (node->inputs().empty() || !isInPlaceKind(node->kind().toQualString())) return;
    const Value* target = node->input(0);
    const ValueFact& fact = facts_.of(target);
    if (!fact.isStatic || !fact.value.isTensor() || opFactsOrNone(ops_, target->node()).has(OpFacts::kView)) return;
    for (const auto& use : target->uses())
      if (use.user != node && (use.user->owningBlock() != node->owningBlock() || !use.user->isBefore(node))) return;
    facts_.set(target).value = fact.value.toTensor().clone();
  }

  // An in-place op on values known at export time (swin_v2 zeroes a slice of its bias
  // copy): the tensors share storage, so the facts already hold the mutated data. The
  // value it mutates, and the views it went through, become plain constants so the
  // converter writes that data instead of redoing the computation without the mutation.
  void foldMutatedBase(const Value* target) {
    for (const Value* v = target;; v = v->node()->input(0)) {
      facts_.set(v).fromParameter = false;
      if (!opFactsOrNone(ops_, v->node()).has(OpFacts::kView) || v->node()->inputs().empty()) break;
    }
  }

  // A write of data the prepare stage did not make functional (its target is no view it
  // follows: reshape, contiguous, an alias LibTorch made) is converted as a new value of
  // the target alone. Another value sharing the target's memory and read after the write
  // would be read without it: refused, never written wrong.
  void refuseWriteReadThroughAlias(const Node* node) {
    auto target = env_.find(node->input(0));
    if (target == env_.end() || !target->second.isTensor()) return;
    const at::Tensor& written = target->second.toTensor();
    std::unordered_set<const Value*> outputs(node->outputs().begin(), node->outputs().end());
    // env_ is keyed by address: of several such values, name the one made first, so the
    // message is the same on every run.
    const Value* shared = nullptr;
    for (const auto& [value, held] : env_) {
      if (value == node->input(0) || outputs.count(value) || !held.isTensor() ||
          (shared && shared->unique() < value->unique()) || !sharesElements(held.toTensor(), written))
        continue;
      for (const torch::jit::Use& use : value->uses())
        if (use.user != node && use.user->isAfter(node)) shared = value;
    }
    if (shared)
      throw UserError(std::string("in-place ") + node->kind().toQualString() + " writes data into memory that '" +
                      shared->debugName() + "' (made by " + shared->node()->kind().toQualString() +
                      ") shares and is read after it; this form of aliasing is not supported");
  }

  // Container ops are instructions of LibTorch's interpreter, not registered operators.
  static void runOperation(const Node* node, torch::jit::Stack& stack) {
    const size_t inputs = node->inputs().size();
    std::vector<c10::IValue> items(stack.end() - inputs, stack.end());
    switch (node->kind()) {
      case c10::prim::ListConstruct: {
        c10::impl::GenericList list(node->output()->type()->expectRef<c10::ListType>().getElementType());
        for (auto& item : items) list.push_back(std::move(item));
        stack.resize(stack.size() - inputs);
        stack.emplace_back(std::move(list));
        return;
      }
      case c10::prim::TupleConstruct:
        stack.resize(stack.size() - inputs);
        stack.emplace_back(c10::ivalue::Tuple::create(std::move(items)));
        return;
      case c10::prim::ListUnpack:
      case c10::prim::TupleUnpack: {
        c10::IValue container = stack.back();
        stack.pop_back();
        if (container.isTuple()) {
          for (const auto& e : container.toTupleRef().elements()) stack.push_back(e);
        } else {
          for (const auto& e : container.toListRef()) stack.push_back(e);
        }
        return;
      }
      default:
        node->getOperation()(stack);
    }
  }

  // A branch decided by input data becomes an ONNX If, so the branch these inputs do
  // not take is converted too: run it as well for its values' dtypes and shapes (before
  // the taken one, whose results are the ones kept).
  void runUntakenBranch(Block* block) {
    try {
      runBlock(block);
    } catch (const UserError& e) {
      throw UserError(std::string("the branch of an if on tensor data that these inputs do not take failed: ") +
                      e.what());
    }
  }

  // In a graph with data-dependent sizes, an if on a size (torchvision's `if
  // boxes.numel() == 0`) may turn out to follow the data once the runs are compared
  // (ValueFacts::markVarying); its other branch then needs facts too. Best effort, and
  // only for a branch that writes nothing outside itself.
  void tryUntakenBranch(Block* block) {
    for (const Node* inner : block->nodes())
      if (inner->kind() == c10::aten::append || isInPlaceKind(inner->kind().toQualString()) ||
          !inner->blocks().empty())
        return;
    try {
      runBlock(block);
    } catch (const std::exception&) {  // the branch fails here: its facts stay unknown
    }
  }

  void runLoop(Node* node) {
    int64_t maxTrips = get(node->input(0)).toInt();
    bool cond = get(node->input(1)).toBool();
    Block* body = node->blocks()[0];
    std::vector<c10::IValue> carried;
    for (size_t i = 2; i < node->inputs().size(); ++i) carried.push_back(get(node->input(i)));
    bool carriedStatic = allStatic(node);
    for (int64_t trip = 0; trip < maxTrips && cond; ++trip) {
      record(body->inputs()[0], c10::IValue(trip), carriedStatic);
      for (size_t i = 0; i < carried.size(); ++i) record(body->inputs()[i + 1], carried[i], carriedStatic);
      runBlock(body);
      cond = get(body->outputs()[0]).toBool();
      for (size_t i = 0; i < carried.size(); ++i) {
        carried[i] = get(body->outputs()[i + 1]);
        carriedStatic = carriedStatic && facts_.of(body->outputs()[i + 1]).isStatic;
      }
    }
    if (!facts_.has(body->inputs()[0])) {  // zero trips: body values still need facts
      for (size_t i = 0; i < carried.size(); ++i) record(body->inputs()[i + 1], carried[i], false);
    }
    for (size_t i = 0; i < node->outputs().size(); ++i)
      record(node->outputs()[i], carried[i], carriedStatic);
  }

  void runBlock(Block* block) {
    for (Node* node : block->nodes()) runNode(node);
  }

  // Drops the tensor of a value nobody needs any more (keeps its fact).
  void release(const Value* v) {
    if (!facts_.of(v).isStatic) env_.erase(v);
  }

 private:
  RunResult& result_;
  ValueFacts& facts_;
  const std::unordered_set<const Value*>& parameters_;
  const std::unordered_set<const Node*>& sizesOnly_;
  const OpFactsTable& ops_;
  const bool varyDataDependentSizes_;
  const bool factsForStaticUntakenBranches_;
  std::unordered_map<const Value*, c10::IValue> env_;
};

}  // namespace

bool isInPlaceKind(const std::string& kind) {
  return kind.size() > 2 && kind.back() == '_' && kind[kind.size() - 2] != '_';
}

c10::optional<c10::IValue> constantValue(const torch::jit::Value* v) {
  const Node* node = v->node();
  if (node->kind() == c10::prim::Constant && !node->hasAttribute(c10::attr::value) &&
      v->type()->kind() == c10::TypeKind::OptionalType)
    return c10::IValue();
  return torch::jit::toIValue(v);
}

namespace {

bool sameElements(c10::ArrayRef<c10::IValue> xs, c10::ArrayRef<c10::IValue> ys);

// Whether a value came out the same in both runs. IValue's == asserts on kinds it has no
// equality for (objects, uninitialized placeholders...): those count as the same only
// when they are placeholders, else as varying.
bool sameValue(const c10::IValue& a, const c10::IValue& b) {
  if (a.tagKind() != b.tagKind()) return false;
  if (a.isTensor()) {
    const at::Tensor& x = a.toTensor();
    const at::Tensor& y = b.toTensor();
    // The same memory seen the same way is the same value (a constant in both runs):
    // not read, so a mapped weight stays out of memory, and a NaN in it is no change.
    if (x.sizes() == y.sizes() && x.strides() == y.strides() && x.scalar_type() == y.scalar_type() &&
        x.layout() == at::kStrided && y.layout() == at::kStrided && !x.is_quantized() && !y.is_quantized() &&
        x.data_ptr() == y.data_ptr())
      return true;
    const bool same = x.sizes() == y.sizes() && x.scalar_type() == y.scalar_type() && at::equal(x, y);
    dropReadPages(x);
    dropReadPages(y);
    return same;
  }
  if (a.isList()) return sameElements(a.toListRef(), b.toListRef());
  if (a.isTuple()) return sameElements(a.toTupleRef().elements(), b.toTupleRef().elements());
  if (a.isNone() || a.tagKind() == "Uninitialized") return true;
  if (a.isInt() || a.isDouble() || a.isBool() || a.isString() || a.isDevice()) return a == b;
  return false;
}

bool sameElements(c10::ArrayRef<c10::IValue> xs, c10::ArrayRef<c10::IValue> ys) {
  if (xs.size() != ys.size()) return false;
  for (size_t i = 0; i < xs.size(); ++i)
    if (!sameValue(xs[i], ys[i])) return false;
  return true;
}

}  // namespace

void ValueFacts::markVarying(const ValueFacts& other, const OpFactsTable& ops) {
  for (auto& [value, fact] : facts_) {
    if (!other.has(value)) continue;
    const ValueFact& alt = other.of(value);
    if (fact.isTensor && alt.isTensor && fact.sizes.size() == alt.sizes.size()) {
      for (size_t d = 0; d < fact.sizes.size(); ++d)
        if (fact.sizes[d] != alt.sizes[d]) fact.dynamicDims.push_back(static_cast<int64_t>(d));
    }
    if (fact.isStatic && !(alt.isStatic && sameValue(fact.value, alt.value))) fact.isStatic = false;
  }
  if (other.variedDataDependentSizes_ && !facts_.empty()) followNotStatic(*facts_.begin()->first->owningGraph(), ops);
}

void ValueFacts::markSymbolic(const torch::jit::Graph& graph,
                              const std::unordered_map<const Value*, std::vector<int64_t>>& symbolic,
                              const OpFactsTable& ops) {
  for (const auto& [value, dims] : symbolic) {
    auto it = facts_.find(value);
    if (it == facts_.end()) continue;
    ValueFact& fact = it->second;
    for (int64_t d : dims)
      if (std::find(fact.dynamicDims.begin(), fact.dynamicDims.end(), d) == fact.dynamicDims.end())
        fact.dynamicDims.push_back(d);
    std::sort(fact.dynamicDims.begin(), fact.dynamicDims.end());
    fact.isStatic = false;
  }
  followNotStatic(graph, ops);
}

void ValueFacts::followNotStatic(const torch::jit::Graph& graph, const OpFactsTable& ops) {
  std::function<void(const torch::jit::Block*)> follow = [&](const torch::jit::Block* block) {
    for (const Node* node : block->nodes()) {
      for (const torch::jit::Block* inner : node->blocks()) follow(inner);
      if (isShapeOnly(node, ops, *this)) continue;
      bool varying = false;
      for (const Value* in : node->inputs()) varying = varying || (has(in) && !of(in).isStatic);
      for (const torch::jit::Block* inner : node->blocks())  // an if's or loop's results
        for (const Value* out : inner->outputs()) varying = varying || (has(out) && !of(out).isStatic);
      if (!varying) continue;
      for (const Value* out : node->outputs())
        if (auto it = facts_.find(out); it != facts_.end()) it->second.isStatic = false;
      if (node->kind() == c10::aten::append) facts_[node->input(0)].isStatic = false;
    }
  };
  follow(graph.block());
}

const ValueFact& ValueFacts::of(const torch::jit::Value* v) const {
  auto it = facts_.find(v);
  if (it == facts_.end()) {
    static const ValueFact unknown;
    return unknown;
  }
  return it->second;
}

namespace {

// An index list element that may be a boolean mask computed from data: by the run's
// facts when given, else by its type when the graph says.
bool mayBeMask(const Value* v, const ValueFacts* facts) {
  if (facts && facts->has(v)) {
    const ValueFact& fact = facts->of(v);
    return fact.isTensor && !fact.isStatic && (fact.dtype == at::kBool || fact.dtype == at::kByte);
  }
  const auto tensor = v->type()->cast<c10::TensorType>();
  if (!tensor) return v->type()->kind() != c10::TypeKind::NoneType;  // Tensor? or unknown
  const auto type = tensor->scalarType();
  return !type || *type == at::kBool || *type == at::kByte;
}

bool mayHaveDataDependentSize(const Node* node, const OpFactsTable& ops, const ValueFacts* facts) {
  const OpFacts& op = opFactsOrNone(ops, node);
  if (op.has(OpFacts::kDataDependentSize)) return true;
  if (!op.has(OpFacts::kSizeFromMask) || node->inputs().size() < 2) return false;
  const Node* list = node->input(1)->node();
  if (list->kind() != c10::prim::ListConstruct) return false;
  for (const Value* v : list->inputs())
    if (v->node()->kind() != c10::prim::Constant && mayBeMask(v, facts)) return true;
  return false;
}

}  // namespace

bool hasDataDependentSizes(const torch::jit::Block* block, const OpFactsTable& ops, const ValueFacts* facts) {
  for (const Node* node : block->nodes()) {
    if (mayHaveDataDependentSize(node, ops, facts)) return true;
    for (const Block* inner : node->blocks())
      if (hasDataDependentSizes(inner, ops, facts)) return true;
  }
  return false;
}

RunResult runForFacts(torch::jit::Graph& graph, const std::vector<c10::IValue>& inputs, const OpFactsTable& ops,
                      const std::unordered_set<const Value*>& parameters, bool varyDataDependentSizes) {
  if (inputs.size() != graph.inputs().size())
    throw UserError("the model takes " + std::to_string(graph.inputs().size()) + " inputs, " +
                    std::to_string(inputs.size()) + " were given");
  torch::NoGradGuard noGrad;
  RunResult result;
  const auto sizesOnly = nodesNeedingOnlySizes(graph, ops);
  Runner runner(result, parameters, sizesOnly, ops, varyDataDependentSizes, hasDataDependentSizes(graph.block(), ops));
  if (varyDataDependentSizes) result.facts.setVariedDataDependentSizes();
  for (size_t i = 0; i < inputs.size(); ++i) runner.record(graph.inputs()[i], inputs[i], false);

  // Last top-level node that needs each value, so activations are freed as we go.
  std::vector<Node*> order(graph.nodes().begin(), graph.nodes().end());
  std::unordered_map<const Node*, size_t> position;
  for (size_t i = 0; i < order.size(); ++i) position[order[i]] = i;
  std::vector<std::vector<const Value*>> freeAfter(order.size());
  std::unordered_set<const Value*> outputs(graph.outputs().begin(), graph.outputs().end());
  auto topLevel = [&](const Node* user) {
    while (user->owningBlock() != graph.block()) user = user->owningBlock()->owningNode();
    return user;
  };
  auto planFree = [&](const Value* v) {
    if (outputs.count(v) || v->uses().empty()) return;
    size_t last = 0;
    for (const auto& use : v->uses()) {
      const Node* user = topLevel(use.user);
      if (user->kind() == c10::prim::Return) return;
      last = std::max(last, position.at(user));
    }
    freeAfter[last].push_back(v);
  };
  for (const Value* in : graph.inputs()) planFree(in);
  for (Node* node : order)
    for (const Value* out : node->outputs()) planFree(out);

  for (size_t i = 0; i < order.size(); ++i) {
    const size_t sizedBefore = result.sizedNotComputed;
    runner.runNode(order[i]);
    for (const Value* v : freeAfter[i]) runner.release(v);
    // LibTorch's convolution kernels allocate large per-call workspaces; glibc keeps the
    // freed pages, and over a deep conv net the process would hold ~0.8x the weights
    // more than it needs (measured on resnet50). Hand them back after each convolution.
    if (isConvolution(order[i]) && result.sizedNotComputed == sizedBefore) malloc_trim(0);
  }
  // The activations freed along the way stay in glibc's heap; the write stage then
  // touches the mapped weights on top of them. Hand them back first.
  malloc_trim(0);
  return result;
}

}  // namespace modelexport

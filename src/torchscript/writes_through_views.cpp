#include "modelexport/writes_through_views.h"

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "modelexport/errors.h"

namespace modelexport {
namespace {

using torch::jit::Graph;
using torch::jit::NamedValue;
using torch::jit::Node;
using torch::jit::Value;

// A write to its first argument that returns it (`aten::copy_`, `aten::index_put_`).
bool writesFirstArgument(const Node* node) {
  const c10::FunctionSchema* schema = node->maybeSchema();
  if (!schema || schema->arguments().empty() || node->outputs().size() != 1) return false;
  const c10::AliasInfo* alias = schema->arguments()[0].alias_info();
  return alias && alias->isWrite();
}

// Ops whose result is always a view of their first input, so a write to the result
// writes that input. Ops that only sometimes alias (reshape, contiguous, to) are not
// followed: the run refuses a write whose effect through them is read later.
bool isUserView(const Node* node) {
  static const char* const kViews[] = {"aten::slice",     "aten::select", "aten::narrow",    "aten::unsqueeze",
                                       "aten::squeeze",   "aten::view",   "aten::transpose", "aten::t",
                                       "aten::permute",   "aten::detach", "aten::alias",     "aten::diagonal",
                                       "aten::unflatten", "aten::view_as"};
  const std::string kind = node->kind().toQualString();
  for (const char* view : kViews)
    if (kind == view) return !node->inputs().empty() && node->outputs().size() == 1;
  return false;
}

// The reshapes and transposes this pass makes to put a written view back in its parent's
// shape: views of the parent's new value (in the program, the two tensors are one), so
// later writes follow them like the model's own views.
using MadeViews = std::unordered_set<const Node*>;

class WriteRewriter {
 public:
  WriteRewriter(Graph& graph, Node* write, MadeViews& madeViews)
      : graph_(graph), write_(write), madeViews_(madeViews) {}

  void run() {
    std::vector<Node*> chain;  // from the written view up to the base's first view
    Value* base = write_->input(0);
    while (isView(base->node()) && base->node()->owningBlock() == graph_.block()) {
      chain.push_back(base->node());
      base = base->node()->input(0);
    }
    // A base that may share memory with its input (reshape, contiguous, to) or lives in
    // another block: left as it is, for the run's check of writes read through aliases.
    if (mayAliasItsInput(base->node()) || (chain.empty() && !viewReadAfterWrite(base))) return;

    torch::jit::WithInsertPoint insertBefore(write_);
    Value* written = outOfPlace();
    replacements_[write_->input(0)] = written;
    for (Node* view : chain) replacements_[view->input(0)] = scatterBack(view, replacements_.at(view->output()));
    remakeOtherViews(base);

    write_->output()->replaceAllUsesAfterNodeWith(write_, written);
    for (const auto& [old, now] : replacements_) old->replaceAllUsesAfterNodeWith(write_, now);
    write_->destroy();
  }

 private:
  // The op without its trailing underscore, on the same arguments (keyword-only ones
  // by name): `copy_(view, src)` -> `copy(view, src)`.
  Value* outOfPlace() {
    std::string kind = write_->kind().toQualString();
    const c10::FunctionSchema& schema = write_->schema();
    std::vector<NamedValue> args, kwargs;
    for (size_t i = 0; i < write_->inputs().size(); ++i) {
      const auto& argument = schema.arguments().at(i);
      if (argument.kwarg_only())
        kwargs.emplace_back(argument.name(), write_->input(i));
      else
        args.emplace_back(write_->input(i));
    }
    const std::string functional = kind.substr(0, kind.size() - 1);
    if (kind.back() != '_') refuse("it writes through a view and has no out-of-place form");
    try {
      return like(graph_.insert(c10::Symbol::fromQualString(functional), args, kwargs));
    } catch (const std::exception&) {
      refuse("it writes through a view and " + functional + " takes other arguments");
    }
  }

  // The parent of `view` with `child` (the view's new value) written where the view is.
  Value* scatterBack(Node* view, Value* child) {
    const std::string kind = view->kind().toQualString();
    Value* parent = view->input(0);
    auto in = [&](size_t i) { return NamedValue(view->input(i)); };
    if (kind == "aten::slice")  // slice(self, dim, start, end, step)
      return insert("aten::slice_scatter", {parent, child, in(1), in(2), in(3), in(4)});
    if (kind == "aten::select")  // select(self, dim, index)
      return insert("aten::select_scatter", {parent, child, in(1), in(2)});
    if (kind == "aten::narrow") {  // narrow(self, dim, start, length)
      Value* end = insert("aten::add", {in(2), in(3)});
      return insert("aten::slice_scatter", {parent, child, in(1), in(2), end, graph_.insertConstant(1)});
    }
    if (kind == "aten::diagonal")  // diagonal(self, offset, dim1, dim2)
      return insert("aten::diagonal_scatter", {parent, child, in(1), in(2), in(3)});
    if (kind == "aten::detach" || kind == "aten::alias") return child;
    Value* back = nullptr;
    if (kind == "aten::transpose" || kind == "aten::t") {
      std::vector<NamedValue> args{child};
      for (size_t i = 1; i < view->inputs().size(); ++i) args.emplace_back(view->input(i));
      back = insert(kind, args);
    } else if (kind == "aten::permute") {
      back = insert("aten::permute", {child, inversePermutation(view)});
    } else {  // (un)squeeze, view, view_as, unflatten, reshape: the elements in the parent's shape
      back = insert("aten::reshape", {child, insert("aten::size", {parent})});
    }
    madeViews_.insert(back->node());
    return back;
  }

  Value* inversePermutation(Node* permute) {
    const std::optional<c10::IValue> dims = torch::jit::toIValue(permute->input(1));
    if (!dims || !dims->isIntList()) refuse("it writes through aten::permute with dims computed at run time");
    const std::vector<int64_t> order = dims->toIntVector();
    const auto rank = static_cast<int64_t>(order.size());
    std::vector<int64_t> inverse(order.size());
    for (int64_t i = 0; i < rank; ++i) inverse.at(static_cast<size_t>((order[i] % rank + rank) % rank)) = i;
    return graph_.insertConstant(inverse);
  }

  // A write to a base itself is converted as a new value of the base (the converter
  // renames it), unless a view of it, made before the write, is read after it.
  bool viewReadAfterWrite(Value* base) const {
    for (const torch::jit::Use& use : base->uses())
      if (use.offset == 0 && isView(use.user) && use.user->isBefore(write_))
        for (const torch::jit::Use& read : use.user->output()->uses())
          if (read.user != write_ && read.user->isAfter(write_)) return true;
    return false;
  }

  // Views of the base (or of views on the way) made before the write and read after it
  // show the write too: each is made again from its parent's new value.
  void remakeOtherViews(Value* base) {
    std::vector<Value*> family{base};
    for (size_t i = 0; i < family.size(); ++i) {
      for (const torch::jit::Use& use : family[i]->uses()) {
        Node* user = use.user;
        if (use.offset != 0 || !isView(user) || !user->isBefore(write_) || user->owningBlock() != graph_.block())
          continue;
        Value* view = user->output();
        if (!replacements_.count(view)) {
          Value* parentNow = replacements_.count(family[i]) ? replacements_.at(family[i]) : nullptr;
          if (!parentNow) continue;
          Node* copy = graph_.insertNode(graph_.createClone(user, [&](Value* v) { return v == family[i] ? parentNow : v; }));
          copyOrigin(copy);
          if (madeViews_.count(user)) madeViews_.insert(copy);
          replacements_[view] = copy->output();
        }
        family.push_back(view);
      }
    }
  }

  Value* insert(const std::string& kind, const std::vector<NamedValue>& args) {
    return like(graph_.insert(c10::Symbol::fromQualString(kind), args));
  }

  // New nodes belong where the write was: its module, its source line.
  Value* like(Value* value) {
    copyOrigin(value->node());
    return value;
  }
  void copyOrigin(Node* node) {
    node->setScope(write_->scope());
    if (write_->callstack()) node->setCallStack(*write_->callstack());
    node->setSourceRange(write_->sourceRange());
  }

  [[noreturn]] void refuse(const std::string& why) const {
    std::string where;
    if (auto source = write_->sourceRange().source())
      if (auto line = source->starting_line_no(); line > 0 && source->filename())
        where = " at " + *source->filename() + ":" + std::to_string(line);
    throw UserError(std::string("in-place ") + write_->kind().toQualString() + where + ": " + why);
  }

  bool isView(const Node* node) const { return isUserView(node) || madeViews_.count(node); }

  // Whether the node's result may share memory with an input (its schema says so).
  bool mayAliasItsInput(const Node* node) const {
    const c10::FunctionSchema* schema = node->maybeSchema();
    return isView(node) || (schema && !schema->returns().empty() && schema->returns()[0].alias_info());
  }

  Graph& graph_;
  Node* write_;
  MadeViews& madeViews_;
  std::unordered_map<Value*, Value*> replacements_;  // old value -> its value after the write
};

}  // namespace

void functionalizeWritesThroughViews(Graph& graph) {
  std::vector<Node*> writes;
  for (Node* node : graph.block()->nodes())
    if (writesFirstArgument(node)) writes.push_back(node);
  MadeViews madeViews;
  for (Node* write : writes) WriteRewriter(graph, write, madeViews).run();
}

}  // namespace modelexport

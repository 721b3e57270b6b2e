#include "modelexport/graph_preparation.h"

#include <map>

#include <regex>
#include <set>

#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/passes/loop_unrolling.h>
#include <torch/csrc/jit/passes/lower_tuples.h>
#include <torch/csrc/jit/passes/remove_dropout.h>
#include <torch/csrc/jit/passes/remove_mutation.h>

#include <torch/csrc/jit/ir/constants.h>

#include "modelexport/errors.h"
#include "modelexport/writes_through_views.h"

namespace modelexport {
namespace {

using torch::jit::Node;
using torch::jit::Value;

struct AttrOwner {
  c10::IValue object;  // a module object
  std::string path;
};

// Parameter paths by the constant's Value::unique(): the passes after folding destroy
// some of those constants, and a new value may then take a destroyed one's address, never
// its number (a graph numbers its values once).
using PathByValueNumber = std::unordered_map<size_t, std::string>;

// Replaces every self.a.b.weight access with a constant holding the tensor, so the
// graph no longer needs the module object. Parameter ownership is remembered.
void foldModuleAttributes(torch::jit::Graph& graph, const torch::jit::Module& module,
                          PathByValueNumber& parameterPaths) {
  std::unordered_map<const Value*, AttrOwner> owners;
  owners[graph.inputs().at(0)] = AttrOwner{module._ivalue(), ""};
  std::vector<Node*> toDestroy;
  std::function<void(torch::jit::Block*)> visit = [&](torch::jit::Block* block) {
    for (Node* node : block->nodes()) {
      for (auto* sub : node->blocks()) visit(sub);
      if (node->kind() == c10::prim::SetAttr && owners.count(node->input(0)))
        throw UserError("the model assigns to module attribute '" + node->s(c10::attr::name) +
                        "' in forward (prim::SetAttr), which an ONNX graph cannot express");
      if (node->kind() != c10::prim::GetAttr) continue;
      auto it = owners.find(node->input(0));
      if (it == owners.end()) continue;
      const std::string name = node->s(c10::attr::name);
      c10::IValue value = it->second.object.toObject()->getAttr(name);
      std::string path = it->second.path.empty() ? name : it->second.path + "." + name;
      if (value.isObject() && value.toObjectRef().type()->is_module()) {
        owners[node->output()] = AttrOwner{value, path};
        continue;
      }
      // A TorchBind object (a quantized layer's packed weights) becomes a constant too;
      // constants may hold objects only without a strong reference to their compilation unit.
      const bool packed = value.isObject();
      if (packed) value = value.toObject()->copy_to_weak_compilation_ref();
      if (value.isTensor()) value = value.toTensor().detach();
      torch::jit::WithInsertPoint guard(node);
      c10::optional<Value*> constant =
          torch::jit::tryInsertConstant(graph, value, c10::nullopt, node->scope());
      if (!constant) continue;
      // The attribute's declared type may be an optional (`Tensor?` for a bias); the
      // constant keeps the type of its value, as toIValue requires.
      const c10::TypePtr valueType = (*constant)->type();
      (*constant)->copyMetadata(node->output());
      (*constant)->setType(valueType);
      if (value.isTensor() || packed) parameterPaths[(*constant)->unique()] = path;
      node->output()->replaceAllUsesWith(*constant);
      toDestroy.push_back(node);
    }
  };
  visit(graph.block());
  for (auto it = toDestroy.rbegin(); it != toDestroy.rend(); ++it) (*it)->destroy();
  // Module-valued GetAttr chains are dead now.
  torch::jit::EliminateDeadCode(graph.block());
}

// Warnings (scripted torchvision code warns in some branches) have no result and no
// ONNX form.
void removeWarnings(torch::jit::Block* block) {
  for (auto it = block->nodes().begin(); it != block->nodes().end();) {
    torch::jit::Node* node = *it++;
    for (torch::jit::Block* inner : node->blocks()) removeWarnings(inner);
    if (node->kind() == c10::aten::warn && node->outputs().empty()) node->destroy();
  }
}

// A list the graph returns that is built by one ListConstruct and changed by nothing:
// its elements can be returned in its place.
bool isPlainReturnedList(const Value* out) {
  if (out->node()->kind() != c10::prim::ListConstruct) return false;
  auto list = out->type()->cast<c10::ListType>();
  if (!list || !list->getElementType()->isSubtypeOf(*c10::TensorType::get())) return false;
  for (const torch::jit::Use& use : out->uses()) {
    if (use.user->kind() == c10::prim::Return || use.user->kind() == c10::prim::ListUnpack) continue;
    const c10::FunctionSchema* schema = use.user->maybeSchema();
    if (!schema || schema->is_mutable()) return false;
  }
  return true;
}

std::string cleanValueName(const std::string& debugName) {
  static const std::regex numericSuffix(R"(\.\d+$)");
  std::string name = std::regex_replace(debugName, numericSuffix, "");
  bool numeric = !name.empty() && std::all_of(name.begin(), name.end(), ::isdigit);
  return numeric ? "" : name;
}

}  // namespace

PreparedGraph prepareGraph(const torch::jit::Module& module) {
  auto method = module.find_method("forward");
  if (!method) throw UserError("the model has no forward method");
  PreparedGraph prepared;
  prepared.graph = method->graph()->copy();
  auto& graph = *prepared.graph;

  const auto& schema = method->function().getSchema();
  for (size_t i = 1; i < schema.arguments().size(); ++i) {
    const auto& arg = schema.arguments()[i];
    if (!arg.type()->isSubtypeOf(*c10::TensorType::get()))
      throw UserError("forward argument '" + arg.name() + "' has type " + arg.type()->str() +
                      "; only tensor arguments are supported");
    prepared.inputNames.push_back(arg.name());
  }

  torch::jit::Inline(graph);
  PathByValueNumber parameterPaths;
  foldModuleAttributes(graph, module, parameterPaths);
  if (!graph.inputs().at(0)->uses().empty())
    throw UserError("forward uses the module object in a way that cannot be folded");
  graph.eraseInput(0);

  // A returned dict (a Hugging Face ModelOutput traced with strict=False) is its values,
  // named by their keys.
  std::map<const Value*, std::string> keyNames;
  for (size_t i = graph.outputs().size(); i-- > 0;) {
    Node* dict = graph.outputs()[i]->node();
    if (dict->kind() != c10::prim::DictConstruct) continue;
    std::vector<Value*> values;
    for (size_t k = 0; k + 1 < dict->inputs().size(); k += 2) {
      auto key = torch::jit::toIValue(dict->input(k));
      if (!key || !key->isString()) throw UserError("the model returns a dict whose keys are not constant strings");
      values.push_back(dict->input(k + 1));
      keyNames[dict->input(k + 1)] = key->toStringRef();
    }
    graph.eraseOutput(i);
    for (size_t k = 0; k < values.size(); ++k) graph.block()->insertOutput(i + k, values[k]);
  }

  // Output names before tuples are flattened: the returned tuple's element names.
  std::vector<std::string> outputNames;
  for (Value* out : graph.outputs()) {
    Node* producer = out->node();
    if (producer->kind() == c10::prim::TupleConstruct || isPlainReturnedList(out)) {
      for (Value* element : producer->inputs()) outputNames.push_back(cleanValueName(element->debugName()));
    } else {
      outputNames.push_back(keyNames.count(out) ? keyNames[out] : cleanValueName(out->debugName()));
    }
  }

  removeWarnings(graph.block());
  torch::jit::removeDropout(prepared.graph);
  torch::jit::RemoveListMutation(prepared.graph);
  torch::jit::RemoveTensorMutation(prepared.graph);
  torch::jit::LowerAllTuples(prepared.graph);
  torch::jit::ConstantPropagation(prepared.graph);
  // Loops with constant trip counts (scripted `for i in range(3)`) become straight code.
  if (torch::jit::UnrollConstantLoops(prepared.graph)) torch::jit::ConstantPropagation(prepared.graph);
  functionalizeWritesThroughViews(graph);
  torch::jit::EliminateDeadCode(prepared.graph);
  // A returned list of tensors (a traced forward returning [flow_1, ..., flow_n], RAFT's
  // flow predictions) is its tensors, as a returned tuple is: ONNX outputs are tensors.
  for (size_t i = graph.outputs().size(); i-- > 0;) {
    Value* out = graph.outputs()[i];
    if (!isPlainReturnedList(out)) continue;
    const std::vector<Value*> elements(out->node()->inputs().begin(), out->node()->inputs().end());
    graph.eraseOutput(i);
    for (size_t k = 0; k < elements.size(); ++k) graph.block()->insertOutput(i + k, elements[k]);
  }
  torch::jit::EliminateDeadCode(prepared.graph);

  if (outputNames.size() != graph.outputs().size()) outputNames.assign(graph.outputs().size(), "");
  // None in the returned tuple (scripted GoogLeNet's aux outputs in eval mode) is no
  // tensor: it has no ONNX output.
  for (size_t i = graph.outputs().size(); i-- > 0;) {
    if (graph.outputs()[i]->type()->kind() != c10::TypeKind::NoneType) continue;
    graph.eraseOutput(i);
    outputNames.erase(outputNames.begin() + static_cast<std::ptrdiff_t>(i));
  }
  torch::jit::EliminateDeadCode(prepared.graph);
  std::set<std::string> used(prepared.inputNames.begin(), prepared.inputNames.end());
  for (size_t i = 0; i < outputNames.size(); ++i) {
    std::string name = outputNames[i];
    if (name.empty() || used.count(name)) name = "output_" + std::to_string(i);
    used.insert(name);
    prepared.outputNames.push_back(name);
  }
  // The folded constants the passes left, by number: an address may be reused.
  for (Node* node : graph.nodes()) {
    for (Value* v : node->outputs()) {
      auto path = parameterPaths.find(v->unique());
      if (path != parameterPaths.end()) prepared.parameterPaths[v] = path->second;
    }
  }
  return prepared;
}

}  // namespace modelexport

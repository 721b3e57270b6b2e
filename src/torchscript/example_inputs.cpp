#include "modelexport/example_inputs.h"
#include "modelexport/value_facts.h"

#include <algorithm>
#include <deque>
#include <sstream>
#include <unordered_set>

#include <torch/csrc/jit/ir/constants.h>

#include "modelexport/errors.h"
#include "modelexport/libtorch_errors.h"
#include "modelexport/node_op_facts.h"

namespace modelexport {
namespace {

using torch::jit::Node;
using torch::jit::Value;

// Uses that depend only on the input's shape: they do not carry its values onward.
bool dropsValues(const Node* node, const OpFactsTable& ops) { return opFactsOrNone(ops, node).has(OpFacts::kShapeOnly); }

// Rows of the table an index value selects from, when the table is a constant.
int64_t tableRows(const Value* table, int64_t dim) {
  auto value = constantValue(table);
  if (!value || !value->isTensor()) return 0;
  const auto& t = value->toTensor();
  if (t.dim() == 0) return 0;
  return t.size(dim < 0 ? dim + t.dim() : dim);
}

// A mask the model converts itself (HF: mask[:, None, None, :].to(dtype)) is given as
// int64, as tokenizers produce it.
bool isMaskCastByModel(const Value* input, const std::string& name, const OpFactsTable& ops) {
  if (name.find("mask") == std::string::npos) return false;
  std::deque<const Value*> queue{input};
  while (!queue.empty()) {
    const Value* v = queue.front();
    queue.pop_front();
    for (const auto& use : v->uses()) {
      const OpFacts& facts = opFactsOrNone(ops, use.user);
      if (facts.has(OpFacts::kDtypeCast)) return true;
      if (facts.has(OpFacts::kMovesElements) && use.offset == 0) queue.push_back(use.user->output());
    }
  }
  return false;
}

}  // namespace

InputSpec inferInputSpec(const Value* input, const std::string& name, const std::vector<int64_t>& shape,
                         const OpFactsTable& ops) {
  InputSpec spec{name, isMaskCastByModel(input, name, ops) ? at::kLong : at::kFloat, shape, 0};
  std::deque<const Value*> queue{input};
  std::unordered_set<const Value*> seen{input};
  auto noteLimit = [&](int64_t rows) {
    spec.dtype = at::kLong;
    if (rows > 0) spec.indexLimit = spec.indexLimit == 0 ? rows : std::min(spec.indexLimit, rows);
  };
  while (!queue.empty()) {
    const Value* v = queue.front();
    queue.pop_front();
    for (const auto& use : v->uses()) {
      const Node* user = use.user;
      const std::string kind = user->kind().toQualString();
      const OpFacts& facts = opFactsOrNone(ops, user);
      if (facts.indexInput >= 0 && use.offset == static_cast<size_t>(facts.indexInput)) {
        noteLimit(facts.indexTable >= 0 ? tableRows(user->input(static_cast<size_t>(facts.indexTable)), 0) : 0);
        continue;
      }
      if (kind == "prim::ListConstruct") {  // indices given as a list (x[ids])
        for (const auto& listUse : user->output()->uses()) {
          const int listIndex = opFactsOrNone(ops, listUse.user).indexInput;
          if (listIndex >= 0 && listUse.offset == static_cast<size_t>(listIndex)) noteLimit(0);
        }
      }
      if (dropsValues(user, ops)) continue;
      for (const Value* out : user->outputs())
        if (seen.insert(out).second) queue.push_back(out);
      for (const auto* block : user->blocks())
        for (const Value* in : block->inputs())
          if (seen.insert(in).second) queue.push_back(in);
    }
  }
  return spec;
}

std::vector<InputSpec> inferInputSpecs(const torch::jit::Graph& graph, const std::vector<std::string>& names,
                                       const std::vector<int64_t>& shape, const OpFactsTable& ops) {
  std::vector<InputSpec> specs;
  for (size_t i = 0; i < graph.inputs().size(); ++i)
    specs.push_back(inferInputSpec(graph.inputs()[i], names.at(i), shape, ops));
  return specs;
}

namespace {

at::Tensor makeExampleInput(const InputSpec& spec, at::Generator& generator) {
  const bool isMask = spec.name.find("mask") != std::string::npos;
  if (isMask) return torch::ones(spec.shape, torch::TensorOptions().dtype(spec.dtype));
  if (at::isIntegralType(spec.dtype, /*includeBool=*/true)) {
    int64_t high = spec.indexLimit > 0 ? spec.indexLimit : 2;
    if (spec.dtype == at::kBool) high = 2;
    return at::randint(0, high, spec.shape, generator, torch::TensorOptions().dtype(spec.dtype));
  }
  return at::randn(spec.shape, generator, torch::TensorOptions().dtype(spec.dtype));
}

std::string shapeText(const std::vector<int64_t>& shape) {
  std::string text;
  for (int64_t d : shape) text += (text.empty() ? "" : "x") + std::to_string(d);
  return text.empty() ? "scalar" : text;
}

}  // namespace

std::vector<c10::IValue> makeExampleInputs(const std::vector<InputSpec>& specs) {
  std::vector<c10::IValue> inputs;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(0);
  for (const auto& spec : specs) {
    try {
      inputs.emplace_back(makeExampleInput(spec, generator));
    } catch (const c10::Error& e) {
      const std::string what = "cannot make the example input '" + spec.name + "' (" + shapeText(spec.shape) +
                               ", " + std::string(c10::toString(spec.dtype)) + ")";
      if (std::string(e.what()).find("allocate") == std::string::npos)
        throw UserError(what + ": " + libTorchCause(e), libTorchText(e));
      double bytes = static_cast<double>(c10::elementSize(spec.dtype));
      for (int64_t d : spec.shape) bytes *= static_cast<double>(d);
      throw UserError(what + ": it needs " + formatBytes(bytes) +
                          " of memory, more than this machine could give; give a smaller --input-shape or --input-spec",
                      libTorchText(e));
    }
  }
  return inputs;
}

std::vector<int64_t> parseShape(const std::string& text) {
  std::vector<int64_t> shape;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    part.erase(std::remove_if(part.begin(), part.end(), ::isspace), part.end());
    char* end = nullptr;
    long long dim = part.empty() ? -1 : std::strtoll(part.c_str(), &end, 10);
    if (part.empty() || *end != '\0' || dim <= 0)
      throw UserError("--input-shape '" + text + "': expected positive integers separated by commas, e.g. 1,128");
    shape.push_back(dim);
  }
  if (shape.empty()) throw UserError("--input-shape is empty; expected e.g. 1,128");
  return shape;
}

}  // namespace modelexport

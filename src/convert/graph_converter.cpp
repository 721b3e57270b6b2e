#include "modelexport/graph_converter.h"

#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "modelexport/errors.h"
#include "modelexport/onnx_tensor.h"

namespace modelexport {
namespace {

using torch::jit::Block;
using torch::jit::Node;
using torch::jit::Value;

struct UnsupportedUse {
  size_t count = 0;
  std::string firstTag;
  std::string firstSource;  // "model.py:12", when the file recorded where the call is
  std::string reason;
  bool cause = false;  // at least one use failed on its own, not only for a missing input
};

// The Python line that made the node: TorchScript keeps the range its code was generated
// from (a traced model's call site); the .pt2 loader sets it from the node's stack_trace.
std::string sourceLine(const Node* node) {
  torch::jit::SourceRange range = node->sourceRange();
  if (auto original = range.findSourceRangeThatGenerated()) range = *original;
  const auto where = range.file_line_col();
  if (!where) return "";
  const auto& [file, line, column] = *where;
  (void)column;
  return file + ":" + std::to_string(line);
}

class GraphWalker {
 public:
  GraphWalker(ConvertContext& ctx, const ValueFacts& facts,
              const std::unordered_map<const Node*, NodeTag>& tags, const ModuleTree& tree,
              const ConverterRegistry& registry, int opset, OnnxGraphBuilder& builder)
      : ctx_(ctx), facts_(facts), tags_(tags), tree_(tree), registry_(registry), opset_(opset), builder_(builder) {}

  void convertBlock(const Block* block) {
    for (const Node* node : block->nodes()) convertNode(node);
  }

  // What made a value, for a message: "aten::mul in /Net/Conv2d.c at net.py:8".
  std::string producerText(const Value* v) const {
    const Node* producer = v->node();
    if (producer->kind() == c10::prim::Param) return "a graph input";
    std::string text = std::string(producer->kind().toQualString()) + " in " + tagText(producer);
    const std::string source = sourceLine(producer);
    return source.empty() ? text : text + " at " + source;
  }

  std::map<std::string, UnsupportedUse> unsupported;
  std::set<std::string> convertedKeys;
  // The highest opset a converter asked for (OpsetNeeded), with who asked; and whether
  // any other cause failed a node (then a newer opset alone would not do).
  int neededOpset = 0;
  std::string neededBy;
  bool otherCauses = false;

 private:
  // Folded into the file as constants: known at export time and not computed from
  // parameters (those stay nodes, so a module's own work stays visible).
  bool foldable(const Node* node) const {
    for (const Value* out : node->outputs())
      if (!facts_.of(out).isStatic || facts_.of(out).fromParameter) return false;
    return true;
  }

  std::string tagText(const Node* node) const {
    auto it = tags_.find(node);
    int module = it == tags_.end() || it->second.module < 0 ? 0 : it->second.module;
    return tree_.at(module).tag;
  }

  void note(const std::string& kind, const Node* node, const std::string& reason, bool cause = true) {
    otherCauses = otherCauses || cause;
    noteUse(kind, node, reason, cause);
  }

  void noteOpsetNeeded(const std::string& kind, const Node* node, const OpsetNeeded& e) {
    if (e.opset() > neededOpset) {
      neededOpset = e.opset();
      neededBy = kind + " in " + tagText(node) + " needs " + e.feature();
    }
    noteUse(kind, node, e.what(), true);
  }

  void noteUse(const std::string& kind, const Node* node, const std::string& reason, bool cause) {
    auto& use = unsupported[kind];
    // The first use that is a cause of its own is the one worth showing.
    if (use.count++ == 0 || (cause && !use.cause)) {
      use.firstTag = tagText(node);
      use.firstSource = sourceLine(node);
      use.reason = reason;
    }
    use.cause = use.cause || cause;
  }

  void convertNode(const Node* node) {
    // A placeholder for what a raising branch would have returned: it has no value, and a
    // converted node that used it would report that.
    if (node->kind() == c10::prim::Constant || node->kind() == c10::prim::Uninitialized) return;
    if (!node->outputs().empty() && foldable(node)) return;
    auto it = tags_.find(node);
    builder_.setCurrentTag(it == tags_.end() ? NodeTag{} : it->second);
    if (node->kind() == c10::prim::Loop) {
      convertLoop(node);
      return;
    }
    if (node->kind() == c10::prim::If) {
      if (facts_.of(node->input(0)).isStatic) {
        convertStaticIf(node);
      } else {
        convertTensorIf(node);
      }
      return;
    }
    const std::string kind = node->kind().toQualString();
    std::string key;
    const ConverterFn* converter = registry_.find(node, opset_, &key);
    // In-place ops left by LibTorch's mutation removal (aliasing kept them): converted as
    // their out-of-place form, then the mutated input names the result from here on.
    const bool inPlace = !converter && isInPlaceKind(kind) && node->outputs().size() == 1;
    if (inPlace) converter = registry_.findOutOfPlace(node, opset_, &key);
    if (!converter) {
      note(kind, node, "");
      return;
    }
    ctx_.setNode(node);
    try {
      (*converter)(ctx_);
      requantizeResults(ctx_);
      if (inPlace) ctx_.bind(node->input(0), ctx_.input(node->output()));
      convertedKeys.insert(key);
    } catch (const UnproducedInput& e) {
      note(kind, node, e.what(), false);
    } catch (const OpsetNeeded& e) {
      noteOpsetNeeded(kind, node, e);
    } catch (const UnsupportedForm& e) {
      note(kind, node, e.what());
    } catch (const UserError&) {
      throw;
    } catch (const c10::Error& e) {
      // A converter's own assumption that failed (LibTorch's checks, bounds, optionals):
      // reported at the node like any other failure, never as the bare message.
      note(kind, node, "internal error in its converter: " + firstLine(e.what_without_backtrace()));
    } catch (const std::exception& e) {
      note(kind, node, "internal error in its converter: " + firstLine(e.what()));
    }
  }

  // A branch decided by shapes or constants: only the branch that runs is converted.
  void convertStaticIf(const Node* node) {
    const bool cond = facts_.of(node->input(0)).value.toBool();
    const Block* block = node->blocks()[cond ? 0 : 1];
    convertBlock(block);
    for (size_t i = 0; i < node->outputs().size(); ++i) {
      const Value* inner = block->outputs()[i];
      if (facts_.of(node->outputs()[i]).isStatic) continue;
      try {
        ctx_.bind(node->outputs()[i], ctx_.input(inner));
      } catch (const UnsupportedForm&) {
        // the inner value was unsupported itself and is reported already
      }
    }
  }

  // A subgraph output of `owner` (If/Loop) for the block value `inner`, as `type`:
  // produced inside the subgraph by an Identity (the value may come from outside it).
  // nullopt when the value itself was unsupported (reported already).
  std::optional<std::string> subgraphOutput(const Node* owner, const Value* inner, at::ScalarType type,
                                            const std::string& hint) {
    try {
      ctx_.setNode(owner);
      const std::string value = ctx_.inputAs(inner, type);
      const std::string name = builder_.freshName(hint);
      builder_.addNode("Identity", {value}, {name});
      return name;
    } catch (const UnsupportedForm&) {
      return std::nullopt;
    }
  }

  // A branch decided by input data: an ONNX If whose then/else graphs hold the two
  // blocks' nodes, stamped like any other (the blocks' ops keep their modules).
  void convertTensorIf(const Node* node) {
    const std::string kind = "prim::If";
    ctx_.setNode(node);
    std::vector<std::string> outputs;
    std::vector<at::ScalarType> types;
    try {
      for (const Value* out : node->outputs()) {
        if (!facts_.of(out).isTensor && !facts_.of(out).value.isDouble() && !facts_.of(out).value.isInt() &&
            !facts_.of(out).value.isBool())
          ctx_.unsupported("an if on tensor data whose result is not a tensor or number");
        outputs.push_back(builder_.freshName(out->debugName().empty() ? "if_out" : out->debugName()));
        types.push_back(ctx_.dtype(out));
      }
      const std::string cond = ctx_.inputAs(node->input(0), at::kBool);
      builder_.addNode("If", {cond}, outputs);
    } catch (const UnsupportedForm& e) {
      note(kind, node, e.what());
      return;
    }
    const int owner = builder_.lastNodeIndex();
    const NodeTag ownerTag = builder_.currentTag();
    for (size_t b = 0; b < 2; ++b) {
      const Block* block = node->blocks()[b];
      Subgraph sub;
      sub.attribute = b == 0 ? "then_branch" : "else_branch";
      builder_.enterSubgraph(owner, static_cast<int>(b));
      convertBlock(block);
      builder_.setCurrentTag(ownerTag);
      for (size_t i = 0; i < block->outputs().size(); ++i) {
        const Value* inner = block->outputs()[i];
        if (auto name = subgraphOutput(node, inner, types[i], outputs[i] + (b == 0 ? "_then" : "_else"))) {
          const auto& fact = facts_.of(inner);
          // A size that varies (dynamic axes, boxes kept by nms) is no fixed dim of the output.
          sub.outputs.push_back(!fact.dynamicDims.empty() ? typeOnly(*name, types[i])
                                                          : tensorValueInfo(*name, types[i],
                                                                            fact.isTensor ? fact.sizes : std::vector<int64_t>{}));
        }
      }
      builder_.leaveSubgraph();
      builder_.nodes()[static_cast<size_t>(owner)].subgraphs.push_back(std::move(sub));
    }
    for (size_t i = 0; i < outputs.size(); ++i) ctx_.bind(node->outputs()[i], outputs[i]);
  }

  // The value's ONNX type without a shape: loop-carried values may change shape.
  onnx::ValueInfoProto typeOnly(const std::string& name, at::ScalarType type) {
    onnx::ValueInfoProto info = tensorValueInfo(name, type, {});
    info.mutable_type()->mutable_tensor_type()->clear_shape();
    return info;
  }

  // A loop whose trip count or condition comes from tensor data (loops with constant
  // trip counts were unrolled when the graph was prepared): an ONNX Loop. TorchScript's
  // prim::Loop(max, cond, carried...) { (i, carried...) -> (cond, carried...) } maps
  // one to one; ONNX's body also takes the incoming condition, unused here.
  void convertLoop(const Node* node) {
    const std::string kind = "prim::Loop";
    const Block* body = node->blocks()[0];
    ctx_.setNode(node);
    std::vector<std::string> inputs, outputs;
    std::vector<at::ScalarType> types;
    try {
      inputs.push_back(ctx_.inputAs(node->input(0), at::kLong));
      inputs.push_back(ctx_.inputAs(node->input(1), at::kBool));
      for (size_t i = 2; i < node->inputs().size(); ++i) {
        types.push_back(ctx_.dtype(node->input(i)));
        inputs.push_back(ctx_.inputAs(node->input(i), types.back()));
      }
      for (const Value* out : node->outputs())
        outputs.push_back(builder_.freshName(out->debugName().empty() ? "loop_out" : out->debugName()));
      builder_.addNode("Loop", inputs, outputs);
    } catch (const UnsupportedForm& e) {
      note(kind, node, e.what());
      return;
    }
    const int owner = builder_.lastNodeIndex();
    const NodeTag ownerTag = builder_.currentTag();
    Subgraph sub;
    sub.attribute = "body";
    const std::string iteration = builder_.freshName("loop_iteration");
    const std::string condIn = builder_.freshName("loop_cond_in");
    sub.inputs.push_back(tensorValueInfo(iteration, at::kLong, {}));
    sub.inputs.push_back(tensorValueInfo(condIn, at::kBool, {}));
    ctx_.bind(body->inputs()[0], iteration);
    for (size_t i = 0; i < types.size(); ++i) {
      const std::string name = builder_.freshName(body->inputs()[i + 1]->debugName().empty()
                                                      ? "loop_carried"
                                                      : body->inputs()[i + 1]->debugName());
      sub.inputs.push_back(typeOnly(name, types[i]));
      ctx_.bind(body->inputs()[i + 1], name);
    }
    builder_.enterSubgraph(owner, 0);
    convertBlock(body);
    builder_.setCurrentTag(ownerTag);
    for (size_t i = 0; i < body->outputs().size(); ++i) {
      const at::ScalarType type = i == 0 ? at::kBool : types[i - 1];
      if (auto name = subgraphOutput(node, body->outputs()[i], type, i == 0 ? "loop_cond_out" : outputs[i - 1] + "_next"))
        sub.outputs.push_back(i == 0 ? tensorValueInfo(*name, at::kBool, {}) : typeOnly(*name, type));
    }
    builder_.leaveSubgraph();
    builder_.nodes()[static_cast<size_t>(owner)].subgraphs.push_back(std::move(sub));
    for (size_t i = 0; i < outputs.size(); ++i) ctx_.bind(node->outputs()[i], outputs[i]);
  }

  ConvertContext& ctx_;
  const ValueFacts& facts_;
  const std::unordered_map<const Node*, NodeTag>& tags_;
  const ModuleTree& tree_;
  const ConverterRegistry& registry_;
  const int opset_;  // picks each converter's form
  OnnxGraphBuilder& builder_;
};

}  // namespace

namespace {

ConvertedGraph convertAll(const PreparedGraph& prepared, const ValueFacts& facts,
                          const std::unordered_map<const Node*, NodeTag>& tags, const ModuleTree& tree,
                          const ConverterRegistry& registry, int opset, OnnxGraphBuilder& builder, bool dynamicAxes) {
  ConvertContext ctx(builder, facts, opset);
  ctx.setDynamicAxes(dynamicAxes);
  ctx.setNameHints(&prepared.parameterPaths);
  ConvertedGraph result;
  const auto& graph = *prepared.graph;
  for (size_t i = 0; i < graph.inputs().size(); ++i) {
    const std::string& name = prepared.inputNames.at(i);
    builder.reserveName(name);
    ctx.bind(graph.inputs()[i], name);
    result.inputs.push_back(name);
  }
  for (const auto& name : prepared.outputNames) builder.reserveName(name);

  GraphWalker walker(ctx, facts, tags, tree, registry, opset, builder);
  walker.convertBlock(graph.block());
  if (!walker.unsupported.empty()) {
    // The causes first, each with where and why; then, in one list, the operators that
    // failed only because a cause left their input unproduced.
    std::ostringstream msg, knockOn;
    msg << "unsupported operators: ";
    bool first = true;
    size_t knockOnCount = 0;
    for (const auto& [kind, use] : walker.unsupported) {
      if (!use.cause) {
        knockOn << (knockOnCount++ ? ", " : "") << kind << " x" << use.count;
        continue;
      }
      msg << (first ? "" : "; ") << kind << " x" << use.count << " (first in " << use.firstTag;
      if (!use.firstSource.empty()) msg << " at " << use.firstSource;
      msg << ": " << (use.reason.empty() ? "no converter" : use.reason) << ")";
      first = false;
    }
    if (knockOnCount) msg << (first ? "" : "; and, only because of those, ") << knockOn.str();
    // Every cause is an op form of a newer opset: that opset would take the model.
    if (walker.neededOpset && !walker.otherCauses) throw NewerOpsetNeeded(msg.str(), walker.neededOpset, walker.neededBy);
    throw UserError(msg.str());
  }

  // Graph outputs get their signature names. An output that is a graph input, an
  // initializer, or a second use of the same tensor needs an Identity node to carry it.
  std::unordered_set<std::string> taken(result.inputs.begin(), result.inputs.end());
  std::unordered_set<std::string> produced;
  std::unordered_map<std::string, std::string> renamed;
  for (const auto& node : builder.nodes())
    for (const auto& out : node.proto.output()) produced.insert(out);
  for (size_t i = 0; i < graph.outputs().size(); ++i) {
    const std::string& wanted = prepared.outputNames.at(i);
    std::string name;
    try {
      name = ctx.input(graph.outputs()[i]);
    } catch (const UnsupportedForm& e) {
      // Every node converted, yet this result has no ONNX tensor: what the model returns is
      // no tensor the exporter follows (a list built at run time, an object).
      throw UserError("output " + std::to_string(i) + " ('" + wanted + "'), a " + graph.outputs()[i]->type()->str() +
                          " made by " + walker.producerText(graph.outputs()[i]) +
                          ", is no tensor or fixed set of tensors an ONNX graph can return (a list whose length or " +
                          "contents are decided at run time?)",
                      e.what());
    }
    if (renamed.count(name)) name = renamed[name];
    if (!produced.count(name) || taken.count(name)) {
      builder.setCurrentTag(NodeTag{0, TagMethod::Project});
      builder.addNode("Identity", {name}, {wanted});
    } else {
      builder.renameTensor(name, wanted);
      renamed[name] = wanted;
    }
    taken.insert(wanted);
    result.outputs.push_back(wanted);
  }
  result.convertedKeys.assign(walker.convertedKeys.begin(), walker.convertedKeys.end());
  return result;
}

}  // namespace

ConvertedGraph convertGraph(const PreparedGraph& prepared, const ValueFacts& facts,
                            const std::unordered_map<const Node*, NodeTag>& tags,
                            const ModuleTree& tree, const ConverterRegistry& registry, int opset,
                            OnnxGraphBuilder& builder, bool dynamicAxes) {
  // What a failed assumption of the exporter's own (not a node's converter: those are
  // reported at their node) becomes: one line saying so, the message behind it for -v.
  try {
    return convertAll(prepared, facts, tags, tree, registry, opset, builder, dynamicAxes);
  } catch (const UserError&) {
    throw;
  } catch (const c10::Error& e) {
    throw UserError("internal error while converting the graph: " + firstLine(e.what_without_backtrace()), e.what());
  } catch (const std::exception& e) {
    throw UserError("internal error while converting the graph: " + firstLine(e.what()), e.what());
  }
}

}  // namespace modelexport

#pragma once
// What a converter sees: the TorchScript node being converted, the facts learned by
// running the model, and a way to emit ONNX nodes that carry the node's tag.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <torch/script.h>

#include "modelexport/onnx_attributes.h"
#include "modelexport/onnx_axes_forms.h"
#include "modelexport/onnx_graph_builder.h"
#include "modelexport/op_facts.h"
#include "modelexport/value_facts.h"

namespace modelexport {

// Thrown by a converter for a form of the op it does not handle (e.g. an argument that
// must be known at export time but is not). Reported with the unsupported ops.
class UnsupportedForm : public std::runtime_error {
 public:
  explicit UnsupportedForm(const std::string& why) : std::runtime_error(why) {}
};

// A node whose input an earlier unsupported node did not produce: not a cause of its own.
class UnproducedInput : public UnsupportedForm {
 public:
  using UnsupportedForm::UnsupportedForm;
};

// The ONNX opsets the converters write (--opset-version); checked once, before any work.
constexpr int kMinOpset = 11;
constexpr int kMaxOpset = 17;
// Without --opset-version: the first opset tried; a model that needs more gets the lowest
// opset that has what it needs (opset_choice.h).
constexpr int kDefaultOpset = 14;

// Thrown by ConvertContext::requireOpset: the op has no ONNX form below `opset`
// (<= kMaxOpset; a need beyond is a plain UnsupportedForm). `feature` names that form.
class OpsetNeeded : public UnsupportedForm {
 public:
  OpsetNeeded(const std::string& why, int opset, std::string feature)
      : UnsupportedForm(why), opset_(opset), feature_(std::move(feature)) {}
  int opset() const { return opset_; }
  const std::string& feature() const { return feature_; }

 private:
  int opset_;
  std::string feature_;
};

class ConvertContext {
 public:
  ConvertContext(OnnxGraphBuilder& builder, const ValueFacts& facts, int opset);

  void setNode(const torch::jit::Node* node) { node_ = node; }
  const torch::jit::Node* node() const { return node_; }
  // An input by position, only for nodes without a schema (prim::ListUnpack; the
  // elements of prim::ListConstruct): their inputs have no names. Every other argument is
  // read by name, below.
  const torch::jit::Value* operand(size_t i) const { return node_->input(i); }
  // An argument by its schema name (PyTorch's native_functions.yaml: aten::linear's
  // "input", "weight", "bias"). A node without a schema, or whose schema lacks the
  // name, is a converter bound to the wrong op: std::logic_error naming both, no guess.
  const torch::jit::Value* in(std::string_view name) const;
  // in(0) would otherwise compile, as a null name: positions are operand()'s.
  const torch::jit::Value* in(size_t position) const = delete;
  const torch::jit::Value* out(size_t i = 0) const { return node_->output(i); }
  // Whether ONNX `opType` takes its axes as an attribute or an input at the export's
  // opset, as onnx_axes_forms.h declares: the shared helpers' one question about the opset.
  AxesForm axesForm(std::string_view opType) const { return axesFormAt(opType, opset_); }
  // With dynamic axes, ints that are not known at export time (sizes of dynamic dims)
  // must stay values in the graph: asking for them as constants is an error.
  void setDynamicAxes(bool on) { dynamicAxes_ = on; }

  // --- facts ---
  const ValueFact& fact(const torch::jit::Value* v) const { return facts_.of(v); }
  bool isStatic(const torch::jit::Value* v) const;
  // An argument that only some overloads have, by schema name: nullptr when this
  // overload has none. A node without a schema is an internal error, as for in(name).
  const torch::jit::Value* arg(const char* name) const;
  // Whether an optional argument is given: present (the overload has it, the node
  // passes it) and not None. The one check converters use for optional arguments.
  bool given(const torch::jit::Value* v) const { return v && !isNone(v); }
  bool given(const char* name) const { return given(arg(name)); }
  const c10::IValue& staticValue(const torch::jit::Value* v) const;  // throws if dynamic
  int64_t toInt(const torch::jit::Value* v) const;
  double toDouble(const torch::jit::Value* v) const;
  bool toBool(const torch::jit::Value* v) const;
  std::vector<int64_t> toInts(const torch::jit::Value* v) const;  // int or int[]
  at::Tensor toTensor(const torch::jit::Value* v) const;           // static tensor
  at::ScalarType dtype(const torch::jit::Value* v) const;
  // The recorded shape; throws UnsupportedForm when a dim is dynamic (--dynamic-axes),
  // so that no converter bakes a dynamic size into the file.
  const std::vector<int64_t>& sizes(const torch::jit::Value* v) const;
  int64_t rank(const torch::jit::Value* v) const { return (int64_t)fact(v).sizes.size(); }
  // Whether nodes now go into a subgraph (a Loop body, an If branch), where ONNX shape
  // inference sees the types of the main graph's initializers but not their data.
  bool inSubgraph() const { return builder_.inSubgraph(); }
  bool hasDynamicDims(const torch::jit::Value* v) const { return !fact(v).dynamicDims.empty(); }
  // One recorded dim; throws UnsupportedForm only when that dim is dynamic.
  int64_t dim(const torch::jit::Value* v, int64_t d) const;
  // A 1-D int64 ONNX tensor holding an int list (a shape): constant when known at
  // export time, else assembled from the dynamic elements.
  std::string intListInput(const torch::jit::Value* list);
  // torch's type promotion: dimensioned tensors, then 0-d tensors, then Python numbers.
  at::ScalarType promotedType(const std::vector<const torch::jit::Value*>& values) const;
  // Normalizes a possibly negative dimension against `rank`.
  static int64_t normDim(int64_t dim, int64_t rank);

  // --- ONNX tensor names ---
  // The ONNX tensor holding a TorchScript value; static values become initializers.
  std::string input(const torch::jit::Value* v);
  // The same, converted to `type` (a Cast node, or a constant made in that type).
  std::string inputAs(const torch::jit::Value* v, at::ScalarType type);
  // Elements of a tensor list value (ListConstruct inputs or a split's outputs), with
  // what aten::append added before the node being converted.
  std::vector<std::string> inputList(const torch::jit::Value* v);
  // The TorchScript values in a list built by ListConstruct (plus appends so far);
  // nullopt for lists made otherwise.
  std::optional<std::vector<const torch::jit::Value*>> listElements(const torch::jit::Value* list) const;
  // aten::append: nodes are converted in program order, so later readers of the list
  // see the element and earlier ones do not, as when the model runs.
  void appendToList(const torch::jit::Value* list, const torch::jit::Value* element);
  std::string constant(const at::Tensor& tensor, const std::string& hint = "const");
  std::string constInts(const std::vector<int64_t>& values);  // 1-D int64
  std::string scalar(double value, at::ScalarType type);       // 0-d
  std::string cast(const std::string& name, at::ScalarType to);

  // --- emission ---
  std::string op(const std::string& opType, const std::vector<std::string>& inputs,
                 const std::vector<onnx::AttributeProto>& attributes = {});
  std::vector<std::string> ops(const std::string& opType, const std::vector<std::string>& inputs,
                               size_t outputs,
                               const std::vector<onnx::AttributeProto>& attributes = {});
  void bind(const torch::jit::Value* v, const std::string& onnxName);
  void bindList(const torch::jit::Value* v, const std::vector<std::string>& names);
  bool isBound(const torch::jit::Value* v) const { return names_.count(v) != 0; }
  // Binds the node's output i, casting when the ONNX result type differs from the
  // dtype LibTorch produced.
  void setOutput(const std::string& onnxName, at::ScalarType producedType, size_t i = 0);
  void setOutput(const std::string& onnxName, size_t i = 0) { bind(out(i), onnxName); }

  // Readable names for initializers: parameter paths where known, else debug names.
  void setNameHints(const std::unordered_map<const torch::jit::Value*, std::string>* hints) { hints_ = hints; }
  std::string nameHint(const torch::jit::Value* v) const;

  [[noreturn]] void unsupported(const std::string& why) const;
  // The converter's form needs ONNX `feature` ("GridSample"), which exists from `opset`:
  // below it, OpsetNeeded (so an export whose opset the user did not choose is converted
  // again at `opset`); above kMaxOpset, a refusal saying so. Not for ops with a form at
  // every opset: those register one form per opset range (OpsetForms, below).
  void requireOpset(int opset, const std::string& feature) const;

 private:
  // None by type, or a value that ran as None (an Optional that is None here).
  bool isNone(const torch::jit::Value* v) const;

  OnnxGraphBuilder& builder_;
  const ValueFacts& facts_;
  int opset_;
  bool dynamicAxes_ = false;
  const torch::jit::Node* node_ = nullptr;
  const std::unordered_map<const torch::jit::Value*, std::string>* hints_ = nullptr;
  std::unordered_map<const torch::jit::Value*, std::string> names_;
  std::unordered_map<const torch::jit::Value*, std::vector<std::string>> lists_;
  std::unordered_map<const torch::jit::Value*, std::vector<const torch::jit::Value*>> appended_;
};

using ConverterFn = std::function<void(ConvertContext&)>;

// One form of a converter, written from opset `since` until the next form's `since`.
struct OpsetForm {
  int since;
  ConverterFn convert;
};
// A converter's forms, one per opset range, declared in its registration (as torch-mlir's
// onOp("HardSwish", 14, ...) does): the table picks the form for the export's opset, so
// no converter body tests the opset to choose between forms.
using OpsetForms = std::vector<OpsetForm>;

// The op table. A key is an op kind ("aten::add": every overload) or one overload
// ("aten::add.Tensor"; "aten::add" is also the overload with the empty name). An entry
// holds the converter's forms by opset range and the facts other stages read
// (op_facts.h, handed to them as opFacts()); either may be missing. A node finds its
// overload's entry first, then its kind's: for the converter, the first of the two that
// has one; for the facts, the first that exists (so an overload's entry replaces its
// kind's facts).
class ConverterRegistry {
 public:
  // One form at every opset; the facts join those the entry has.
  void add(const std::string& key, ConverterFn fn, const OpFacts& facts = {});
  // One form per opset range. The forms start at kMinOpset, in increasing order; anything
  // else is a registration slip, refused (std::logic_error naming the key) when the table
  // is built.
  void add(const std::string& key, OpsetForms forms, const OpFacts& facts = {});
  // Facts only (an op converted specially, or only its out-of-place form).
  void declare(const std::string& key, const OpFacts& facts);
  // The converter of `key` at `opset`: the form whose range holds it. An opset outside
  // kMinOpset..kMaxOpset is an internal error (the opset is checked before conversion).
  const ConverterFn* find(const std::string& key, int opset) const;
  // Every form registered under `key`, exactly (no overload-then-kind search); nullptr
  // when there is none. For a registration that wraps another's forms.
  const OpsetForms* forms(const std::string& key) const;
  // The converter for this node at `opset`, by overload then kind; `key`, when given, is
  // set to the key it was found under (the tests' coverage check collects them).
  const ConverterFn* find(const torch::jit::Node* node, int opset, std::string* key = nullptr) const;
  // The converter of the out-of-place form of an in-place node (`aten::add_.Tensor` ->
  // `aten::add.Tensor`, then `aten::add`).
  const ConverterFn* findOutOfPlace(const torch::jit::Node* node, int opset, std::string* key = nullptr) const;
  // Every op's facts, declared with its converter: the table the pipeline hands to the
  // stages before conversion (node_op_facts.h finds a node's entry).
  const OpFactsTable& opFacts() const { return facts_; }
  // Every key that has a converter.
  std::vector<std::string> kinds() const;

 private:
  const ConverterFn* converter(const std::string& kind, const std::string& overload, int opset,
                               std::string* key) const;
  std::unordered_map<std::string, OpsetForms> table_;
  OpFactsTable facts_;
};

// Every converter of the product, one registration function per op family.
const ConverterRegistry& defaultConverters();
void registerElementwiseConverters(ConverterRegistry& registry);
void registerNnConverters(ConverterRegistry& registry);
void registerShapeConverters(ConverterRegistry& registry);
void registerReduceConverters(ConverterRegistry& registry);
void registerIndexConverters(ConverterRegistry& registry);
void registerPrimConverters(ConverterRegistry& registry);
void registerAttentionConverters(ConverterRegistry& registry);
void registerDetectionConverters(ConverterRegistry& registry);
void registerRecurrentConverters(ConverterRegistry& registry);
void registerSamplingConverters(ConverterRegistry& registry);
void registerQuantizedConverters(ConverterRegistry& registry);

// A quantized LibTorch dtype is carried in ONNX as float, its dequantized values
// (quantized_converters.cpp); other dtypes as they are.
at::ScalarType carriedType(at::ScalarType type);
// After a converter of a float op that LibTorch ran on a quantized tensor (pooling,
// flatten, relu): its quantized results are rounded to their recorded scale and zero
// point, as LibTorch's quantized kernels round. Quantized ops round their own.
void requantizeResults(ConvertContext& ctx);

}  // namespace modelexport

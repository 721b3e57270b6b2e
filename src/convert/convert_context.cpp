#include "modelexport/convert_context.h"
#include "modelexport/converter_helpers.h"

#include <algorithm>
#include <stdexcept>

#include "modelexport/errors.h"
#include "modelexport/node_op_facts.h"
#include "modelexport/onnx_tensor.h"

namespace modelexport {

using torch::jit::Value;

ConvertContext::ConvertContext(OnnxGraphBuilder& builder, const ValueFacts& facts, int opset)
    : builder_(builder), facts_(facts), opset_(opset) {}

bool ConvertContext::isStatic(const Value* v) const { return fact(v).isStatic; }

bool ConvertContext::isNone(const Value* v) const {
  return v->type()->kind() == c10::TypeKind::NoneType || (fact(v).isStatic && fact(v).value.isNone());
}

// The node's schema; LibTorch caches the operator it matched on the node, so asking
// again costs a pointer test.
static const c10::FunctionSchema& schemaOf(const torch::jit::Node* node, std::string_view argument) {
  const c10::FunctionSchema* schema = node->maybeSchema();
  if (!schema)
    throw std::logic_error(std::string(node->kind().toQualString()) + " has no schema: its argument '" +
                           std::string(argument) + "' cannot be read by name");
  return *schema;
}

const Value* ConvertContext::in(std::string_view name) const {
  const c10::FunctionSchema& schema = schemaOf(node_, name);
  auto index = schema.argumentIndexWithName(name);
  if (!index || *index >= static_cast<int>(node_->inputs().size()))
    throw std::logic_error(schema.operator_name().name + (schema.overload_name().empty() ? "" : ".") +
                           schema.overload_name() + " has no argument '" + std::string(name) + "'");
  return node_->input(static_cast<size_t>(*index));
}

const Value* ConvertContext::arg(const char* name) const {
  auto index = schemaOf(node_, name).argumentIndexWithName(name);
  if (!index || *index >= static_cast<int>(node_->inputs().size())) return nullptr;
  return node_->input(static_cast<size_t>(*index));
}

const c10::IValue& ConvertContext::staticValue(const Value* v) const {
  const ValueFact& f = fact(v);
  if (!f.isStatic && f.isTensor)
    throw UnsupportedForm("argument '" + v->debugName() + "' must be known at export time");
  if (!f.isStatic && dynamicAxes_)
    throw UnsupportedForm("argument '" + v->debugName() + "' must be known at export time (it changes with the dynamic axes)");
  return f.value;
}

int64_t ConvertContext::toInt(const Value* v) const {
  const auto& value = staticValue(v);
  if (value.isInt()) return value.toInt();
  if (value.isBool()) return value.toBool();
  if (value.isTensor() && value.toTensor().numel() == 1) return value.toTensor().item<int64_t>();
  throw UnsupportedForm("argument '" + v->debugName() + "' is not an integer");
}

double ConvertContext::toDouble(const Value* v) const {
  const auto& value = staticValue(v);
  if (value.isDouble()) return value.toDouble();
  if (value.isInt()) return static_cast<double>(value.toInt());
  if (value.isBool()) return value.toBool();
  if (value.isTensor() && value.toTensor().numel() == 1) return value.toTensor().item<double>();
  throw UnsupportedForm("argument '" + v->debugName() + "' is not a number");
}

bool ConvertContext::toBool(const Value* v) const {
  const auto& value = staticValue(v);
  if (value.isBool()) return value.toBool();
  if (value.isInt()) return value.toInt() != 0;
  throw UnsupportedForm("argument '" + v->debugName() + "' is not a bool");
}

std::vector<int64_t> ConvertContext::toInts(const Value* v) const {
  const auto& value = staticValue(v);
  if (value.isInt()) return {value.toInt()};
  if (value.isIntList()) return value.toIntVector();
  if (value.isList()) {
    std::vector<int64_t> out;
    for (const auto& e : value.toListRef()) out.push_back(e.toInt());
    return out;
  }
  if (value.isTensor()) {
    auto t = value.toTensor().to(at::kLong).contiguous();
    return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
  }
  throw UnsupportedForm("argument '" + v->debugName() + "' is not an int list");
}

at::Tensor ConvertContext::toTensor(const Value* v) const {
  const auto& value = staticValue(v);
  if (!value.isTensor()) throw UnsupportedForm("argument '" + v->debugName() + "' is not a tensor");
  return value.toTensor();
}

at::ScalarType ConvertContext::dtype(const Value* v) const {
  const ValueFact& f = fact(v);
  if (f.isTensor) return carriedType(f.dtype);
  if (f.value.isDouble()) return at::kFloat;
  if (f.value.isInt()) return at::kLong;
  if (f.value.isBool()) return at::kBool;
  throw UnsupportedForm("value '" + v->debugName() + "' has no tensor dtype");
}

const std::vector<int64_t>& ConvertContext::sizes(const Value* v) const {
  static const std::vector<int64_t> scalar;
  const ValueFact& f = fact(v);
  if (!f.dynamicDims.empty())
    throw UnsupportedForm("needs the fixed shape of '" + v->debugName() + "', which changes with the dynamic axes");
  return f.isTensor ? f.sizes : scalar;
}

int64_t ConvertContext::dim(const Value* v, int64_t d) const {
  const ValueFact& f = fact(v);
  const int64_t rank = static_cast<int64_t>(f.sizes.size());
  if (d < 0) d += rank;
  if (d < 0 || d >= rank) throw UnsupportedForm("dim " + std::to_string(d) + " of '" + v->debugName() + "' out of range");
  for (int64_t dynamic : f.dynamicDims)
    if (dynamic == d)
      throw UnsupportedForm("needs dim " + std::to_string(d) + " of '" + v->debugName() +
                            "' fixed, but it changes with the dynamic axes");
  return f.sizes[static_cast<size_t>(d)];
}

std::string ConvertContext::intListInput(const Value* list) {
  if (isStatic(list)) return constInts(toInts(list));
  const torch::jit::Node* producer = list->node();
  if (producer->kind() != c10::prim::ListConstruct) return input(list);  // e.g. aten::size(x): Shape
  std::vector<std::string> parts;
  for (const Value* element : producer->inputs()) {
    if (isStatic(element)) {
      parts.push_back(constInts({toInt(element)}));
    } else {
      parts.push_back(unsqueeze(*this, inputAs(element, at::kLong), {0}));
    }
  }
  return parts.size() == 1 ? parts[0] : op("Concat", parts, {attr::i("axis", 0)});
}

at::ScalarType ConvertContext::promotedType(const std::vector<const Value*>& values) const {
  auto category = [](at::ScalarType t) {
    if (t == at::ScalarType::Undefined) return -1;
    if (t == at::kBool) return 0;
    return at::isFloatingType(t) ? 2 : 1;
  };
  at::ScalarType dims = at::ScalarType::Undefined, zeroDim = dims, number = dims;
  for (const Value* v : values) {
    const ValueFact& f = fact(v);
    if (f.isTensor) {
      auto& slot = f.sizes.empty() ? zeroDim : dims;
      slot = slot == at::ScalarType::Undefined ? f.dtype : at::promoteTypes(slot, f.dtype);
    } else if (f.value.isDouble() || f.value.isInt() || f.value.isBool()) {
      at::ScalarType t = f.value.isDouble() ? at::kFloat : f.value.isInt() ? at::kLong : at::kBool;
      number = number == at::ScalarType::Undefined ? t : at::promoteTypes(number, t);
    }
  }
  at::ScalarType result = dims;
  if (category(zeroDim) > category(result)) result = zeroDim;
  if (category(number) > category(result)) result = number;
  return result == at::ScalarType::Undefined ? at::kFloat : result;
}

int64_t ConvertContext::normDim(int64_t dim, int64_t rank) {
  return dim < 0 ? dim + std::max<int64_t>(rank, 1) : dim;
}

std::string ConvertContext::nameHint(const Value* v) const {
  if (hints_) {
    auto it = hints_->find(v);
    if (it != hints_->end()) return it->second;
  }
  std::string name = v->debugName();
  if (name.empty()) return "t";
  return std::isdigit(static_cast<unsigned char>(name[0])) ? "v" + name : name;
}

std::string ConvertContext::input(const Value* v) {
  auto it = names_.find(v);
  if (it != names_.end()) return it->second;
  const ValueFact& f = fact(v);
  if (!f.isStatic) throw UnproducedInput("value '" + v->debugName() + "' was never produced");
  const auto& value = f.value;
  at::Tensor t;
  if (value.isTensor()) {
    t = value.toTensor();
  } else if (value.isDouble()) {
    t = torch::scalar_tensor(value.toDouble(), at::kFloat);
  } else if (value.isInt()) {
    t = torch::scalar_tensor(value.toInt(), at::kLong);
  } else if (value.isBool()) {
    t = torch::scalar_tensor(value.toBool(), at::kBool);
  } else if (value.isIntList()) {
    t = torch::tensor(value.toIntVector(), at::kLong);
  } else if (value.isDoubleList()) {
    auto d = value.toDoubleVector();
    t = torch::tensor(std::vector<double>(d.begin(), d.end()), at::kFloat);
  } else {
    throw UnsupportedForm("value '" + v->debugName() + "' of type " + v->type()->str() +
                          " cannot be an ONNX tensor");
  }
  std::string name = builder_.addInitializer(t, nameHint(v));
  names_[v] = name;
  return name;
}

std::string ConvertContext::inputAs(const Value* v, at::ScalarType type) {
  const ValueFact& f = fact(v);
  if (f.isStatic && !isBound(v)) {
    const auto& value = f.value;
    if (value.isTensor()) return constant(value.toTensor().to(type), nameHint(v));
    // Integers exactly (via double, INT64_MAX, a while loop's trip bound, would wrap).
    if (value.isInt())
      return constant(torch::scalar_tensor(value.toInt(), torch::TensorOptions().dtype(at::kLong)).to(type),
                      "const_scalar");
    if (value.isDouble() || value.isBool()) return scalar(toDouble(v), type);
  }
  std::string name = input(v);
  return dtype(v) == type ? name : cast(name, type);
}

std::optional<std::vector<const Value*>> ConvertContext::listElements(const Value* list) const {
  if (list->node()->kind() != c10::prim::ListConstruct) return std::nullopt;
  std::vector<const Value*> elements(list->node()->inputs().begin(), list->node()->inputs().end());
  auto added = appended_.find(list);
  if (added != appended_.end()) elements.insert(elements.end(), added->second.begin(), added->second.end());
  return elements;
}

void ConvertContext::appendToList(const Value* list, const Value* element) {
  appended_[list].push_back(element);
  auto it = lists_.find(list);
  if (it != lists_.end()) it->second.push_back(given(element) ? input(element) : std::string());
}

std::vector<std::string> ConvertContext::inputList(const Value* v) {
  auto it = lists_.find(v);
  if (it != lists_.end()) return it->second;
  if (auto elements = listElements(v)) {
    std::vector<std::string> names;
    for (const Value* element : *elements) names.push_back(input(element));
    return names;
  }
  const ValueFact& f = fact(v);
  if (f.isStatic && f.value.isTensorList()) {
    std::vector<std::string> names;
    for (const auto& t : f.value.toTensorVector()) names.push_back(constant(t, nameHint(v)));
    return names;
  }
  // A list a node returns (chunk, split) that the node, itself unsupported, never bound.
  if (!f.isStatic && v->node()->kind() != c10::prim::Param && !isBound(v)) {
    throw UnproducedInput("tensor list '" + v->debugName() + "' was never produced");
  }
  throw UnsupportedForm("tensor list '" + v->debugName() + "' is not a list the exporter can follow");
}

std::string ConvertContext::constant(const at::Tensor& tensor, const std::string& hint) {
  return builder_.addInitializer(tensor, hint);
}

std::string ConvertContext::constInts(const std::vector<int64_t>& values) {
  return constant(torch::tensor(values, at::kLong), "const_ints");
}

std::string ConvertContext::scalar(double value, at::ScalarType type) {
  return constant(torch::scalar_tensor(value, torch::TensorOptions().dtype(at::kDouble)).to(type),
                  "const_scalar");
}

std::string ConvertContext::cast(const std::string& name, at::ScalarType to) {
  return op("Cast", {name}, {attr::i("to", onnxDataType(to))});
}

std::string ConvertContext::op(const std::string& opType, const std::vector<std::string>& inputs,
                               const std::vector<onnx::AttributeProto>& attributes) {
  return ops(opType, inputs, 1, attributes).front();
}

std::vector<std::string> ConvertContext::ops(const std::string& opType,
                                             const std::vector<std::string>& inputs, size_t outputs,
                                             const std::vector<onnx::AttributeProto>& attributes) {
  std::vector<std::string> names;
  std::string base = node_ && node_->outputs().size() > 0 ? nameHint(node_->output(0)) : opType;
  for (size_t i = 0; i < outputs; ++i) names.push_back(builder_.freshName(base + "_" + opType));
  builder_.addNode(opType, inputs, names, attributes);
  return names;
}

void ConvertContext::bind(const Value* v, const std::string& onnxName) { names_[v] = onnxName; }

void ConvertContext::bindList(const Value* v, const std::vector<std::string>& names) {
  lists_[v] = names;
}

void ConvertContext::setOutput(const std::string& onnxName, at::ScalarType producedType, size_t i) {
  const at::ScalarType expected = dtype(out(i));
  bind(out(i), producedType == expected ? onnxName : cast(onnxName, expected));
}

void ConvertContext::unsupported(const std::string& why) const { throw UnsupportedForm(why); }

void ConvertContext::requireOpset(int opset, const std::string& feature) const {
  if (opset_ >= opset) return;
  const std::string needs = "needs ONNX opset " + std::to_string(opset) + " (" + feature + ")";
  if (opset > kMaxOpset)
    throw UnsupportedForm(needs + "; this exporter writes opsets up to " + std::to_string(kMaxOpset));
  throw OpsetNeeded(needs + ", not in opset " + std::to_string(opset_) + "; export with --opset-version " +
                        std::to_string(opset) + " or later",
                    opset, feature);
}

void ConverterRegistry::add(const std::string& key, ConverterFn fn, const OpFacts& facts) {
  add(key, OpsetForms{{kMinOpset, std::move(fn)}}, facts);
}

void ConverterRegistry::add(const std::string& key, OpsetForms forms, const OpFacts& facts) {
  if (forms.empty()) throw std::logic_error(key + ": a converter with no form");
  for (size_t i = 0; i < forms.size(); ++i)
    if ((i == 0 && forms[i].since != kMinOpset) || (i > 0 && forms[i].since <= forms[i - 1].since))
      throw std::logic_error(key + ": opset forms must start at opset " + std::to_string(kMinOpset) +
                             " and increase");
  table_[key] = std::move(forms);
  facts_.add(key, facts);
}

void ConverterRegistry::declare(const std::string& key, const OpFacts& facts) { facts_.add(key, facts); }

const ConverterFn* ConverterRegistry::find(const std::string& key, int opset) const {
  if (opset < kMinOpset || opset > kMaxOpset)
    throw std::logic_error("converter of " + key + " asked for at opset " + std::to_string(opset) +
                           ", outside the opsets written");
  auto it = table_.find(key);
  if (it == table_.end()) return nullptr;
  const OpsetForms& forms = it->second;
  size_t chosen = 0;
  while (chosen + 1 < forms.size() && forms[chosen + 1].since <= opset) ++chosen;
  return forms[chosen].convert ? &forms[chosen].convert : nullptr;
}

const OpsetForms* ConverterRegistry::forms(const std::string& key) const {
  auto it = table_.find(key);
  return it == table_.end() ? nullptr : &it->second;
}

const ConverterFn* ConverterRegistry::converter(const std::string& kind, const std::string& overload, int opset,
                                                 std::string* key) const {
  if (!overload.empty()) {
    const std::string withOverload = kind + "." + overload;
    if (const ConverterFn* fn = find(withOverload, opset)) {
      if (key) *key = withOverload;
      return fn;
    }
  }
  const ConverterFn* fn = find(kind, opset);
  if (fn && key) *key = kind;
  return fn;
}

const ConverterFn* ConverterRegistry::find(const torch::jit::Node* node, int opset, std::string* key) const {
  return converter(node->kind().toQualString(), overloadOf(node), opset, key);
}

const ConverterFn* ConverterRegistry::findOutOfPlace(const torch::jit::Node* node, int opset, std::string* key) const {
  const std::string kind = node->kind().toQualString();
  return converter(kind.substr(0, kind.size() - 1), overloadOf(node), opset, key);
}

std::vector<std::string> ConverterRegistry::kinds() const {
  std::vector<std::string> out;
  for (const auto& [key, forms] : table_)
    if (std::any_of(forms.begin(), forms.end(), [](const OpsetForm& form) { return bool(form.convert); }))
      out.push_back(key);
  std::sort(out.begin(), out.end());
  return out;
}

const ConverterRegistry& defaultConverters() {
  static const ConverterRegistry registry = [] {
    ConverterRegistry r;
    registerPrimConverters(r);
    registerElementwiseConverters(r);
    registerNnConverters(r);
    registerShapeConverters(r);
    registerReduceConverters(r);
    registerIndexConverters(r);
    registerAttentionConverters(r);
    registerDetectionConverters(r);
    registerRecurrentConverters(r);
    registerSamplingConverters(r);
    registerQuantizedConverters(r);
    return r;
  }();
  return registry;
}

}  // namespace modelexport

#include "modelexport/torch_export_loader.h"

#include <algorithm>
#include <regex>
#include <set>
#include <variant>

#include <caffe2/serialize/inline_container.h>
#include <nlohmann/json.hpp>
#include <torch/csrc/jit/frontend/source_range.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/runtime/operator.h>
#include <torch/csrc/utils/generated_serialization_types.h>

#include "modelexport/autocast_policy.h"
#include "modelexport/dtype_names.h"
#include "modelexport/errors.h"
#include "modelexport/file_backed_tensors.h"
#include "modelexport/model_file_format.h"
#include "modelexport/recorded_module_tree.h"
#include "modelexport/torchvision_ops.h"

namespace modelexport {
namespace {

// The last `File "x.py", line N` of a Python stack trace (the call that made the node) as
// a source range whose file_line_col() names that file and line.
std::optional<std::pair<std::string, size_t>> lastFrame(const std::string& stackTrace) {
  static const std::regex frame(R"re(File "([^"]+)", line (\d+))re");
  std::optional<std::pair<std::string, size_t>> last;
  for (auto it = std::sregex_iterator(stackTrace.begin(), stackTrace.end(), frame); it != std::sregex_iterator(); ++it)
    last = std::make_pair((*it)[1].str(), static_cast<size_t>(std::stoul((*it)[2].str())));
  return last;
}

std::optional<torch::jit::SourceRange> innermostFrame(const std::string& stackTrace) {
  const auto last = lastFrame(stackTrace);
  if (!last) return std::nullopt;
  auto source = std::make_shared<torch::jit::Source>(std::string(" "), last->first, last->second);
  return torch::jit::SourceRange(source, 0, 1);
}

namespace serde = torch::_export;
using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

const char* const kHowToMake =
    "make one with torch.export.save(torch.export.export(model, example_args), path)";

at::ScalarType scalarTypeOf(serde::ScalarType type) {
  switch (type) {
    case serde::ScalarType::BYTE: return at::kByte;
    case serde::ScalarType::CHAR: return at::kChar;
    case serde::ScalarType::SHORT: return at::kShort;
    case serde::ScalarType::INT: return at::kInt;
    case serde::ScalarType::LONG: return at::kLong;
    case serde::ScalarType::HALF: return at::kHalf;
    case serde::ScalarType::FLOAT: return at::kFloat;
    case serde::ScalarType::DOUBLE: return at::kDouble;
    case serde::ScalarType::COMPLEXHALF: return at::kComplexHalf;
    case serde::ScalarType::COMPLEXFLOAT: return at::kComplexFloat;
    case serde::ScalarType::COMPLEXDOUBLE: return at::kComplexDouble;
    case serde::ScalarType::BOOL: return at::kBool;
    case serde::ScalarType::BFLOAT16: return at::kBFloat16;
    case serde::ScalarType::UINT16: return at::kUInt16;
    case serde::ScalarType::UINT32: return at::kUInt32;
    case serde::ScalarType::UINT64: return at::kUInt64;
    case serde::ScalarType::FLOAT8E4M3FN: return at::kFloat8_e4m3fn;
    case serde::ScalarType::FLOAT8E5M2: return at::kFloat8_e5m2;
    default: break;
  }
  throw UserError("dtype " + std::string(serde::printEnum(type)) + " is not supported");
}

// TorchScript graphs carry layouts and memory formats as their c10 enum values.
int64_t layoutOf(serde::Layout layout) {
  switch (layout) {
    case serde::Layout::Strided: return static_cast<int64_t>(at::kStrided);
    case serde::Layout::SparseCoo: return static_cast<int64_t>(at::kSparse);
    default: break;
  }
  throw UserError("layout " + std::string(serde::printEnum(layout)) + " is not supported");
}

int64_t memoryFormatOf(serde::MemoryFormat format) {
  switch (format) {
    case serde::MemoryFormat::ContiguousFormat: return static_cast<int64_t>(at::MemoryFormat::Contiguous);
    case serde::MemoryFormat::ChannelsLast: return static_cast<int64_t>(at::MemoryFormat::ChannelsLast);
    case serde::MemoryFormat::ChannelsLast3d: return static_cast<int64_t>(at::MemoryFormat::ChannelsLast3d);
    case serde::MemoryFormat::PreserveFormat: return static_cast<int64_t>(at::MemoryFormat::Preserve);
    default: break;
  }
  throw UserError("memory format " + std::string(serde::printEnum(format)) + " is not supported");
}

// "L['self'].layers[0]" or "L__self__.layers.0" -> "layers.0"; already plain paths stay.
std::string attributePath(std::string path) {
  for (const std::string prefix : {"L['self']", "L__self__"}) {
    if (path.rfind(prefix, 0) == 0) {
      path = path.substr(prefix.size());
      if (!path.empty() && path[0] == '.') path = path.substr(1);
      break;
    }
  }
  static const std::regex modulesKey(R"(\._modules\['([^']*)'\])"), quotedKey(R"(\['([^']*)'\])"),
      index(R"(\[(\d+)\])");
  path = std::regex_replace(path, modulesKey, ".$1");
  path = std::regex_replace(path, quotedKey, ".$1");
  path = std::regex_replace(path, index, ".$1");
  if (!path.empty() && path[0] == '.') path = path.substr(1);
  return path;
}

struct OperatorName {
  std::string qualified;  // "aten::add"
  std::string overload;   // "Tensor"; "" for "default"
};

// "torch.ops.aten.add.Tensor" -> {"aten::add", "Tensor"}; nullopt for other targets.
std::optional<OperatorName> atenName(const std::string& target) {
  const std::string prefix = "torch.ops.";
  if (target.rfind(prefix, 0) != 0) return std::nullopt;
  const std::string rest = target.substr(prefix.size());
  const auto first = rest.find('.');
  const auto last = rest.rfind('.');
  if (first == std::string::npos || first == last) return std::nullopt;
  OperatorName name{rest.substr(0, first) + "::" + rest.substr(first + 1, last - first - 1), rest.substr(last + 1)};
  if (name.overload == "default") name.overload.clear();
  return name;
}

// Calls that carry no data: checks torch.export inserts for its own guards.
bool isRuntimeCheck(const std::string& qualified) {
  static const std::set<std::string> checks = {"aten::_assert_tensor_metadata", "aten::_assert_scalar",
                                               "aten::_assert_async", "aten::sym_constrain_range",
                                               "aten::sym_constrain_range_for_size", "aten::_functional_assert_async"};
  return checks.count(qualified) != 0;
}

// Calls whose result is their first input in an eval-mode inference graph (clone is not
// one: it makes its result contiguous, and a view after it relies on that).
bool isPassThrough(const std::string& qualified) {
  static const std::set<std::string> same = {"aten::dropout", "aten::alias", "aten::detach", "aten::detach_",
                                             "aten::lift_fresh_copy", "aten::feature_dropout"};
  return same.count(qualified) != 0;
}

// Python operators on SymInts, SymFloats and SymBools (dynamic shapes) -> the TorchScript
// scalar ops of that name; the overload follows the arguments' kinds (scalarOverload).
std::optional<std::string> symbolicOp(const std::string& target) {
  static const std::map<std::string, std::string> ops = {
      {"_operator.add", "aten::add"},       {"_operator.sub", "aten::sub"},
      {"_operator.mul", "aten::mul"},       {"_operator.floordiv", "aten::floordiv"},
      {"_operator.mod", "aten::remainder"}, {"_operator.truediv", "aten::div"},
      {"_operator.pow", "aten::pow"},       {"_operator.neg", "aten::neg"},
      {"_operator.eq", "aten::eq"},         {"_operator.ne", "aten::ne"},
      {"_operator.lt", "aten::lt"},         {"_operator.le", "aten::le"},
      {"_operator.gt", "aten::gt"},         {"_operator.ge", "aten::ge"},
      {"torch.sym_max", "prim::max"},       {"torch.sym_min", "prim::min"},
      {"torch.sym_not", "aten::__not__"},   {"torch.sym_float", "aten::Float"},
      {"torch.sym_int", "aten::Int"},       {"math.trunc", "aten::Int"}};
  auto it = ops.find(target);
  if (it == ops.end()) return std::nullopt;
  return it->second;
}

// 'i', 'f' or 'b' for an int, float or bool argument or result, symbolic or not; 0 else.
char scalarKind(const serde::Argument& arg) {
  using Tag = serde::Argument::Tag;
  switch (arg.tag()) {
    case Tag::AS_INT: case Tag::AS_SYM_INT: return 'i';
    case Tag::AS_FLOAT: case Tag::AS_SYM_FLOAT: return 'f';
    case Tag::AS_BOOL: case Tag::AS_SYM_BOOL: return 'b';
    default: return 0;
  }
}

char scalarKind(const c10::TypePtr& type) {
  switch (type->kind()) {
    case c10::TypeKind::IntType: case c10::TypeKind::SymIntType: return 'i';
    case c10::TypeKind::FloatType: case c10::TypeKind::SymFloatType: return 'f';
    case c10::TypeKind::BoolType: case c10::TypeKind::SymBoolType: return 'b';
    default: return 0;
  }
}

bool isNumber(const serde::Argument& arg) {
  using Tag = serde::Argument::Tag;
  return arg.tag() == Tag::AS_INT || arg.tag() == Tag::AS_FLOAT || arg.tag() == Tag::AS_BOOL;
}

bool isTensorLike(const serde::Argument& arg) {
  using Tag = serde::Argument::Tag;
  return arg.tag() == Tag::AS_TENSOR || arg.tag() == Tag::AS_OPTIONAL_TENSOR;
}

// Whether a serialized argument can be passed where the schema wants `type`.
bool accepts(const c10::TypePtr& type, const serde::Argument& arg) {
  c10::TypePtr want = type;
  if (auto optional = want->cast<c10::OptionalType>()) {
    if (arg.tag() == serde::Argument::Tag::AS_NONE) return true;
    want = optional->getElementType();
  }
  const bool tensor = want->kind() == c10::TypeKind::TensorType;
  if (tensor) return isTensorLike(arg);
  if (isTensorLike(arg)) return false;
  if (isNumber(arg)) {
    const auto kind = want->kind();
    return kind == c10::TypeKind::IntType || kind == c10::TypeKind::FloatType || kind == c10::TypeKind::NumberType ||
           kind == c10::TypeKind::BoolType || kind == c10::TypeKind::SymIntType || kind == c10::TypeKind::SymFloatType ||
           kind == c10::TypeKind::SymBoolType;
  }
  return true;
}

c10::TypePtr jitType(const c10::TypePtr& type) {
  if (type->kind() == c10::TypeKind::SymIntType) return c10::IntType::get();
  if (type->kind() == c10::TypeKind::SymFloatType) return c10::FloatType::get();
  if (type->kind() == c10::TypeKind::SymBoolType) return c10::BoolType::get();
  if (auto list = type->cast<c10::ListType>()) return c10::ListType::create(jitType(list->getElementType()));
  return type;
}

std::vector<int64_t> concreteSizes(const std::vector<serde::SymInt>& sizes, const std::string& what) {
  std::vector<int64_t> out;
  for (const auto& s : sizes) {
    if (s.tag() != serde::SymInt::Tag::AS_INT) throw UserError(what + " has a symbolic size");
    out.push_back(s.get_as_int());
  }
  return out;
}

// Whether a strided view (sizes, strides, offset: all from the file) stays inside a
// storage of `elements` elements; negative values and overflowing products are not.
bool withinStorage(const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides, int64_t offset,
                   int64_t elements) {
  if (offset < 0) return false;
  if (std::find(sizes.begin(), sizes.end(), 0) != sizes.end()) return true;  // no element is read
  int64_t last = offset;  // index of the last element the view reads
  for (size_t d = 0; d < sizes.size(); ++d) {
    int64_t step = 0;
    if (sizes[d] < 0 || strides[d] < 0 || __builtin_mul_overflow(sizes[d] - 1, strides[d], &step) ||
        __builtin_add_overflow(last, step, &last))
      return false;
  }
  return last < elements;
}

std::string nodeName(const serde::Node& node) {
  return node.get_name() ? *node.get_name() : node.get_target();
}

// "node 'matmul' (torch.ops.aten.matmul.default, at model.py:12)": a node for a message.
std::string describeNode(const serde::Node& node) {
  std::string text = "node '" + nodeName(node) + "' (" + node.get_target();
  auto trace = node.get_metadata().find("stack_trace");
  if (trace != node.get_metadata().end())
    if (auto frame = lastFrame(trace->second)) text += ", at " + frame->first + ":" + std::to_string(frame->second);
  return text + ")";
}

bool isFloating(at::ScalarType type) { return at::isFloatingType(type); }

// The names of the tensors an argument passes (one, a list, none).
std::vector<std::string> tensorNames(const serde::Argument& arg) {
  using Tag = serde::Argument::Tag;
  std::vector<std::string> names;
  if (arg.tag() == Tag::AS_TENSOR) names.push_back(arg.get_as_tensor().get_name());
  if (arg.tag() == Tag::AS_OPTIONAL_TENSOR &&
      arg.get_as_optional_tensor().tag() == serde::OptionalTensorArgument::Tag::AS_TENSOR)
    names.push_back(arg.get_as_optional_tensor().get_as_tensor().get_name());
  if (arg.tag() == Tag::AS_TENSORS)
    for (const auto& t : arg.get_as_tensors()) names.push_back(t.get_name());
  if (arg.tag() == Tag::AS_OPTIONAL_TENSORS)
    for (const auto& t : arg.get_as_optional_tensors())
      if (t.tag() == serde::OptionalTensorArgument::Tag::AS_TENSOR) names.push_back(t.get_as_tensor().get_name());
  return names;
}

// The name a result or a graph input binds: a tensor's, a symbolic number's; nullopt else.
std::optional<std::string> boundName(const serde::Argument& arg) {
  using Tag = serde::Argument::Tag;
  switch (arg.tag()) {
    case Tag::AS_TENSOR: return arg.get_as_tensor().get_name();
    case Tag::AS_SYM_INT:
      if (arg.get_as_sym_int().tag() == serde::SymIntArgument::Tag::AS_NAME) return arg.get_as_sym_int().get_as_name();
      break;
    case Tag::AS_SYM_FLOAT:
      if (arg.get_as_sym_float().tag() == serde::SymFloatArgument::Tag::AS_NAME)
        return arg.get_as_sym_float().get_as_name();
      break;
    case Tag::AS_SYM_BOOL:
      if (arg.get_as_sym_bool().tag() == serde::SymBoolArgument::Tag::AS_NAME) return arg.get_as_sym_bool().get_as_name();
      break;
    default: break;
  }
  return std::nullopt;
}

// The state of torch.autocast for one device type inside the regions being inlined.
struct AutocastState {
  bool enabled = false;
  at::ScalarType dtype = at::kBFloat16;
  std::string region;  // the innermost region that set it ("submod_3"), for messages
};

class Loader {
 public:
  explicit Loader(const std::string& path) : path_(path), reader_(path) {}

  TorchExportModel load() {
    const std::string modelRecord = findModelRecord();
    const std::string modelName = modelRecord.substr(7, modelRecord.size() - 7 - 5);
    program_ = parseRecord<serde::ExportedProgram>(modelRecord);
    const auto& version = program_.get_schema_version();
    result_.schemaVersion = std::to_string(version.get_major()) + "." + std::to_string(version.get_minor());
    result_.torchVersion = program_.get_torch_version();
    if (version.get_major() != kTorchExportSchemaMajor)
      throw UserError(path_ + ": torch.export schema version " + result_.schemaVersion + " is not supported (this " +
                      "modelexport reads version " + std::to_string(kTorchExportSchemaMajor) + ".x, written by torch 2.x)");
    weights_ = optionalConfig("data/weights/" + modelName + "_weights_config.json");
    constants_ = optionalConfig("data/constants/" + modelName + "_constants_config.json");

    result_.prepared.graph = std::make_shared<Graph>();
    graph_ = result_.prepared.graph.get();
    graphMeta_ = &program_.get_graph_module().get_graph();
    addInputs();
    for (const auto& node : program_.get_graph_module().get_graph().get_nodes()) addNode(node);
    addOutputs();
    torch::jit::EliminateDeadCode(result_.prepared.graph);
    keepParameterPathsOfLiveValues();
    recordModuleFrames();
    noteSymbolicValues();
    return std::move(result_);
  }

 private:
  std::string findModelRecord() {
    std::vector<std::string> models;
    for (const auto& record : reader_.getAllRecords())
      if (isTorchExportProgramRecord(record)) models.push_back(record);
    if (models.empty())
      throw UserError(path_ + ": the zip archive is not a torch.export program (no models/*.json); " + kHowToMake);
    std::sort(models.begin(), models.end());
    for (const auto& m : models)
      if (m == "models/model.json") return m;
    return models.front();
  }

  std::string recordText(const std::string& name) {
    auto [data, size] = reader_.getRecord(name);
    return std::string(static_cast<const char*>(data.get()), size);
  }

  template <typename T>
  T parseRecord(const std::string& name) {
    try {
      return nlohmann::json::parse(recordText(name)).get<T>();
    } catch (const nlohmann::json::exception& e) {
      throw UserError(path_ + ": " + name + " is not a serialized torch.export program this modelexport reads: " +
                      firstLine(e.what()));
    }
  }

  std::unordered_map<std::string, serde::PayloadMeta> optionalConfig(const std::string& name) {
    if (!reader_.hasRecord(name)) return {};
    return parseRecord<serde::PayloadConfig>(name).get_config();
  }

  // A record's bytes as a 1-d tensor: the archive's mapped pages when the record is
  // stored uncompressed at an offset the dtype allows (torch.export.save writes records
  // so, 64-byte aligned), so nothing is copied and only what is read comes into memory;
  // a copy otherwise.
  at::Tensor recordTensor(const std::string& record, at::ScalarType dtype) {
    if (!file_) file_ = MappedFile::open(path_);
    const uint64_t header = reader_.getRecordHeaderOffset(record);
    const uint64_t size = reader_.getRecordSize(record);
    const unsigned char* local = file_->data() + header;
    const bool stored = header + 30 <= file_->size() && le32(local) == 0x04034b50 &&  // local file header
                        (local[8] | (local[9] << 8)) == 0;                           // method 0: stored
    if (stored) {
      const uint64_t offset = reader_.getRecordOffset(record);
      if (offset <= file_->size() && size <= file_->size() - offset && offset % c10::elementSize(dtype) == 0)
        return file_->tensor(offset, size, dtype);
    }
    auto [data, bytes] = reader_.getRecord(record);
    auto holder = std::make_shared<at::DataPtr>(std::move(data));
    const int64_t elements = static_cast<int64_t>(bytes / c10::elementSize(dtype));
    return at::from_blob(holder->get(), {elements}, [holder](void*) {}, at::TensorOptions().dtype(dtype));
  }

  static uint32_t le32(const unsigned char* p) {
    return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
           (static_cast<uint32_t>(p[3]) << 24);
  }

  // A weight or constant: the record's bytes are the tensor's storage.
  at::Tensor payload(const std::string& key) {
    const serde::PayloadMeta* meta = nullptr;
    std::string dir;
    if (auto it = weights_.find(key); it != weights_.end()) meta = &it->second, dir = "data/weights/";
    else if (auto c = constants_.find(key); c != constants_.end()) meta = &c->second, dir = "data/constants/";
    if (!meta) throw UserError(path_ + ": weight or constant '" + key + "' is not in the archive");
    if (meta->get_use_pickle() || !meta->get_tensor_meta())
      throw UserError(path_ + ": '" + key + "' is stored pickled, which this modelexport does not read");
    const serde::TensorMeta& tm = *meta->get_tensor_meta();
    const at::ScalarType dtype = scalarTypeOf(tm.get_dtype());
    const auto sizes = concreteSizes(tm.get_sizes(), "'" + key + "'");
    const auto strides = concreteSizes(tm.get_strides(), "'" + key + "'");
    const int64_t offset = tm.get_storage_offset().tag() == serde::SymInt::Tag::AS_INT
                               ? tm.get_storage_offset().get_as_int() : 0;
    auto cached = storages_.find(dir + meta->get_path_name());
    if (cached == storages_.end()) {
      at::Tensor storage = recordTensor(dir + meta->get_path_name(), dtype);
      cached = storages_.emplace(dir + meta->get_path_name(), storage).first;
      result_.weightBytes += storage.nbytes();
    }
    at::Tensor storage = cached->second;
    if (storage.scalar_type() != dtype) storage = storage.view(dtype);
    if (strides.size() != sizes.size())
      throw UserError(path_ + ": '" + key + "' has " + std::to_string(sizes.size()) + " sizes but " +
                      std::to_string(strides.size()) + " strides");
    if (!withinStorage(sizes, strides, offset, storage.numel()))
      throw UserError(path_ + ": '" + key + "' is shorter in the archive than its sizes say");
    return storage.as_strided(sizes, strides, offset);
  }

  Value* constant(const c10::IValue& value) { return graph_->insertConstant(value); }

  void addInputs() {
    using Tag = serde::InputSpec::Tag;
    const auto& meta = program_.get_graph_module().get_graph().get_tensor_values();
    std::map<std::string, int64_t> symbolSizes;
    for (const auto& spec : program_.get_graph_module().get_signature().get_input_specs()) {
      switch (spec.tag()) {
        case Tag::PARAMETER: {
          const auto& p = spec.get_parameter();
          bind(p.get_arg().get_name(), p.get_parameter_name());
          break;
        }
        case Tag::BUFFER: {
          const auto& b = spec.get_buffer();
          bind(b.get_arg().get_name(), b.get_buffer_name());
          break;
        }
        case Tag::TENSOR_CONSTANT: {
          const auto& c = spec.get_tensor_constant();
          bind(c.get_arg().get_name(), c.get_tensor_constant_name());
          break;
        }
        case Tag::USER_INPUT: {
          const auto& arg = spec.get_user_input().get_arg();
          if (arg.tag() != serde::Argument::Tag::AS_TENSOR)
            throw UserError(path_ + ": a user input that is not a tensor is not supported");
          const std::string name = arg.get_as_tensor().get_name();
          auto it = meta.find(name);
          if (it == meta.end()) throw UserError(path_ + ": input '" + name + "' has no tensor metadata");
          InputSpec input;
          input.name = name;
          input.dtype = scalarTypeOf(it->second.get_dtype());
          const auto& sizes = it->second.get_sizes();
          for (size_t d = 0; d < sizes.size(); ++d) {
            if (sizes[d].tag() == serde::SymInt::Tag::AS_INT) {
              input.shape.push_back(sizes[d].get_as_int());
              continue;
            }
            const auto& expr = sizes[d].get_as_expr();
            // "s0", or sympy's repr "Symbol('s77', positive=True, integer=True)".
            std::string symbol = expr.get_expr_str();
            std::smatch named;
            if (std::regex_match(symbol, named, std::regex(R"(Symbol\('([A-Za-z_][A-Za-z0-9_]*)'.*\))")))
              symbol = named[1];
            if (!std::regex_match(symbol, std::regex(R"([A-Za-z_][A-Za-z0-9_]*)")))
              throw UserError(path_ + ": input '" + name + "' dim " + std::to_string(d) + " is '" + symbol +
                              "'; only plain symbolic dims are supported");
            int64_t size = 2;
            if (expr.get_hint() && expr.get_hint()->tag() == serde::SymExprHint::Tag::AS_INT)
              size = expr.get_hint()->get_as_int();
            size = symbolSizes.emplace(symbol, size).first->second;
            input.shape.push_back(size);
            result_.symbolicDims[name][static_cast<int64_t>(d)] = symbol;
          }
          Value* v = graph_->addInput(name);
          v->setType(c10::TensorType::get());
          values_[name] = v;
          result_.prepared.inputNames.push_back(name);
          result_.inputs.push_back(input);
          break;
        }
        case Tag::CONSTANT_INPUT: {
          // A keyword argument given a constant (use_cache=False): torch.export traced the
          // forward with that value; nodes that read it read the constant.
          const auto& c = spec.get_constant_input();
          using CTag = serde::ConstantValue::Tag;
          const auto& v = c.get_value();
          c10::IValue value;
          if (v.tag() == CTag::AS_INT) value = v.get_as_int();
          else if (v.tag() == CTag::AS_FLOAT) value = v.get_as_float().get();
          else if (v.tag() == CTag::AS_STRING) value = v.get_as_string();
          else if (v.tag() == CTag::AS_BOOL) value = v.get_as_bool();
          values_[c.get_name()] = constant(value);
          break;
        }
        default:
          throw UserError(path_ + ": inputs of kind " + std::to_string(static_cast<int>(spec.tag())) +
                          " (custom objects, tokens, constant inputs) are not supported");
      }
    }
  }

  void bind(const std::string& name, const std::string& key) {
    Value* v = constant(payload(key));
    v->setDebugName(sanitized(name));
    values_[name] = v;
    parameterPaths_[v->unique()] = key;
  }

  static std::string sanitized(const std::string& name) {
    // TorchScript reserves names ending in .N; torch.export's names never do, but keep clear.
    std::string out = name;
    for (char& c : out)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
    if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0]))) out = "v_" + out;
    return out;
  }

  Value* tensorNamed(const std::string& name) {
    auto it = values_.find(name);
    if (it == values_.end()) throw UserError(path_ + ": the graph uses '" + name + "' before it is defined");
    return it->second;
  }

  Value* symIntValue(const serde::SymIntArgument& arg) {
    if (arg.tag() == serde::SymIntArgument::Tag::AS_INT) return constant(arg.get_as_int());
    return tensorNamed(arg.get_as_name());
  }

  Value* valueOf(const serde::Argument& arg, const c10::TypePtr& want) {
    using Tag = serde::Argument::Tag;
    c10::TypePtr element = want;
    if (auto optional = want->cast<c10::OptionalType>()) element = optional->getElementType();
    switch (arg.tag()) {
      case Tag::AS_NONE: return constant(c10::IValue());
      case Tag::AS_TENSOR: return tensorNamed(arg.get_as_tensor().get_name());
      case Tag::AS_OPTIONAL_TENSOR:
        if (arg.get_as_optional_tensor().tag() == serde::OptionalTensorArgument::Tag::AS_NONE) return constant(c10::IValue());
        return tensorNamed(arg.get_as_optional_tensor().get_as_tensor().get_name());
      case Tag::AS_TENSORS: {
        std::vector<Value*> items;
        for (const auto& t : arg.get_as_tensors()) items.push_back(tensorNamed(t.get_name()));
        return graph_->insertNode(graph_->createList(c10::TensorType::get(), items))->output();
      }
      case Tag::AS_OPTIONAL_TENSORS: {
        std::vector<Value*> items;
        for (const auto& t : arg.get_as_optional_tensors())
          items.push_back(t.tag() == serde::OptionalTensorArgument::Tag::AS_NONE ? constant(c10::IValue())
                                                                               : tensorNamed(t.get_as_tensor().get_name()));
        return graph_->insertNode(graph_->createList(c10::OptionalType::create(c10::TensorType::get()), items))->output();
      }
      case Tag::AS_INT:
        if (element->kind() == c10::TypeKind::TensorType) return constant(at::scalar_tensor(arg.get_as_int(), at::kLong));
        return constant(arg.get_as_int());
      case Tag::AS_FLOAT:
        if (element->kind() == c10::TypeKind::TensorType)
          return constant(at::scalar_tensor(arg.get_as_float().get(), at::kDouble));
        return constant(arg.get_as_float().get());
      case Tag::AS_BOOL: return constant(arg.get_as_bool());
      case Tag::AS_STRING: return constant(arg.get_as_string());
      case Tag::AS_INTS: return constant(arg.get_as_ints());
      case Tag::AS_FLOATS: {
        std::vector<double> floats;
        for (const auto& f : arg.get_as_floats()) floats.push_back(f.get());
        return constant(floats);
      }
      case Tag::AS_BOOLS: {
        c10::List<bool> bools;
        for (bool b : arg.get_as_bools()) bools.push_back(b);
        return constant(bools);
      }
      case Tag::AS_STRINGS: return constant(arg.get_as_strings());
      case Tag::AS_SCALAR_TYPE: return constant(static_cast<int64_t>(scalarTypeOf(arg.get_as_scalar_type())));
      case Tag::AS_LAYOUT: return constant(layoutOf(arg.get_as_layout()));
      case Tag::AS_MEMORY_FORMAT: return constant(memoryFormatOf(arg.get_as_memory_format()));
      case Tag::AS_DEVICE: {
        const auto& d = arg.get_as_device();
        return constant(c10::Device(d.get_type() + (d.get_index() ? ":" + std::to_string(*d.get_index()) : "")));
      }
      case Tag::AS_SYM_INT: return symIntValue(arg.get_as_sym_int());
      case Tag::AS_SYM_FLOAT: {
        const auto& s = arg.get_as_sym_float();
        if (s.tag() == serde::SymFloatArgument::Tag::AS_FLOAT) return constant(s.get_as_float().get());
        return tensorNamed(s.get_as_name());
      }
      case Tag::AS_SYM_BOOL: {
        const auto& s = arg.get_as_sym_bool();
        if (s.tag() == serde::SymBoolArgument::Tag::AS_BOOL) return constant(s.get_as_bool());
        return tensorNamed(s.get_as_name());
      }
      case Tag::AS_SYM_INTS: {
        std::vector<Value*> items;
        bool allConstant = true;
        std::vector<int64_t> ints;
        for (const auto& s : arg.get_as_sym_ints()) {
          allConstant = allConstant && s.tag() == serde::SymIntArgument::Tag::AS_INT;
          if (allConstant) ints.push_back(s.get_as_int());
        }
        if (allConstant) return constant(ints);
        for (const auto& s : arg.get_as_sym_ints()) items.push_back(symIntValue(s));
        return graph_->insertNode(graph_->createList(c10::IntType::get(), items))->output();
      }
      default: break;
    }
    throw UserError("argument kind " + std::to_string(static_cast<int>(arg.tag())) + " is not supported");
  }

  // The overload whose schema takes these arguments: the named one first; a number given
  // for a Tensor parameter (add.Tensor(x, 1)) picks the Scalar overload TorchScript uses.
  std::shared_ptr<torch::jit::Operator> findOperator(const OperatorName& name,
                                                     const std::map<std::string, const serde::Argument*>& given) {
    const auto candidates = torch::jit::getAllOperatorsFor(c10::Symbol::fromQualString(name.qualified));
    std::shared_ptr<torch::jit::Operator> named;
    for (const auto& op : candidates)
      if (op->schema().overload_name() == name.overload) named = op;
    auto fits = [&](const c10::FunctionSchema& schema) {
      size_t matched = 0;
      for (const auto& a : schema.arguments()) {
        auto it = given.find(a.name());
        if (it == given.end()) {
          if (!a.default_value()) return false;
          continue;
        }
        if (!accepts(a.type(), *it->second)) return false;
        ++matched;
      }
      return matched == given.size();
    };
    if (named && fits(named->schema())) return named;
    for (const auto& op : candidates)
      if (fits(op->schema())) return op;
    return named;
  }

  // The overload of a Python operator on numbers for its arguments' kinds, and its
  // result's where two differ only there (pow.int_to_int, pow.int): add.int for two ints,
  // add.float_int for a float and an int.
  static std::shared_ptr<torch::jit::Operator> scalarOverload(const std::string& qualified,
                                                              const std::vector<const serde::Argument*>& args,
                                                              const std::vector<serde::Argument>& outputs) {
    std::shared_ptr<torch::jit::Operator> found;
    for (const auto& op : torch::jit::getAllOperatorsFor(c10::Symbol::fromQualString(qualified))) {
      const c10::FunctionSchema& schema = op->schema();
      if (schema.arguments().size() != args.size() || schema.returns().size() != 1) continue;
      bool fits = true;
      for (size_t i = 0; i < args.size(); ++i)
        fits = fits && scalarKind(*args[i]) != 0 && scalarKind(*args[i]) == scalarKind(schema.arguments()[i].type());
      if (!fits) continue;
      if (outputs.size() == 1 && scalarKind(outputs[0]) == scalarKind(schema.returns()[0].type())) return op;
      if (!found) found = op;
    }
    return found;
  }

  // wrap_with_set_grad_enabled(enabled, body, *args) and wrap_with_autocast(device_type,
  // dtype, enabled, cache_enabled, body, *args): torch.export's calls of a region of the
  // forward run under torch.no_grad()/set_grad_enabled or torch.autocast. Gradients do not
  // change what inference computes: such a region is its body. An autocast region is its
  // body with the casts autocast makes (castForAutocast); disabled, or for another device
  // than the tensors', it makes none.
  void inlineRegion(const serde::Node& node) {
    const std::string& target = node.get_target();
    const auto& inputs = node.get_inputs();
    size_t graphAt = 0;
    while (graphAt < inputs.size() && inputs[graphAt].get_arg().tag() != serde::Argument::Tag::AS_GRAPH) ++graphAt;
    const bool autocast = target == "torch.ops.higher_order.wrap_with_autocast";
    if (graphAt == inputs.size() || graphAt != (autocast ? 4u : 1u))
      throw UserError(path_ + ": node '" + nodeName(node) + "' (" + target + ") has an unexpected form");
    const serde::GraphArgument& region = inputs[graphAt].get_arg().get_as_graph();
    const serde::Graph& body = *region.get_graph();

    std::vector<Value*> args;
    for (size_t i = graphAt + 1; i < inputs.size(); ++i) args.push_back(valueOf(inputs[i].get_arg(), c10::AnyType::get()));
    if (args.size() != body.get_inputs().size())
      throw UserError(path_ + ": node '" + nodeName(node) + "' (" + target + ") passes " + std::to_string(args.size()) +
                      " values to a region that takes " + std::to_string(body.get_inputs().size()));
    std::unordered_map<std::string, Value*> scope;
    for (size_t i = 0; i < args.size(); ++i)
      if (auto name = boundName(body.get_inputs()[i])) scope[*name] = args[i];

    const auto outerAutocast = autocast_;
    if (autocast) {
      const auto& device = inputs[0].get_arg();
      const auto& dtype = inputs[1].get_arg();
      const auto& enabled = inputs[2].get_arg();
      using Tag = serde::Argument::Tag;
      if ((device.tag() != Tag::AS_STRING && device.tag() != Tag::AS_NONE) ||
          (dtype.tag() != Tag::AS_SCALAR_TYPE && dtype.tag() != Tag::AS_NONE) || enabled.tag() != Tag::AS_BOOL)
        throw UserError(path_ + ": node '" + nodeName(node) + "' (" + target + ") has an unexpected form");
      const std::string deviceType = device.tag() == Tag::AS_STRING ? device.get_as_string() : "cpu";
      AutocastState& state = autocast_[deviceType];
      state.enabled = enabled.get_as_bool();
      // torch.autocast's default dtype: bfloat16 on the CPU, float16 on the GPUs.
      state.dtype = dtype.tag() == Tag::AS_SCALAR_TYPE ? scalarTypeOf(dtype.get_as_scalar_type())
                                                       : (deviceType == "cpu" ? at::kBFloat16 : at::kHalf);
      state.region = region.get_name();
    }
    const serde::Graph* outerGraph = graphMeta_;
    std::swap(values_, scope);
    graphMeta_ = &body;
    for (const auto& inner : body.get_nodes()) addNode(inner);
    std::vector<Value*> results;
    for (const auto& out : body.get_outputs()) results.push_back(valueOf(out, c10::AnyType::get()));
    std::swap(values_, scope);
    graphMeta_ = outerGraph;
    autocast_ = outerAutocast;
    inlinedScopes_.emplace_back(&body, std::move(scope));

    const auto& outputs = node.get_outputs();
    std::vector<const serde::Argument*> bound;
    if (outputs.size() == 1 && outputs[0].tag() == serde::Argument::Tag::AS_TENSORS) {
      for (const auto& t : outputs[0].get_as_tensors()) {
        if (bound.size() < results.size()) values_[t.get_name()] = results[bound.size()];
        bound.push_back(&outputs[0]);
      }
    } else {
      for (const auto& out : outputs) {
        if (bound.size() < results.size())
          if (auto name = boundName(out)) values_[*name] = results[bound.size()];
        bound.push_back(&out);
      }
    }
    if (bound.size() != results.size())
      throw UserError(path_ + ": node '" + nodeName(node) + "' (" + target + ") has " + std::to_string(bound.size()) +
                      " results where its region returns " + std::to_string(results.size()));
  }

  const serde::TensorMeta* tensorMeta(const std::string& name) const {
    const auto& meta = graphMeta_->get_tensor_values();
    auto it = meta.find(name);
    return it == meta.end() ? nullptr : &it->second;
  }

  // Under an enabled autocast region: the node's tensor arguments cast as LibTorch's
  // AutocastCPU kernel of its op casts them (floating tensors but float64, on the region's
  // device); the casts go to `made`. Returns the names whose values this node reads cast,
  // with the values to put back after.
  std::vector<std::pair<std::string, Value*>> castForAutocast(const serde::Node& node, const OperatorName& name,
                                                              std::vector<Node*>& made) {
    std::vector<std::pair<std::string, Value*>> replaced;
    castDtypes_.clear();
    std::vector<std::string> names;
    for (const auto& input : node.get_inputs())
      for (auto& n : tensorNames(input.get_arg())) names.push_back(n);
    const std::string where = path_ + ": " + describeNode(node) + " in the autocast region '";
    for (const auto& [device, state] : autocast_) {
      if (!state.enabled) continue;
      std::vector<std::pair<std::string, at::ScalarType>> eligible;
      for (const auto& n : names) {
        const serde::TensorMeta* meta = tensorMeta(n);
        if (!meta) throw UserError(where + state.region + "': tensor '" + n + "' has no metadata to cast it by");
        const at::ScalarType type = scalarTypeOf(meta->get_dtype());
        if (meta->get_device().get_type() == device && isFloating(type) && type != at::kDouble)
          eligible.emplace_back(n, type);
      }
      if (eligible.empty()) continue;
      if (device != "cpu")
        throw UserError(where + state.region + "': autocast on '" + device + "' is not supported (only the CPU's)");
      const auto cast = cpuAutocastCast(c10::OperatorName(name.qualified, name.overload));
      if (!cast)
        throw UserError(where + state.region + "': LibTorch's CPU autocast casts this op's arguments in a way this " +
                        "modelexport does not know");
      if (*cast == AutocastCast::kNone) continue;
      at::ScalarType to = *cast == AutocastCast::kFloat32 ? at::kFloat : state.dtype;
      if (*cast == AutocastCast::kWidest)
        for (const auto& [n, type] : eligible) {
          if (type == at::kFloat) to = at::kFloat;
          else if (type != state.dtype)
            throw UserError(where + state.region + "': autocast cannot promote " + std::string(dtypeName(type)) + " with " +
                            dtypeName(state.dtype));
        }
      for (const auto& [n, type] : eligible) {
        if (type == to || std::any_of(replaced.begin(), replaced.end(), [&](const auto& r) { return r.first == n; }))
          continue;
        Value* original = tensorNamed(n);
        Node* castNode = graph_->insertNode(graph_->create(
            c10::Symbol::fromQualString("aten::to"),
            {original, constant(static_cast<int64_t>(to)), constant(false), constant(false), constant(c10::IValue())}, 1));
        castNode->output()->setType(c10::TensorType::get());
        made.push_back(castNode);
        replaced.emplace_back(n, original);
        values_[n] = castNode->output();
        castDtypes_[n] = to;
      }
    }
    return replaced;
  }

  // Under an enabled CPU autocast region, a floating result whose recorded dtype none of
  // the node's (cast) floating tensor arguments has, and no dtype argument gives, was cast
  // by an autocast this modelexport does not reproduce (a newer torch's list): refused,
  // not written wrong.
  void checkAutocastResult(const serde::Node& node) {
    bool enabled = false;
    std::string region;
    for (const auto& [device, state] : autocast_)
      if (state.enabled) enabled = true, region = state.region;
    if (!enabled) return;
    std::set<at::ScalarType> given;
    for (const auto& input : node.get_inputs()) {
      if (input.get_arg().tag() == serde::Argument::Tag::AS_SCALAR_TYPE) return;
      for (const auto& n : tensorNames(input.get_arg())) {
        auto cast = castDtypes_.find(n);
        const serde::TensorMeta* meta = tensorMeta(n);
        if (cast != castDtypes_.end()) given.insert(cast->second);
        else if (meta) given.insert(scalarTypeOf(meta->get_dtype()));
      }
    }
    std::set<at::ScalarType> floating;
    for (auto type : given)
      if (isFloating(type)) floating.insert(type);
    if (floating.empty()) return;
    for (const auto& out : node.get_outputs()) {
      if (out.tag() != serde::Argument::Tag::AS_TENSOR) continue;
      const serde::TensorMeta* meta = tensorMeta(out.get_as_tensor().get_name());
      if (!meta) continue;
      const at::ScalarType type = scalarTypeOf(meta->get_dtype());
      if (isFloating(type) && !floating.count(type))
        throw UserError(path_ + ": " + describeNode(node) + " in the autocast region '" + region + "' gave " +
                        dtypeName(type) + " where its arguments are " + dtypeName(*floating.begin()) +
                        ": autocast cast inside the op, which this modelexport does not reproduce (export the " +
                        "model without torch.autocast around this op)");
    }
  }

  // x.T (numpy_T: every dim reversed; Falcon's x @ weight.T) as the permute it is, by the
  // rank torch.export recorded.
  serde::Node numpyTAsPermute(const serde::Node& node) const {
    const auto& inputs = node.get_inputs();
    const serde::TensorMeta* meta =
        inputs.size() == 1 && inputs[0].get_arg().tag() == serde::Argument::Tag::AS_TENSOR
            ? tensorMeta(inputs[0].get_arg().get_as_tensor().get_name()) : nullptr;
    if (!meta) throw UserError(path_ + ": node '" + nodeName(node) + "' (" + node.get_target() + ") has an unexpected form");
    std::vector<int64_t> dims(meta->get_sizes().size());
    for (size_t d = 0; d < dims.size(); ++d) dims[d] = static_cast<int64_t>(dims.size() - 1 - d);
    serde::Argument reversed;
    reversed.set_as_ints(dims);
    serde::NamedArgument dimsArg;
    dimsArg.set_name(std::string("dims"));
    dimsArg.set_arg(reversed);
    serde::Node permute = node;
    auto withDims = inputs;
    withDims.push_back(dimsArg);
    permute.set_target(std::string("torch.ops.aten.permute.default"));
    permute.set_inputs(withDims);
    return permute;
  }

  void addNode(const serde::Node& node) {
    const std::string& target = node.get_target();
    if (target == "torch.ops.higher_order.wrap_with_set_grad_enabled" ||
        target == "torch.ops.higher_order.wrap_with_autocast")
      return inlineRegion(node);
    if (target == "torch.ops.aten.numpy_T.default") return addNode(numpyTAsPermute(node));
    const std::optional<std::string> symbolic = symbolicOp(target);
    std::optional<OperatorName> name;
    if (symbolic) name = OperatorName{*symbolic, ""};
    else if (target == "torch.ops.aten.sym_size.int") name = OperatorName{"aten::size", "int"};
    else name = atenName(target);
    if (!name) {
      // vmap regions, cond/while_loop and other higher-order calls: what a program holds
      // before run_decompositions lowers them to ATen calls.
      const bool lowerable = target.rfind("torch._functorch.", 0) == 0 || target.rfind("torch.ops.higher_order.", 0) == 0;
      throw UserError(path_ + ": node '" + nodeName(node) + "' calls " + target + ", which is not supported" +
                      (lowerable ? " (save program.run_decompositions({}) instead: it lowers such calls to ATen ops)" : ""));
    }
    if (isRuntimeCheck(name->qualified)) return;

    std::map<std::string, const serde::Argument*> given;
    std::vector<const serde::Argument*> positional;
    for (const auto& input : node.get_inputs()) {
      given[input.get_name()] = &input.get_arg();
      positional.push_back(&input.get_arg());
    }
    const auto& outputs = node.get_outputs();
    if (isPassThrough(name->qualified)) {
      if (positional.empty() || outputs.size() != 1 || outputs[0].tag() != serde::Argument::Tag::AS_TENSOR ||
          !isTensorLike(*positional[0]))
        throw UserError(path_ + ": node '" + nodeName(node) + "' (" + target + ") has an unexpected form");
      values_[outputs[0].get_as_tensor().get_name()] = valueOf(*positional[0], c10::TensorType::get());
      recordFrames(node);  // a Dropout ran in its module though no node is made of it
      return;
    }

    // Python operators name their arguments "a", "b"... by position: match by position.
    const bool byPosition = symbolic.has_value();
    auto op = byPosition ? scalarOverload(name->qualified, positional, outputs) : findOperator(*name, given);
    if (!op) throw UserError(path_ + ": node '" + nodeName(node) + "' calls " + target + ", which LibTorch does not know");
    const c10::FunctionSchema& schema = op->schema();
    std::vector<Node*> casts;
    const auto replaced = castForAutocast(node, *name, casts);
    std::vector<Value*> inputs;
    for (size_t i = 0; i < schema.arguments().size(); ++i) {
      const auto& a = schema.arguments()[i];
      const serde::Argument* arg = nullptr;
      if (byPosition) {
        if (i < positional.size()) arg = positional[i];
      } else if (auto it = given.find(a.name()); it != given.end()) {
        arg = it->second;
      }
      try {
        if (arg) inputs.push_back(valueOf(*arg, a.type()));
        else if (a.default_value()) inputs.push_back(constant(*a.default_value()));
        else throw UserError("argument '" + a.name() + "' is missing");
      } catch (const UserError& e) {
        throw UserError(path_ + ": node '" + nodeName(node) + "' (" + target + "): " + e.what());
      }
    }

    Node* created = graph_->insertNode(graph_->create(c10::Symbol::fromQualString(name->qualified), inputs,
                                                      schema.returns().size()));
    for (size_t i = 0; i < schema.returns().size(); ++i) created->output(i)->setType(jitType(schema.returns()[i].type()));
    for (const auto& [n, original] : replaced) values_[n] = original;
    checkAutocastResult(node);
    std::vector<Node*> made{created};
    made.insert(made.end(), casts.begin(), casts.end());
    auto bindOutput = [&](const serde::Argument& out, Value* value) {
      using Tag = serde::Argument::Tag;
      if (out.tag() == Tag::AS_TENSOR) {
        value->setDebugName(sanitized(out.get_as_tensor().get_name()));
        values_[out.get_as_tensor().get_name()] = value;
      } else if (out.tag() == Tag::AS_SYM_INT && out.get_as_sym_int().tag() == serde::SymIntArgument::Tag::AS_NAME) {
        values_[out.get_as_sym_int().get_as_name()] = value;
      } else if (out.tag() == Tag::AS_SYM_FLOAT &&
                 out.get_as_sym_float().tag() == serde::SymFloatArgument::Tag::AS_NAME) {
        values_[out.get_as_sym_float().get_as_name()] = value;
      } else if (out.tag() == Tag::AS_SYM_BOOL && out.get_as_sym_bool().tag() == serde::SymBoolArgument::Tag::AS_NAME) {
        values_[out.get_as_sym_bool().get_as_name()] = value;
      } else if (out.tag() == Tag::AS_TENSORS) {
        // One Tensor[] result: unpacked into its elements, as TorchScript's graphs have it.
        const auto& items = out.get_as_tensors();
        Node* unpack = graph_->insertNode(graph_->createListUnpack(value, items.size()));
        made.push_back(unpack);
        for (size_t k = 0; k < items.size(); ++k) {
          unpack->output(k)->setDebugName(sanitized(items[k].get_name()));
          values_[items[k].get_name()] = unpack->output(k);
        }
      }
      // AS_NONE and other kinds: a result nothing reads.
    };
    if (outputs.size() == schema.returns().size()) {
      for (size_t i = 0; i < outputs.size(); ++i) bindOutput(outputs[i], created->output(i));
    } else if (outputs.size() == 1 && outputs[0].tag() == serde::Argument::Tag::AS_TENSORS) {
      // A tuple result serialized as one list of tensors.
      const auto& items = outputs[0].get_as_tensors();
      for (size_t i = 0; i < items.size() && i < created->outputs().size(); ++i) {
        created->output(i)->setDebugName(sanitized(items[i].get_name()));
        values_[items[i].get_name()] = created->output(i);
      }
    } else {
      throw UserError(path_ + ": node '" + nodeName(node) + "' (" + target + ") has " + std::to_string(outputs.size()) +
                      " outputs where its schema has " + std::to_string(schema.returns().size()));
    }

    auto trace = node.get_metadata().find("stack_trace");
    if (trace != node.get_metadata().end())
      if (auto range = innermostFrame(trace->second))
        for (Node* n : made) n->setSourceRange(*range);

    const auto frames = recordFrames(node);
    if (!frames.empty())
      for (Node* n : made) nodePaths_[n] = frames.back().first;
  }

  // The node's nn_module_stack frames, outermost first, also added to every call's frames.
  std::vector<std::pair<std::string, std::string>> recordFrames(const serde::Node& node) {
    auto stack = node.get_metadata().find("nn_module_stack");
    if (stack == node.get_metadata().end()) return {};
    auto frames = parseModuleStack(stack->second);
    for (const auto& [path, type] : frames) frames_.push_back({path, type});
    return frames;
  }

  void addOutputs() {
    using Tag = serde::OutputSpec::Tag;
    std::set<std::string> used(result_.prepared.inputNames.begin(), result_.prepared.inputNames.end());
    for (const auto& spec : program_.get_graph_module().get_signature().get_output_specs()) {
      if (spec.tag() != Tag::USER_OUTPUT)
        throw UserError(path_ + ": the program mutates a buffer or an input, or returns gradients or a loss " +
                        "(output kind " + std::to_string(static_cast<int>(spec.tag())) + "); export it in eval mode");
      const auto& arg = spec.get_user_output().get_arg();
      if (arg.tag() != serde::Argument::Tag::AS_TENSOR)
        throw UserError(path_ + ": an output that is not a tensor is not supported");
      const std::string name = arg.get_as_tensor().get_name();
      graph_->registerOutput(tensorNamed(name));
      std::string outputName = name;
      if (used.count(outputName)) outputName = "output_" + std::to_string(result_.prepared.outputNames.size());
      used.insert(outputName);
      result_.prepared.outputNames.push_back(outputName);
    }
  }

  // Tensors with dims given as expressions of the symbols, and symbolic numbers, among
  // the values that survived dead-code elimination.
  void noteSymbolicValues() {
    std::unordered_set<const Value*> alive(graph_->inputs().begin(), graph_->inputs().end());
    for (const Node* n : graph_->nodes())
      for (const Value* out : n->outputs()) alive.insert(out);
    noteSymbolicValues(program_.get_graph_module().get_graph(), values_, alive);
    for (const auto& [body, scope] : inlinedScopes_) noteSymbolicValues(*body, scope, alive);
  }

  void noteSymbolicValues(const serde::Graph& g, const std::unordered_map<std::string, Value*>& values,
                          const std::unordered_set<const Value*>& alive) {
    auto valueNamed = [&](const std::string& name) -> const Value* {
      auto it = values.find(name);
      return it != values.end() && alive.count(it->second) ? it->second : nullptr;
    };
    for (const auto& [name, meta] : g.get_tensor_values()) {
      const Value* v = valueNamed(name);
      if (!v) continue;
      std::vector<int64_t> dims;
      const auto& sizes = meta.get_sizes();
      for (size_t d = 0; d < sizes.size(); ++d)
        if (sizes[d].tag() != serde::SymInt::Tag::AS_INT) dims.push_back(static_cast<int64_t>(d));
      if (!dims.empty()) result_.symbolicValues[v] = dims;
    }
    for (const auto& [name, value] : g.get_sym_int_values())
      if (const Value* v = valueNamed(name); v && value.tag() == serde::SymInt::Tag::AS_EXPR) result_.symbolicValues[v];
    for (const auto& [name, value] : g.get_sym_float_values())
      if (const Value* v = valueNamed(name); v && value.tag() == serde::SymFloat::Tag::AS_EXPR) result_.symbolicValues[v];
    for (const auto& [name, value] : g.get_sym_bool_values())
      if (const Value* v = valueNamed(name); v && value.tag() == serde::SymBool::Tag::AS_EXPR) result_.symbolicValues[v];
  }

  // The paths of the weights whose constants dead-code elimination left, found by value
  // number: a dropped constant's address may be taken by a value made later, its number
  // never is.
  void keepParameterPathsOfLiveValues() {
    for (Node* n : graph_->nodes())
      for (Value* v : n->outputs())
        if (auto path = parameterPaths_.find(v->unique()); path != parameterPaths_.end())
          result_.prepared.parameterPaths[v] = path->second;
  }

  // What hierarchy/ builds the module tree and each node's module from: the frames the
  // nodes' nn_module_stacks gave and the weights' paths (their order is the state_dict's,
  // the order of registration).
  void recordModuleFrames() {
    RecordedModuleFrames& recorded = result_.moduleFrames;
    recorded.frames = std::move(frames_);
    for (const auto& spec : program_.get_graph_module().get_signature().get_input_specs()) {
      if (spec.tag() == serde::InputSpec::Tag::PARAMETER) recorded.weightPaths.push_back(spec.get_parameter().get_parameter_name());
      if (spec.tag() == serde::InputSpec::Tag::BUFFER) recorded.weightPaths.push_back(spec.get_buffer().get_buffer_name());
    }
    // Only the nodes dead-code elimination left; no node was made since it ran, so no
    // dropped node's address can belong to a node of the graph.
    std::unordered_set<const Node*> alive;
    for (const Node* n : graph_->nodes()) alive.insert(n);
    for (const auto& [node, path] : nodePaths_)
      if (alive.count(node)) recorded.nodePaths[node] = path;
  }

  std::string path_;
  caffe2::serialize::PyTorchStreamReader reader_;
  std::shared_ptr<MappedFile> file_;  // the archive, mapped when its first record is read
  serde::ExportedProgram program_;
  std::unordered_map<std::string, serde::PayloadMeta> weights_, constants_;
  std::map<std::string, at::Tensor> storages_;
  TorchExportModel result_;
  Graph* graph_ = nullptr;
  std::unordered_map<std::string, Value*> values_;  // of the graph being added: the program's or a region's
  const serde::Graph* graphMeta_ = nullptr;         // that graph (its tensors' dtypes and devices)
  std::map<std::string, AutocastState> autocast_;   // by device type, in the regions being inlined
  std::unordered_map<std::string, at::ScalarType> castDtypes_;  // tensors autocast cast for their last reader
  // The bodies of inlined regions and their values by name, for noteSymbolicValues.
  std::vector<std::pair<const serde::Graph*, std::unordered_map<std::string, Value*>>> inlinedScopes_;
  std::unordered_map<size_t, std::string> parameterPaths_;  // weight path by its constant's Value::unique()
  std::unordered_map<const Node*, std::string> nodePaths_;  // innermost frame of each node made
  std::vector<ModuleFrame> frames_;                           // every node's frames, in order
};

}  // namespace

std::vector<std::pair<std::string, std::string>> parseModuleStack(const std::string& stack) {
  std::vector<std::pair<std::string, std::string>> frames;
  size_t start = 0;
  while (start < stack.size()) {
    size_t end = stack.find(';', start);
    if (end == std::string::npos) end = stack.size();
    const std::string frame = stack.substr(start, end - start);
    const auto first = frame.find(','), last = frame.rfind(',');
    // torch's node-metadata hook gives a node a pass makes from an input (the sym_size of
    // a dynamic dim) this marker as its only frame: no module, not one of that name.
    const bool marker = frame.rfind("_empty_nn_module_stack_from_metadata_hook,", 0) == 0;
    if (first != std::string::npos && last != first && !marker)
      frames.emplace_back(attributePath(frame.substr(first + 1, last - first - 1)), frame.substr(last + 1));
    start = end + 1;
  }
  return frames;
}

// Why a file is no torch.export archive, in a few words.
static std::string notTorchExportCause(NonModelFileKind kind) {
  switch (kind) {
    case NonModelFileKind::kEmpty: return "the file is empty";
    case NonModelFileKind::kTorchSaveCheckpoint: return "it is a torch.save checkpoint";
    case NonModelFileKind::kTruncatedZip: return "the zip archive is truncated or corrupt (no end-of-archive record)";
    case NonModelFileKind::kZipWithoutCode: return "no models/<name>.json in the zip";
    case NonModelFileKind::kTorchScriptLike: return "";
    case NonModelFileKind::kPickle: return "it is a Python pickle (legacy torch.save format), not TorchScript";
    case NonModelFileKind::kProtobuf: return "it looks like an ONNX or protobuf file, not TorchScript";
    case NonModelFileKind::kNotZip: return "it is not a TorchScript archive (not a zip file)";
  }
  return "";
}

TorchExportModel loadTorchExport(const std::string& path) {
  if (!isTorchExportArchive(path))
    throw UserError(path + ": not a torch.export archive (" + notTorchExportCause(nonModelFileKind(path)) + "); " +
                    kHowToMake);
  ensureTorchvisionOperators();  // calls of torch.ops.torchvision.* find their schemas
  try {
    return Loader(path).load();
  } catch (const UserError&) {
    throw;
  } catch (const c10::Error& e) {
    throw UserError(path + ": cannot read the torch.export archive: " + firstLine(e.what_without_backtrace()),
                    e.what());
  } catch (const std::bad_variant_access&) {
    // LibTorch's serde types hold unions; a field of another kind than the schema's ends here.
    throw UserError(path + ": the program JSON is malformed: a field has another kind than the schema gives");
  } catch (const nlohmann::json::exception& e) {
    throw UserError(path + ": the program JSON is malformed: " + firstLine(e.what()));
  }
}

}  // namespace modelexport

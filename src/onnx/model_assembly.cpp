#include "modelexport/model_assembly.h"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include "modelexport/node_metadata.h"
#include "modelexport/onnx_tensor.h"
#include "modelexport/tag_projection.h"

namespace modelexport {
namespace {

void addModelMetadata(onnx::ModelProto& model, const std::string& key, const std::string& value) {
  auto* entry = model.add_metadata_props();
  entry->set_key(key);
  entry->set_value(value);
}

// Stamps as node attributes, for tools that read them there (the checker rejects them).
void addHierarchyAttributes(onnx::NodeProto& node, const HierarchyStamp& stamp) {
  for (const auto& [key, value] : stampEntries(stamp)) {
    if (key.rfind("hierarchy_", 0) != 0) continue;
    auto* a = node.add_attribute();
    a->set_name(key);
    if (key == "hierarchy_count") {
      a->set_type(onnx::AttributeProto::INT);
      a->set_i(static_cast<int64_t>(stamp.tags.size()));
    } else {
      a->set_type(onnx::AttributeProto::STRING);
      a->set_s(value);
    }
  }
}

onnx::GraphProto* subgraphAttribute(onnx::NodeProto& owner, const std::string& name) {
  for (auto& attribute : *owner.mutable_attribute())
    if (attribute.name() == name) return attribute.mutable_g();
  throw std::logic_error("node " + owner.name() + " has no graph attribute " + name);
}

onnx::ValueInfoProto valueInfo(const GraphValue& value) {
  onnx::ValueInfoProto info = tensorValueInfo(value.name, value.dtype, value.shape);
  for (const auto& [dim, label] : value.symbolicDims) {
    auto* d = info.mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(static_cast<int>(dim));
    d->clear_dim_value();
    d->set_dim_param(label);
  }
  return info;
}

}  // namespace

AssembledModel assembleModel(OnnxGraphBuilder& builder, const ModuleTree& tree, const ModelDescription& description) {
  AssembledModel result;
  onnx::ModelProto& model = result.model;
  model.set_ir_version(8);
  model.set_producer_name("modelexport");
  model.set_producer_version(MODELEXPORT_VERSION);
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(description.opset);
  auto* graph = model.mutable_graph();
  graph->set_name(description.graphName);
  for (const auto& input : description.inputs) *graph->add_input() = valueInfo(input);
  for (const auto& output : description.outputs) *graph->add_output() = valueInfo(output);

  std::vector<onnx::NodeProto*> placed(builder.nodes().size(), nullptr);
  for (size_t i = 0; i < builder.nodes().size(); ++i) {
    auto& node = builder.nodes()[i];
    const HierarchyStamp stamp = stampFor(node, tree);
    if (description.stampMetadata) setNodeMetadata(node.proto, stampEntries(stamp));
    if (description.stampAttributes) addHierarchyAttributes(node.proto, stamp);
    onnx::GraphProto* target = graph;
    if (node.parent >= 0) {
      const auto& owner = builder.nodes()[static_cast<size_t>(node.parent)];
      target = subgraphAttribute(*placed[static_cast<size_t>(node.parent)],
                                 owner.subgraphs.at(static_cast<size_t>(node.branch)).attribute);
    } else {
      result.stamps.push_back(stamp);
    }
    placed[i] = target->add_node();
    *placed[i] = std::move(node.proto);
    for (const auto& sub : node.subgraphs) {
      auto* attribute = placed[i]->add_attribute();
      attribute->set_name(sub.attribute);
      attribute->set_type(onnx::AttributeProto::GRAPH);
      auto* body = attribute->mutable_g();
      body->set_name(placed[i]->name() + "/" + sub.attribute);
      for (const auto& in : sub.inputs) *body->add_input() = in;
      for (const auto& out : sub.outputs) *body->add_output() = out;
    }
  }
  for (auto& init : builder.initializers()) *graph->add_initializer() = std::move(init);
  for (const auto& [key, value] : description.metadata) addModelMetadata(model, key, value);
  return result;
}

namespace {

int64_t defaultOpset(const onnx::ModelProto& model) {
  for (const auto& import : model.opset_import())
    if (import.domain().empty() || import.domain() == "ai.onnx") return import.version();
  return 0;
}

// The element type of every value of the main graph that ONNX's inference can tell,
// without checking types against the ops' schemas (that is what is being found out).
std::map<std::string, int> elementTypes(const onnx::ModelProto& model) {
  onnx::ModelProto typed;
  typed.set_ir_version(model.ir_version());
  *typed.mutable_opset_import() = model.opset_import();
  auto* graph = typed.mutable_graph();
  *graph->mutable_node() = model.graph().node();
  *graph->mutable_input() = model.graph().input();
  *graph->mutable_output() = model.graph().output();
  for (const auto& init : model.graph().initializer()) {  // as inputs: their bytes are not needed
    auto* input = graph->add_input();
    input->set_name(init.name());
    auto* tensor = input->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(init.data_type());
    for (int64_t d : init.dims()) tensor->mutable_shape()->add_dim()->set_dim_value(d);
  }
  try {
    onnx::ShapeInferenceOptions options(/*check_type=*/false, /*error_mode=*/0, /*data_prop=*/false);
    onnx::shape_inference::InferShapes(typed, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception&) {
    // What was inferred before the failure is still there; the checker says the rest.
  }
  std::map<std::string, int> types;
  for (const auto* list : {&typed.graph().input(), &typed.graph().output(), &typed.graph().value_info()})
    for (const auto& v : *list)
      if (v.type().has_tensor_type() && v.type().tensor_type().elem_type() != 0)
        types[v.name()] = v.type().tensor_type().elem_type();
  return types;
}

// The types a schema's formal parameter allows ("tensor(float)", ...).
std::vector<std::string> allowedTypes(const onnx::OpSchema& schema, const std::string& typeStr) {
  for (const auto& constraint : schema.typeConstraintParams())
    if (constraint.type_param_str == typeStr) return constraint.allowed_type_strs;
  return {typeStr};  // a fixed type
}

bool allows(const std::vector<std::string>& types, const char* type) {
  return std::find(types.begin(), types.end(), type) != types.end();
}

}  // namespace

int computeBfloat16InFloat(AssembledModel& assembled) {
  onnx::ModelProto& model = assembled.model;
  bool any = false;
  for (const auto& v : model.graph().input()) any = any || v.type().tensor_type().elem_type() == onnx::TensorProto::BFLOAT16;
  for (const auto& init : model.graph().initializer()) any = any || init.data_type() == onnx::TensorProto::BFLOAT16;
  for (const auto& node : model.graph().node())
    for (const auto& a : node.attribute())
      any = any || (a.name() == "to" && a.i() == onnx::TensorProto::BFLOAT16) ||
            (a.has_t() && a.t().data_type() == onnx::TensorProto::BFLOAT16);
  if (!any) return 0;
  const int opset = static_cast<int>(defaultOpset(model));
  const std::map<std::string, int> types = elementTypes(model);
  std::set<std::string> names;
  for (const auto& [name, type] : types) names.insert(name);
  for (const auto& node : model.graph().node())
    for (const auto& out : node.output()) names.insert(out);
  auto freshName = [&](const std::string& base) {
    std::string name = base;
    for (int k = 2; names.count(name); ++k) name = base + "_" + std::to_string(k);
    names.insert(name);
    return name;
  };
  auto castNode = [](const onnx::NodeProto& owner, const std::string& name, const std::string& from,
                     const std::string& to, int type) {
    onnx::NodeProto cast;
    cast.set_op_type("Cast");
    cast.set_name(name);
    cast.add_input(from);
    cast.add_output(to);
    auto* attr = cast.add_attribute();
    attr->set_name("to");
    attr->set_type(onnx::AttributeProto::INT);
    attr->set_i(type);
    setNodeMetadata(cast, getNodeMetadata(owner));  // the owner's module
    for (const auto& a : owner.attribute())
      if (a.name().rfind("hierarchy_", 0) == 0) *cast.add_attribute() = a;
    return cast;
  };

  int wrapped = 0;
  std::map<std::string, std::string> asFloat;  // bfloat16 value -> its float Cast
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  std::vector<HierarchyStamp> stamps;
  auto* graphNodes = model.mutable_graph()->mutable_node();
  for (int k = 0; k < graphNodes->size(); ++k) {
    onnx::NodeProto& node = *graphNodes->Mutable(k);
    const HierarchyStamp stamp = static_cast<size_t>(k) < assembled.stamps.size() ? assembled.stamps[k] : HierarchyStamp{};
    const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(node.op_type(), opset, node.domain());
    std::set<std::string> floatTypeStrs;  // formal types computed in float instead
    if (schema && !schema->inputs().empty()) {
      for (int i = 0; i < node.input_size(); ++i) {
        auto type = types.find(node.input(i));
        if (node.input(i).empty() || type == types.end() || type->second != onnx::TensorProto::BFLOAT16) continue;
        const auto& formal = schema->inputs()[std::min<size_t>(static_cast<size_t>(i), schema->inputs().size() - 1)];
        const auto allowed = allowedTypes(*schema, formal.GetTypeStr());
        if (!allows(allowed, "tensor(bfloat16)") && allows(allowed, "tensor(float)")) floatTypeStrs.insert(formal.GetTypeStr());
      }
    }
    if (floatTypeStrs.empty()) {
      *nodes.Add() = std::move(node);
      stamps.push_back(stamp);
      continue;
    }
    ++wrapped;
    for (int i = 0; i < node.input_size(); ++i) {
      auto type = types.find(node.input(i));
      if (node.input(i).empty() || type == types.end() || type->second != onnx::TensorProto::BFLOAT16) continue;
      const auto& formal = schema->inputs()[std::min<size_t>(static_cast<size_t>(i), schema->inputs().size() - 1)];
      if (!floatTypeStrs.count(formal.GetTypeStr())) continue;
      auto cached = asFloat.find(node.input(i));
      if (cached == asFloat.end()) {
        const std::string name = freshName(node.input(i) + "_float");
        *nodes.Add() = castNode(node, node.name() + "/Cast_to_float_" + std::to_string(i), node.input(i), name,
                                onnx::TensorProto::FLOAT);
        stamps.push_back(stamp);
        cached = asFloat.emplace(node.input(i), name).first;
      }
      node.set_input(i, cached->second);
    }
    std::vector<onnx::NodeProto> after;
    for (int o = 0; o < node.output_size(); ++o) {
      if (node.output(o).empty() || schema->outputs().empty()) continue;
      const auto& formal = schema->outputs()[std::min<size_t>(static_cast<size_t>(o), schema->outputs().size() - 1)];
      if (!floatTypeStrs.count(formal.GetTypeStr())) continue;
      const std::string original = node.output(o), name = freshName(original + "_float");
      node.set_output(o, name);
      after.push_back(castNode(node, node.name() + "/Cast_to_bfloat16_" + std::to_string(o), name, original,
                               onnx::TensorProto::BFLOAT16));
    }
    *nodes.Add() = std::move(node);
    stamps.push_back(stamp);
    for (auto& cast : after) {
      *nodes.Add() = std::move(cast);
      stamps.push_back(stamp);
    }
  }
  graphNodes->Swap(&nodes);  // the nodes were moved into `nodes`, wrapped or not
  assembled.stamps = std::move(stamps);
  return wrapped;
}

}  // namespace modelexport

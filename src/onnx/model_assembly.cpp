#include "modelexport/model_assembly.h"

#include <stdexcept>

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

}  // namespace modelexport

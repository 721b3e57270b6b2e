#include "modelexport/subgraph_extraction.h"

#include <map>
#include <set>

#include "modelexport/errors.h"
#include "modelexport/hierarchy_stamps.h"
#include "modelexport/model_writer.h"

namespace modelexport {

ExtractedSubgraph extractSubgraph(const onnx::ModelProto& source, const ModelHierarchy& hierarchy,
                                  const std::string& tag) {
  if (!hierarchy.findModule(tag))
    throw UserError("--extract-subgraph " + tag + ": no module with that tag" +
                    (hierarchy.modules.empty() ? " (the file carries no hierarchy)" : ""));
  // Boundary tensors need types; shape inference fills value_info when the file has none.
  onnx::ModelProto model = source;
  if (model.graph().value_info_size() == 0) inferValueInfo(model);
  const auto& graph = model.graph();

  std::map<std::string, const onnx::ValueInfoProto*> types;
  for (const auto& v : graph.input()) types[v.name()] = &v;
  for (const auto& v : graph.output()) types[v.name()] = &v;
  for (const auto& v : graph.value_info()) types[v.name()] = &v;
  std::map<std::string, const onnx::TensorProto*> initializers;
  for (const auto& init : graph.initializer()) initializers[init.name()] = &init;
  std::set<std::string> graphOutputs;
  for (const auto& v : graph.output()) graphOutputs.insert(v.name());

  std::vector<bool> inside(static_cast<size_t>(graph.node_size()), false);
  std::set<std::string> producedInside, usedOutside;
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& h = hierarchy.nodes.at(static_cast<size_t>(i));
    inside[i] = !h.tag.empty() && tagHasPrefix(h.tag, tag);
    if (inside[i])
      for (const auto& out : graph.node(i).output()) producedInside.insert(out);
  }
  for (int i = 0; i < graph.node_size(); ++i)
    if (!inside[i])
      for (const auto& in : graph.node(i).input()) usedOutside.insert(in);

  ExtractedSubgraph result;
  auto& sub = result.model;
  sub.set_ir_version(model.ir_version());
  sub.set_producer_name(model.producer_name());
  sub.set_producer_version(model.producer_version());
  *sub.mutable_opset_import() = model.opset_import();
  auto* subGraph = sub.mutable_graph();
  subGraph->set_name(tag);
  auto typed = [&](const std::string& name) -> onnx::ValueInfoProto {
    auto it = types.find(name);
    if (it == types.end())
      throw UserError("--extract-subgraph " + tag + ": tensor '" + name +
                      "' crosses the module boundary but its type is unknown (no value_info)");
    return *it->second;
  };
  std::set<std::string> seenInputs;
  for (int i = 0; i < graph.node_size(); ++i) {
    if (!inside[i]) continue;
    const auto& node = graph.node(i);
    for (const auto& in : node.input()) {
      if (in.empty() || producedInside.count(in) || !seenInputs.insert(in).second) continue;
      if (initializers.count(in)) {
        *subGraph->add_initializer() = *initializers[in];
        ++result.initializers;
      } else {
        *subGraph->add_input() = typed(in);
        ++result.inputs;
      }
    }
    *subGraph->add_node() = node;
    ++result.nodes;
  }
  std::set<std::string> subOutputs;
  if (result.nodes == 0) throw UserError("--extract-subgraph " + tag + ": the module has no nodes");
  for (int i = 0; i < graph.node_size(); ++i) {
    if (!inside[i]) continue;
    for (const auto& out : graph.node(i).output())
      if (!out.empty() && (usedOutside.count(out) || graphOutputs.count(out))) {
        subOutputs.insert(out);
        *subGraph->add_output() = typed(out);
        ++result.outputs;
      }
  }
  if (result.outputs == 0)
    throw UserError("--extract-subgraph " + tag + ": no tensor leaves the module, so the subgraph has no outputs");
  for (const auto& v : graph.value_info())
    if (producedInside.count(v.name()) && !subOutputs.count(v.name())) *subGraph->add_value_info() = v;
  auto* entry = sub.add_metadata_props();
  entry->set_key("modelexport.extracted_from");
  entry->set_value(tag);
  return result;
}

}  // namespace modelexport

#include "modelexport/graphml_writer.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <pugixml.hpp>

#include "modelexport/errors.h"
#include "modelexport/graphml_format.h"
#include "modelexport/model_writer.h"
#include "modelexport/node_metadata.h"
#include "modelexport/onnx_json_codec.h"

namespace modelexport {
namespace {

using nlohmann::json;

std::vector<std::string> tagSegments(const std::string& tag) {
  std::vector<std::string> segments;
  std::string current;
  for (size_t i = 1; i <= tag.size(); ++i) {
    if (i == tag.size() || tag[i] == '/') {
      if (!current.empty()) segments.push_back(current);
      current.clear();
    } else {
      current += tag[i];
    }
  }
  return segments;
}

std::string parentTag(const std::string& tag) {
  auto slash = tag.rfind('/');
  return slash == std::string::npos || slash == 0 ? "" : tag.substr(0, slash);
}

// Segment by segment, so /M/Layer.1 and /M/Layer.10 share only /M.
std::string commonTag(const std::string& a, const std::string& b) {
  if (a == b) return a;
  auto sa = tagSegments(a), sb = tagSegments(b);
  std::string common;
  for (size_t i = 0; i < sa.size() && i < sb.size() && sa[i] == sb[i]; ++i) common += "/" + sa[i];
  return common;
}

// The module a node belongs to: its primary stamp, else the tag part of its name (the
// exporter names nodes <tag>/<OpType>, and --no-hierarchy-attrs leaves only the names).
std::string primaryTag(const onnx::NodeProto& node, const MetadataEntries& metadata) {
  for (const auto& [key, value] : metadata)
    if (key == "hierarchy_path" && !value.empty() && value[0] == '/') return value;
  const std::string& name = node.name();
  auto slash = name.rfind('/');
  if (!name.empty() && name[0] == '/' && slash != std::string::npos && slash > 0) return name.substr(0, slash);
  return "";
}

struct TensorFacts {
  std::string type;
  std::string shape;
};

class DocumentBuilder {
 public:
  DocumentBuilder() {
    auto decl = doc_.append_child(pugi::node_declaration);
    decl.append_attribute("version") = "1.0";
    decl.append_attribute("encoding") = "UTF-8";
    root_ = doc_.append_child("graphml");
    root_.append_attribute("xmlns") = graphml::kGraphmlNamespace;
    root_.append_attribute("xmlns:xsi") = "http://www.w3.org/2001/XMLSchema-instance";
    root_.append_attribute("xmlns:y") = graphml::kYFilesNamespace;
    root_.append_attribute("xsi:schemaLocation") =
        "http://graphml.graphdrawing.org/xmlns http://www.yworks.com/xml/schema/graphml/1.1/ygraphml.xsd";
    for (const auto& key : graphml::kKeys) {
      auto k = root_.append_child("key");
      k.append_attribute("id") = key.id;
      k.append_attribute("for") = key.domain;
      k.append_attribute("attr.name") = key.id;
      k.append_attribute("attr.type") = key.type;
      k.append_child("desc").text() = key.meaning;
    }
    auto graphics = root_.append_child("key");
    graphics.append_attribute("id") = graphml::kNodeGraphicsKey;
    graphics.append_attribute("for") = "node";
    graphics.append_attribute("yfiles.type") = "nodegraphics";
    top_ = root_.append_child("graph");
    top_.append_attribute("id") = "G";
    top_.append_attribute("edgedefault") = "directed";
  }

  pugi::xml_node top() { return top_; }

  // The <graph> of a module's group node, creating it and its ancestors on first use.
  pugi::xml_node moduleGraph(const std::string& tag) {
    if (tag.empty()) return top_;
    auto found = moduleGraphs_.find(tag);
    if (found != moduleGraphs_.end()) return found->second;
    pugi::xml_node parent = moduleGraph(parentTag(tag));
    std::string segment = tag.substr(tag.rfind('/') + 1);
    std::string className = segment.substr(0, segment.find('.'));
    auto node = parent.append_child("node");
    std::string id = uniqueId("module:" + tag);
    node.append_attribute("id") = id.c_str();
    node.append_attribute("yfiles.foldertype") = "group";
    addData(node, "node_kind", graphml::kModuleNode);
    addData(node, "hierarchy_tag", tag);
    addData(node, "class_name", className);
    auto path = modulePaths_.find(tag);
    if (path != modulePaths_.end()) addData(node, "module_path", path->second);
    addGroupGraphics(node, segment == className ? className : segment + " (" + className + ")");
    auto graph = node.append_child("graph");
    graph.append_attribute("id") = (id + ":").c_str();
    graph.append_attribute("edgedefault") = "directed";
    ++moduleNodes_;
    return moduleGraphs_[tag] = graph;
  }

  void setModulePath(const std::string& tag, const std::string& path) { modulePaths_.emplace(tag, path); }

  std::string uniqueId(const std::string& wanted) {
    std::string id = wanted;
    for (int k = 2; !ids_.insert(id).second; ++k) id = wanted + "#" + std::to_string(k);
    return id;
  }

  static void addData(pugi::xml_node element, const char* key, const std::string& value) {
    auto data = element.append_child("data");
    data.append_attribute("key") = key;
    data.text() = value.c_str();
  }

  static void addShapeGraphics(pugi::xml_node node, const std::string& label, const char* color, const char* shape) {
    auto data = node.append_child("data");
    data.append_attribute("key") = graphml::kNodeGraphicsKey;
    auto shapeNode = data.append_child("y:ShapeNode");
    auto geometry = shapeNode.append_child("y:Geometry");
    geometry.append_attribute("height") = "30.0";
    geometry.append_attribute("width") = std::to_string(std::max<size_t>(60, 8 * label.size())).c_str();
    auto fill = shapeNode.append_child("y:Fill");
    fill.append_attribute("color") = color;
    fill.append_attribute("transparent") = "false";
    shapeNode.append_child("y:NodeLabel").text() = label.c_str();
    shapeNode.append_child("y:Shape").append_attribute("type") = shape;
  }

  size_t moduleNodes() const { return moduleNodes_; }
  std::string xml() const {
    std::ostringstream out;
    doc_.save(out, "  ", pugi::format_default, pugi::encoding_utf8);
    return out.str();
  }

 private:
  // yEd shows the open realizer first and folds into the closed one.
  static void addGroupGraphics(pugi::xml_node node, const std::string& label) {
    auto data = node.append_child("data");
    data.append_attribute("key") = graphml::kNodeGraphicsKey;
    auto proxy = data.append_child("y:ProxyAutoBoundsNode");
    auto realizers = proxy.append_child("y:Realizers");
    realizers.append_attribute("active") = "0";
    for (bool closed : {false, true}) {
      auto group = realizers.append_child("y:GroupNode");
      auto fill = group.append_child("y:Fill");
      fill.append_attribute("color") = closed ? "#E8EEF7" : "#F5F5F5";
      fill.append_attribute("transparent") = "false";
      auto border = group.append_child("y:BorderStyle");
      border.append_attribute("color") = "#666666";
      border.append_attribute("type") = "dashed";
      border.append_attribute("width") = "1.0";
      auto text = group.append_child("y:NodeLabel");
      text.append_attribute("alignment") = "right";
      text.append_attribute("autoSizePolicy") = "node_width";
      text.append_attribute("backgroundColor") = "#EBEBEB";
      text.append_attribute("modelName") = "internal";
      text.append_attribute("modelPosition") = "t";
      text.text() = label.c_str();
      group.append_child("y:Shape").append_attribute("type") = "roundrectangle";
      auto state = group.append_child("y:State");
      state.append_attribute("closed") = closed ? "true" : "false";
      state.append_attribute("closedHeight") = "50.0";
      state.append_attribute("closedWidth") = "120.0";
    }
  }

  pugi::xml_document doc_;
  pugi::xml_node root_;
  pugi::xml_node top_;
  std::map<std::string, pugi::xml_node> moduleGraphs_;
  std::map<std::string, std::string> modulePaths_;
  std::unordered_set<std::string> ids_;
  size_t moduleNodes_ = 0;
};

struct Endpoint {
  std::string id;
  std::string container;  // module tag of the graph holding the node ("" = top)
};

}  // namespace

namespace {

// An initializer as the ONNX file holds it: a placeholder's bytes come from its payload.
json encodeInitializer(const onnx::TensorProto& init, const PayloadBytes& payloadBytes, ByteStoreWriter& store) {
  auto payload = payloadBytes.find(init.name());
  if (payload == payloadBytes.end()) return encodeTensor(init, store);
  onnx::TensorProto inline_ = init;  // no bytes: a placeholder is dims and a name
  inline_.clear_external_data();
  inline_.clear_data_location();
  json encoded = encodeTensor(inline_, store);
  encoded["raw_data"] = store.put(payload->second);
  return encoded;
}

}  // namespace

GraphmlPaths graphmlPathsFor(const std::string& onnxPath) {
  std::filesystem::path p(onnxPath);
  auto sibling = [&](const char* suffix) { return (p.parent_path() / (p.stem().string() + suffix)).string(); };
  return {sibling(graphml::kGraphmlSuffix), sibling(graphml::kDataSuffix), sibling(graphml::kMetadataSuffix)};
}

namespace {

// Where everything goes, before any XML: each node's module, the module of the graph
// that holds each graph input and initializer (the innermost common module of its
// consumers), the module paths the stamps name, and each tensor's type and shape.
struct GraphmlPlacement {
  std::vector<std::string> containers;  // per node: module tag of the graph holding it ("" = top)
  std::unordered_map<std::string, std::string> consumersCommon;  // tensor -> common container
  std::map<std::string, std::string> modulePaths;                // tag -> attribute path
  std::unordered_map<std::string, TensorFacts> facts;

  std::string placeOfSource(const std::string& name) const {
    auto found = consumersCommon.find(name);
    return found == consumersCommon.end() ? std::string() : found->second;
  }
};

std::unordered_map<std::string, TensorFacts> tensorFacts(const onnx::GraphProto& graph) {
  std::unordered_map<std::string, TensorFacts> facts;
  auto noteValueInfo = [&](const onnx::ValueInfoProto& info) {
    if (info.type().has_tensor_type())
      facts[info.name()] = {tensorTypeName(info.type().tensor_type().elem_type()), shapeText(info.type())};
  };
  for (const auto& info : graph.value_info()) noteValueInfo(info);
  for (const auto& info : graph.input()) noteValueInfo(info);
  for (const auto& info : graph.output()) noteValueInfo(info);
  for (const auto& init : graph.initializer())
    facts[init.name()] = {tensorTypeName(init.data_type()),
                          json(std::vector<int64_t>(init.dims().begin(), init.dims().end())).dump()};
  return facts;
}

GraphmlPlacement placeGraph(const onnx::GraphProto& graph) {
  GraphmlPlacement placement;
  placement.facts = tensorFacts(graph);
  const int nodeCount = graph.node_size();
  placement.containers.resize(nodeCount);
  for (int i = 0; i < nodeCount; ++i) {
    const MetadataEntries metadata = getNodeMetadata(graph.node(i));
    placement.containers[i] = primaryTag(graph.node(i), metadata);
    for (const auto& [key, value] : metadata)
      if (key == "hierarchy_module") placement.modulePaths.emplace(placement.containers[i], value);
  }
  for (int i = 0; i < nodeCount; ++i)
    for (const auto& input : graph.node(i).input()) {
      if (input.empty()) continue;
      auto [it, added] = placement.consumersCommon.emplace(input, placement.containers[i]);
      if (!added) it->second = commonTag(it->second, placement.containers[i]);
    }
  return placement;
}

// Writes the placed graph as GraphML elements, in the order import-onnx and the
// determinism tests rely on: inputs, initializers, ops, the ops' input edges, outputs.
class GraphmlEmitter {
 public:
  GraphmlEmitter(const onnx::GraphProto& graph, const GraphmlPlacement& placement, const PayloadBytes& payloadBytes,
                 ByteStoreWriter& store)
      : graph_(graph), placement_(placement), payloadBytes_(payloadBytes), store_(store) {
    for (const auto& [tag, path] : placement.modulePaths) builder_.setModulePath(tag, path);
  }

  DocumentBuilder& builder() { return builder_; }
  size_t edges() const { return edgeCount_; }

  void addInputs() {
    for (int i = 0; i < graph_.input_size(); ++i) {
      const std::string& name = graph_.input(i).name();
      graphInputs_.insert(name);
      const std::string container = placement_.placeOfSource(name);
      auto node = newNode(container, "input:" + name, graphml::kInputNode, i);
      addTensorData(node.first, name);
      DocumentBuilder::addShapeGraphics(node.first, "input " + name, "#B7E1A1", "ellipse");
      producers_[name] = {node.second, container};
    }
  }

  void addInitializers() {
    for (int i = 0; i < graph_.initializer_size(); ++i) {
      const auto& init = graph_.initializer(i);
      const std::string container = placement_.placeOfSource(init.name());
      auto node = newNode(container, "initializer:" + init.name(), graphml::kInitializerNode, i);
      addTensorData(node.first, init.name());
      DocumentBuilder::addData(node.first, "tensor_data", encodeInitializer(init, payloadBytes_, store_).dump());
      DocumentBuilder::addShapeGraphics(node.first, init.name(), "#D9D9D9", "parallelogram");
      // A graph input of the same name shadows the initializer (it is a default value).
      if (!graphInputs_.count(init.name())) producers_[init.name()] = {node.second, container};
    }
  }

  void addOps() {
    opIds_.resize(graph_.node_size());
    for (int i = 0; i < graph_.node_size(); ++i) {
      const auto& proto = graph_.node(i);
      const std::string& container = placement_.containers[i];
      json encoded = encodeNode(proto, store_);
      auto [node, id] =
          newNode(container, "op:" + (proto.name().empty() ? "#" + std::to_string(i) : proto.name()), graphml::kOpNode, i);
      opIds_[i] = id;
      if (!container.empty()) DocumentBuilder::addData(node, "hierarchy_tag", container);
      for (const char* field : {"op_type", "name", "domain", "doc_string"})
        if (encoded.contains(field)) DocumentBuilder::addData(node, field, encoded[field].get<std::string>());
      DocumentBuilder::addData(node, "input_names", encoded["input"].dump());
      DocumentBuilder::addData(node, "output_names", encoded["output"].dump());
      DocumentBuilder::addData(node, "onnx_attributes", encoded["attribute"].dump());
      DocumentBuilder::addData(node, "node_metadata", encoded["metadata_props"].dump());
      if (encoded.contains("extra")) DocumentBuilder::addData(node, "node_extra", encoded["extra"].get<std::string>());
      DocumentBuilder::addShapeGraphics(node, proto.op_type(), "#FFCC00", "rectangle");
      for (const auto& output : proto.output())
        if (!output.empty()) producers_[output] = {id, container};
    }
  }

  void addOpEdges() {
    for (int i = 0; i < graph_.node_size(); ++i) {
      const auto& inputs = graph_.node(i).input();
      for (int k = 0; k < inputs.size(); ++k) {
        auto source = producers_.find(inputs[k]);
        // Names bound outside this graph have no producer here.
        if (inputs[k].empty() || source == producers_.end()) continue;
        addEdge(source->second, {opIds_[i], placement_.containers[i]}, inputs[k], k);
      }
    }
  }

  // Each output beside its producer, with the edge from it.
  void addOutputs() {
    for (int i = 0; i < graph_.output_size(); ++i) {
      const std::string& name = graph_.output(i).name();
      auto source = producers_.find(name);
      const std::string container = source == producers_.end() ? std::string() : source->second.container;
      auto node = newNode(container, "output:" + name, graphml::kOutputNode, i);
      addTensorData(node.first, name);
      DocumentBuilder::addShapeGraphics(node.first, "output " + name, "#A1C4E1", "ellipse");
      if (source != producers_.end()) addEdge(source->second, {node.second, container}, name, -1);
    }
  }

 private:
  // A node of `kind` in the graph of `container`, with a unique id made from `wantedId`.
  std::pair<pugi::xml_node, std::string> newNode(const std::string& container, const std::string& wantedId,
                                                 const char* kind, int onnxIndex) {
    auto node = builder_.moduleGraph(container).append_child("node");
    std::string id = builder_.uniqueId(wantedId);
    node.append_attribute("id") = id.c_str();
    DocumentBuilder::addData(node, "node_kind", kind);
    DocumentBuilder::addData(node, "onnx_index", std::to_string(onnxIndex));
    return {node, id};
  }

  void addTensorData(pugi::xml_node node, const std::string& name) {
    DocumentBuilder::addData(node, "tensor_name", name);
    auto f = placement_.facts.find(name);
    if (f == placement_.facts.end()) return;
    DocumentBuilder::addData(node, "tensor_type", f->second.type);
    if (!f->second.shape.empty()) DocumentBuilder::addData(node, "tensor_shape", f->second.shape);
  }

  // In the graph of the innermost module holding both ends.
  void addEdge(const Endpoint& from, const Endpoint& to, const std::string& tensor, int slot) {
    auto edge = builder_.moduleGraph(commonTag(from.container, to.container)).append_child("edge");
    edge.append_attribute("id") = ("e" + std::to_string(edgeCount_++)).c_str();
    edge.append_attribute("source") = from.id.c_str();
    edge.append_attribute("target") = to.id.c_str();
    addTensorData(edge, tensor);
    DocumentBuilder::addData(edge, "target_input", std::to_string(slot));
  }

  const onnx::GraphProto& graph_;
  const GraphmlPlacement& placement_;
  const PayloadBytes& payloadBytes_;
  ByteStoreWriter& store_;
  DocumentBuilder builder_;
  std::unordered_map<std::string, Endpoint> producers_;
  std::unordered_set<std::string> graphInputs_;
  std::vector<std::string> opIds_;
  size_t edgeCount_ = 0;
};

}  // namespace

GraphmlDocument buildHierarchicalGraphml(const onnx::ModelProto& model, const std::string& dataFileName,
                                         const std::string& metadataFileName, const PayloadBytes& payloadBytes) {
  const onnx::GraphProto& graph = model.graph();
  const GraphmlPlacement placement = placeGraph(graph);
  ByteStoreWriter store;
  GraphmlEmitter emitter(graph, placement, payloadBytes, store);
  DocumentBuilder& builder = emitter.builder();
  auto top = builder.top();
  DocumentBuilder::addData(top, "format", graphml::kFormat);
  DocumentBuilder::addData(top, "data_file", dataFileName);
  DocumentBuilder::addData(top, "metadata_file", metadataFileName);
  emitter.addInputs();
  emitter.addInitializers();
  emitter.addOps();
  emitter.addOpEdges();
  emitter.addOutputs();

  GraphmlDocument result;
  json header = encodeModelHeader(model, store);
  result.metadata = json{{"format", graphml::kFormat},
                         {"data_file", dataFileName},
                         {"counts",
                          {{"nodes", graph.node_size()},
                           {"initializers", graph.initializer_size()},
                           {"inputs", graph.input_size()},
                           {"outputs", graph.output_size()},
                           {"modules", builder.moduleNodes()},
                           {"edges", emitter.edges()}}},
                         {"model", header}};
  result.xml = builder.xml();
  result.data = std::move(store);
  result.moduleNodes = builder.moduleNodes();
  result.opNodes = static_cast<size_t>(graph.node_size());
  result.tensorNodes = static_cast<size_t>(graph.input_size() + graph.initializer_size() + graph.output_size());
  result.edges = emitter.edges();
  return result;
}

GraphmlDocument writeHierarchicalGraphml(const onnx::ModelProto& model, const std::string& onnxPath,
                                         const std::string& tempDir, const PayloadBytes& payloadBytes) {
  GraphmlPaths paths = graphmlPathsFor(onnxPath);
  GraphmlDocument document;
  try {
    document = buildHierarchicalGraphml(model, std::filesystem::path(paths.data).filename().string(),
                                        std::filesystem::path(paths.metadata).filename().string(), payloadBytes);
  } catch (const json::exception& e) {
    throw UserError("cannot encode the model for GraphML: " + std::string(e.what()));
  }
  std::vector<std::string> written;
  try {
    writeFileAtomically(paths.data, [&](std::ostream& out) { document.data.writeTo(out); }, tempDir);
    written.push_back(paths.data);
    writeFileAtomically(paths.metadata, document.metadata.dump(2) + "\n", tempDir);
    written.push_back(paths.metadata);
    writeFileAtomically(paths.graphml, document.xml, tempDir);
  } catch (...) {
    std::error_code ec;
    for (const auto& path : written) std::filesystem::remove(path, ec);
    throw;
  }
  document.xml.clear();
  document.data = ByteStoreWriter();
  return document;
}

}  // namespace modelexport

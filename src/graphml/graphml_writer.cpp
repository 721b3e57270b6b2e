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

GraphmlDocument buildHierarchicalGraphml(const onnx::ModelProto& model, const std::string& dataFileName,
                                         const std::string& metadataFileName, const PayloadBytes& payloadBytes) {
  const onnx::GraphProto& graph = model.graph();
  GraphmlDocument result;
  DocumentBuilder builder;
  ByteStoreWriter store;
  auto top = builder.top();
  DocumentBuilder::addData(top, "format", graphml::kFormat);
  DocumentBuilder::addData(top, "data_file", dataFileName);
  DocumentBuilder::addData(top, "metadata_file", metadataFileName);

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

  // Where each node goes, then where the tensors it reads come from.
  const int nodeCount = graph.node_size();
  std::vector<MetadataEntries> metadata(nodeCount);
  std::vector<std::string> containers(nodeCount);
  for (int i = 0; i < nodeCount; ++i) {
    metadata[i] = getNodeMetadata(graph.node(i));
    containers[i] = primaryTag(graph.node(i), metadata[i]);
    for (const auto& [key, value] : metadata[i])
      if (key == "hierarchy_module") builder.setModulePath(containers[i], value);
  }
  std::unordered_map<std::string, std::string> consumersCommon;  // tensor -> common container
  for (int i = 0; i < nodeCount; ++i)
    for (const auto& input : graph.node(i).input()) {
      if (input.empty()) continue;
      auto [it, added] = consumersCommon.emplace(input, containers[i]);
      if (!added) it->second = commonTag(it->second, containers[i]);
    }
  auto placeOfSource = [&](const std::string& name) {
    auto found = consumersCommon.find(name);
    return found == consumersCommon.end() ? std::string() : found->second;
  };
  auto addTensorData = [&](pugi::xml_node node, const std::string& name) {
    DocumentBuilder::addData(node, "tensor_name", name);
    auto f = facts.find(name);
    if (f == facts.end()) return;
    DocumentBuilder::addData(node, "tensor_type", f->second.type);
    if (!f->second.shape.empty()) DocumentBuilder::addData(node, "tensor_shape", f->second.shape);
  };

  std::unordered_map<std::string, Endpoint> producers;
  std::unordered_set<std::string> graphInputs;
  for (int i = 0; i < graph.input_size(); ++i) {
    const std::string& name = graph.input(i).name();
    graphInputs.insert(name);
    std::string container = placeOfSource(name);
    auto node = builder.moduleGraph(container).append_child("node");
    std::string id = builder.uniqueId("input:" + name);
    node.append_attribute("id") = id.c_str();
    DocumentBuilder::addData(node, "node_kind", graphml::kInputNode);
    DocumentBuilder::addData(node, "onnx_index", std::to_string(i));
    addTensorData(node, name);
    DocumentBuilder::addShapeGraphics(node, "input " + name, "#B7E1A1", "ellipse");
    producers[name] = {id, container};
  }
  for (int i = 0; i < graph.initializer_size(); ++i) {
    const auto& init = graph.initializer(i);
    std::string container = placeOfSource(init.name());
    auto node = builder.moduleGraph(container).append_child("node");
    std::string id = builder.uniqueId("initializer:" + init.name());
    node.append_attribute("id") = id.c_str();
    DocumentBuilder::addData(node, "node_kind", graphml::kInitializerNode);
    DocumentBuilder::addData(node, "onnx_index", std::to_string(i));
    addTensorData(node, init.name());
    DocumentBuilder::addData(node, "tensor_data", encodeInitializer(init, payloadBytes, store).dump());
    DocumentBuilder::addShapeGraphics(node, init.name(), "#D9D9D9", "parallelogram");
    // A graph input of the same name shadows the initializer (it is a default value).
    if (!graphInputs.count(init.name())) producers[init.name()] = {id, container};
  }

  std::vector<std::string> opIds(nodeCount);
  for (int i = 0; i < nodeCount; ++i) {
    const auto& proto = graph.node(i);
    json encoded = encodeNode(proto, store);
    auto node = builder.moduleGraph(containers[i]).append_child("node");
    opIds[i] = builder.uniqueId("op:" + (proto.name().empty() ? "#" + std::to_string(i) : proto.name()));
    node.append_attribute("id") = opIds[i].c_str();
    DocumentBuilder::addData(node, "node_kind", graphml::kOpNode);
    DocumentBuilder::addData(node, "onnx_index", std::to_string(i));
    if (!containers[i].empty()) DocumentBuilder::addData(node, "hierarchy_tag", containers[i]);
    for (const char* field : {"op_type", "name", "domain", "doc_string"})
      if (encoded.contains(field)) DocumentBuilder::addData(node, field, encoded[field].get<std::string>());
    DocumentBuilder::addData(node, "input_names", encoded["input"].dump());
    DocumentBuilder::addData(node, "output_names", encoded["output"].dump());
    DocumentBuilder::addData(node, "onnx_attributes", encoded["attribute"].dump());
    DocumentBuilder::addData(node, "node_metadata", encoded["metadata_props"].dump());
    if (encoded.contains("extra")) DocumentBuilder::addData(node, "node_extra", encoded["extra"].get<std::string>());
    DocumentBuilder::addShapeGraphics(node, proto.op_type(), "#FFCC00", "rectangle");
    for (const auto& output : proto.output())
      if (!output.empty()) producers[output] = {opIds[i], containers[i]};
  }

  size_t edgeCount = 0;
  auto addEdge = [&](const Endpoint& from, const Endpoint& to, const std::string& tensor, int slot) {
    auto edge = builder.moduleGraph(commonTag(from.container, to.container)).append_child("edge");
    edge.append_attribute("id") = ("e" + std::to_string(edgeCount++)).c_str();
    edge.append_attribute("source") = from.id.c_str();
    edge.append_attribute("target") = to.id.c_str();
    addTensorData(edge, tensor);
    DocumentBuilder::addData(edge, "target_input", std::to_string(slot));
  };
  for (int i = 0; i < nodeCount; ++i) {
    const auto& inputs = graph.node(i).input();
    for (int k = 0; k < inputs.size(); ++k) {
      auto source = producers.find(inputs[k]);
      // Names bound outside this graph have no producer here.
      if (inputs[k].empty() || source == producers.end()) continue;
      addEdge(source->second, {opIds[i], containers[i]}, inputs[k], k);
    }
  }
  for (int i = 0; i < graph.output_size(); ++i) {
    const std::string& name = graph.output(i).name();
    auto source = producers.find(name);
    std::string container = source == producers.end() ? std::string() : source->second.container;
    auto node = builder.moduleGraph(container).append_child("node");
    std::string id = builder.uniqueId("output:" + name);
    node.append_attribute("id") = id.c_str();
    DocumentBuilder::addData(node, "node_kind", graphml::kOutputNode);
    DocumentBuilder::addData(node, "onnx_index", std::to_string(i));
    addTensorData(node, name);
    DocumentBuilder::addShapeGraphics(node, "output " + name, "#A1C4E1", "ellipse");
    if (source != producers.end()) addEdge(source->second, {id, container}, name, -1);
  }

  json header = encodeModelHeader(model, store);
  result.metadata = json{{"format", graphml::kFormat},
                         {"data_file", dataFileName},
                         {"counts",
                          {{"nodes", nodeCount},
                           {"initializers", graph.initializer_size()},
                           {"inputs", graph.input_size()},
                           {"outputs", graph.output_size()},
                           {"modules", builder.moduleNodes()},
                           {"edges", edgeCount}}},
                         {"model", header}};
  result.xml = builder.xml();
  result.data = std::move(store);
  result.moduleNodes = builder.moduleNodes();
  result.opNodes = static_cast<size_t>(nodeCount);
  result.tensorNodes = static_cast<size_t>(graph.input_size() + graph.initializer_size() + graph.output_size());
  result.edges = edgeCount;
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

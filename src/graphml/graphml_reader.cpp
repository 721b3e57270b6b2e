#include "modelexport/graphml_reader.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include "modelexport/errors.h"
#include "modelexport/graphml_format.h"
#include "modelexport/onnx_json_codec.h"

namespace modelexport {
namespace {

using nlohmann::json;

// Keys import-onnx cannot do without.
const char* const kRequiredKeys[] = {"format",      "data_file",       "metadata_file", "node_kind",
                                     "onnx_index",  "op_type",         "input_names",   "output_names",
                                     "onnx_attributes", "node_metadata", "tensor_data", "tensor_name"};

std::string readWholeFile(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw UserError(path + ": " + what + " not found");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(path + ": cannot open " + what);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

struct GraphmlNode {
  std::string id;
  std::map<std::string, std::string> data;  // attr.name -> text
};

class DocumentReader {
 public:
  explicit DocumentReader(const std::string& path) : path_(path) {}

  void parse(const std::string& text) {
    // parse_doctype keeps a DOCTYPE as a node so it can be refused: entity declarations
    // are never honoured here, and a file that relies on them is not ours.
    pugi::xml_parse_result parsed =
        doc_.load_buffer(text.data(), text.size(), pugi::parse_default | pugi::parse_doctype | pugi::parse_pi);
    if (!parsed)
      throw UserError(path_ + ": not well-formed XML: " + parsed.description() + " at byte " +
                      std::to_string(parsed.offset));
    for (auto child : doc_.children())
      if (child.type() == pugi::node_doctype)
        throw UserError(path_ + ": DOCTYPE declarations (and the entities they may define) are not accepted");
    pugi::xml_node root = doc_.document_element();
    if (std::string(root.name()) != "graphml")
      throw UserError(path_ + ": root element is <" + std::string(root.name()) + ">, expected <graphml>");
    for (auto key : root.children("key")) {
      std::string id = key.attribute("id").value();
      std::string name = key.attribute("attr.name").value();
      if (id.empty()) throw UserError(path_ + ": a <key> has no id");
      if (!keyNames_.emplace(id, name.empty() ? std::string(key.attribute("yfiles.type").value()) : name).second)
        throw UserError(path_ + ": key '" + id + "' is declared twice");
    }
    std::unordered_set<std::string> declared;
    for (const auto& [id, name] : keyNames_) declared.insert(name);
    for (const char* required : kRequiredKeys)
      if (!declared.count(required))
        throw UserError(path_ + ": missing <key> declaration for '" + std::string(required) + "'");
    pugi::xml_node top = root.child("graph");
    if (!top) throw UserError(path_ + ": no <graph> element");
    topData_ = dataOf(top, "graph");
    walkGraph(top);
    for (const auto& [edgeId, ends] : edges_) {
      if (!nodeIds_.count(ends.first))
        throw UserError(path_ + ": edge '" + edgeId + "' has source '" + ends.first + "', which is not a node");
      if (!nodeIds_.count(ends.second))
        throw UserError(path_ + ": edge '" + edgeId + "' has target '" + ends.second + "', which is not a node");
    }
  }

  const std::map<std::string, std::string>& topData() const { return topData_; }
  const std::vector<GraphmlNode>& nodes() const { return nodes_; }

 private:
  std::map<std::string, std::string> dataOf(pugi::xml_node element, const std::string& owner) {
    std::map<std::string, std::string> data;
    for (auto d : element.children("data")) {
      std::string key = d.attribute("key").value();
      auto name = keyNames_.find(key);
      if (name == keyNames_.end())
        throw UserError(path_ + ": " + owner + " uses data key '" + key + "', which no <key> declares");
      if (d.first_child().type() == pugi::node_element) continue;  // yFiles graphics
      data[name->second] = d.child_value();
    }
    return data;
  }

  void walkGraph(pugi::xml_node graph) {
    for (auto child : graph.children()) {
      std::string tag = child.name();
      if (tag == "node") {
        GraphmlNode node;
        node.id = child.attribute("id").value();
        if (node.id.empty()) throw UserError(path_ + ": a <node> has no id");
        if (!nodeIds_.insert(node.id).second) throw UserError(path_ + ": node id '" + node.id + "' is used twice");
        node.data = dataOf(child, "node '" + node.id + "'");
        nodes_.push_back(std::move(node));
        if (auto inner = child.child("graph")) walkGraph(inner);
      } else if (tag == "edge") {
        std::string id = child.attribute("id").value();
        if (id.empty()) id = "#" + std::to_string(edges_.size());
        dataOf(child, "edge '" + id + "'");
        edges_.emplace_back(id, std::make_pair(std::string(child.attribute("source").value()),
                                               std::string(child.attribute("target").value())));
      }
    }
  }

  std::string path_;
  pugi::xml_document doc_;
  std::unordered_map<std::string, std::string> keyNames_;
  std::map<std::string, std::string> topData_;
  std::vector<GraphmlNode> nodes_;
  std::unordered_set<std::string> nodeIds_;
  std::vector<std::pair<std::string, std::pair<std::string, std::string>>> edges_;
};

// A file named in the GraphML must sit next to it: no directories, no "..".
std::string siblingFile(const std::string& graphmlPath, const std::map<std::string, std::string>& topData,
                        const std::string& key) {
  auto found = topData.find(key);
  if (found == topData.end() || found->second.empty())
    throw UserError(graphmlPath + ": the top <graph> has no '" + key + "' data");
  const std::string& name = found->second;
  if (name.find('/') != std::string::npos || name.find('\\') != std::string::npos || name == "." || name == "..")
    throw UserError(graphmlPath + ": '" + key + "' must be a plain file name next to the GraphML, got '" + name + "'");
  return (std::filesystem::path(graphmlPath).parent_path() / name).string();
}

const std::string& need(const GraphmlNode& node, const std::string& key) {
  auto found = node.data.find(key);
  if (found == node.data.end()) throw UserError("node '" + node.id + "' has no '" + key + "' data");
  return found->second;
}

int64_t indexOf(const GraphmlNode& node) {
  const std::string& text = need(node, "onnx_index");
  size_t used = 0;
  int64_t value = -1;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
  }
  if (used != text.size() || value < 0) throw UserError("node '" + node.id + "': onnx_index '" + text + "' is not an index");
  return value;
}

json parseJson(const GraphmlNode& node, const std::string& key) {
  json value = json::parse(need(node, key), nullptr, false);
  if (value.is_discarded()) throw UserError("node '" + node.id + "': '" + key + "' is not valid JSON");
  return value;
}

// Puts nodes in onnx_index order and checks the indices are exactly 0..n-1.
std::vector<const GraphmlNode*> inIndexOrder(const std::vector<const GraphmlNode*>& nodes, const std::string& kind) {
  std::vector<const GraphmlNode*> ordered(nodes.size(), nullptr);
  for (const auto* node : nodes) {
    int64_t index = indexOf(*node);
    if (static_cast<size_t>(index) >= nodes.size())
      throw UserError("node '" + node->id + "': " + kind + " index " + std::to_string(index) + " is out of range (" +
                      std::to_string(nodes.size()) + " " + kind + " nodes)");
    if (ordered[index]) throw UserError("nodes '" + ordered[index]->id + "' and '" + node->id + "' share " + kind +
                                        " index " + std::to_string(index));
    ordered[index] = node;
  }
  return ordered;
}

onnx::ModelProto rebuild(const std::string& graphmlPath) {
  DocumentReader reader(graphmlPath);
  reader.parse(readWholeFile(graphmlPath, "GraphML file"));
  auto format = reader.topData().find("format");
  if (format == reader.topData().end() || format->second != graphml::kFormat)
    throw UserError(graphmlPath + ": not a " + std::string(graphml::kFormat) + " document (format data missing or different)");
  const std::string dataPath = siblingFile(graphmlPath, reader.topData(), "data_file");
  const std::string metadataPath = siblingFile(graphmlPath, reader.topData(), "metadata_file");

  json metadata = json::parse(readWholeFile(metadataPath, "metadata file"), nullptr, false);
  if (metadata.is_discarded() || !metadata.is_object() || !metadata.contains("model"))
    throw UserError(metadataPath + ": not a GraphML metadata file (invalid JSON or no 'model')");
  ByteStoreReader store(readWholeFile(dataPath, "data file"), dataPath);

  std::map<std::string, std::vector<const GraphmlNode*>> byKind;
  for (const auto& node : reader.nodes()) {
    auto kind = node.data.find("node_kind");
    if (kind == node.data.end()) throw UserError(graphmlPath + ": node '" + node.id + "' has no 'node_kind' data");
    byKind[kind->second].push_back(&node);
  }

  onnx::ModelProto model;
  try {
    model = decodeModelHeader(metadata.at("model"), store);
  } catch (const json::exception& e) {
    throw UserError(metadataPath + ": 'model' is malformed: " + firstLine(e.what()));
  }
  const json counts = metadata.value("counts", json::object());
  auto expectCount = [&](const char* what, const std::string& kind) {
    if (counts.contains(what) && counts.at(what).get<size_t>() != byKind[kind].size())
      throw UserError(graphmlPath + ": holds " + std::to_string(byKind[kind].size()) + " " + kind + " nodes but " +
                      metadataPath + " says " + counts.at(what).dump());
  };
  expectCount("nodes", graphml::kOpNode);
  expectCount("initializers", graphml::kInitializerNode);
  expectCount("inputs", graphml::kInputNode);
  expectCount("outputs", graphml::kOutputNode);

  auto* graph = model.mutable_graph();
  try {
    for (const auto* node : inIndexOrder(byKind[graphml::kOpNode], "op")) {
      json encoded{{"input", parseJson(*node, "input_names")},
                   {"output", parseJson(*node, "output_names")},
                   {"attribute", parseJson(*node, "onnx_attributes")},
                   {"metadata_props", parseJson(*node, "node_metadata")}};
      for (const char* field : {"op_type", "name", "domain", "doc_string"}) {
        auto found = node->data.find(field);
        if (found != node->data.end()) encoded[field] = found->second;
      }
      auto extra = node->data.find("node_extra");
      if (extra != node->data.end()) encoded["extra"] = extra->second;
      try {
        *graph->add_node() = decodeNode(encoded, store);
      } catch (const json::exception& e) {
        throw UserError("node '" + node->id + "': malformed data: " + firstLine(e.what()));
      } catch (const UserError& e) {
        throw UserError("node '" + node->id + "': " + e.what());
      }
    }
    for (const auto* node : inIndexOrder(byKind[graphml::kInitializerNode], "initializer")) {
      try {
        onnx::TensorProto tensor = decodeTensor(parseJson(*node, "tensor_data"), store);
        if (tensor.name() != need(*node, "tensor_name"))
          throw UserError("tensor_data names '" + tensor.name() + "', tensor_name says '" + need(*node, "tensor_name") + "'");
        *graph->add_initializer() = std::move(tensor);
      } catch (const json::exception& e) {
        throw UserError("node '" + node->id + "': malformed tensor_data: " + firstLine(e.what()));
      } catch (const UserError& e) {
        throw UserError("node '" + node->id + "': " + e.what());
      }
    }
    inIndexOrder(byKind[graphml::kInputNode], "input");
    inIndexOrder(byKind[graphml::kOutputNode], "output");
  } catch (const UserError& e) {
    throw UserError(graphmlPath + ": " + e.what());
  }
  return model;
}

}  // namespace

onnx::ModelProto readHierarchicalGraphml(const std::string& graphmlPath) {
  try {
    return rebuild(graphmlPath);
  } catch (const UserError&) {
    throw;
  } catch (const std::exception& e) {
    throw UserError(graphmlPath + ": " + firstLine(e.what()));
  }
}

}  // namespace modelexport

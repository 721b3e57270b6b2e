#pragma once
// Names shared by the GraphML writer and reader (docs/GRAPHML.md describes the format).
#include <string>

namespace modelexport::graphml {

inline constexpr const char* kFormat = "modelexport-hierarchical-graphml/1";
inline constexpr const char* kGraphmlNamespace = "http://graphml.graphdrawing.org/xmlns";
inline constexpr const char* kYFilesNamespace = "http://www.yworks.com/xml/graphml";

// Files next to the ONNX model, named from its stem.
inline constexpr const char* kGraphmlSuffix = "_hierarchical_graph.graphml";
inline constexpr const char* kDataSuffix = "_hierarchical_graph.onnxdata";
inline constexpr const char* kMetadataSuffix = "_htp_metadata.json";

// node_kind values.
inline constexpr const char* kModuleNode = "module";
inline constexpr const char* kOpNode = "op";
inline constexpr const char* kInitializerNode = "initializer";
inline constexpr const char* kInputNode = "input";
inline constexpr const char* kOutputNode = "output";

struct KeySpec {
  const char* id;  // also the attr.name
  const char* domain;  // "graph", "node", "edge" or "all"
  const char* type;    // attr.type
  const char* meaning;
};

// Every <data> key the writer uses (the yFiles nodegraphics key is declared apart).
inline constexpr KeySpec kKeys[] = {
    {"format", "graph", "string", "format name and version"},
    {"data_file", "graph", "string", "file holding tensor bytes (next to the GraphML)"},
    {"metadata_file", "graph", "string", "file holding model-level data (next to the GraphML)"},
    {"node_kind", "node", "string", "module, op, initializer, input or output"},
    {"hierarchy_tag", "node", "string", "module tag (primary tag for op nodes)"},
    {"class_name", "node", "string", "module class name"},
    {"module_path", "node", "string", "module attribute path"},
    {"onnx_index", "node", "int", "position among the graph's nodes, initializers, inputs or outputs"},
    {"op_type", "node", "string", "ONNX op type"},
    {"name", "node", "string", "ONNX node name"},
    {"domain", "node", "string", "ONNX op domain"},
    {"doc_string", "node", "string", "ONNX node doc_string"},
    {"input_names", "node", "string", "JSON array of input tensor names"},
    {"output_names", "node", "string", "JSON array of output tensor names"},
    {"onnx_attributes", "node", "string", "JSON array of typed attributes"},
    {"node_metadata", "node", "string", "JSON array of [key, value]: NodeProto.metadata_props"},
    {"node_extra", "node", "string", "base64 NodeProto fields not spelled out above"},
    {"tensor_data", "node", "string", "JSON tensor: dims, data_type, byte range in data_file"},
    {"tensor_name", "all", "string", "tensor name"},
    {"tensor_type", "all", "string", "ONNX element type (FLOAT, INT64, ...)"},
    {"tensor_shape", "all", "string", "JSON array of dims"},
    {"target_input", "edge", "int", "input slot of the target op (-1 for graph outputs)"},
};

inline constexpr const char* kNodeGraphicsKey = "nodegraphics";

}  // namespace modelexport::graphml

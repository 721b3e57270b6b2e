#pragma once
// Hierarchical GraphML of an ONNX model (docs/GRAPHML.md): one yFiles group node per module,
// op nodes inside their primary module, one edge per tensor use. Works from the model and
// its node stamps alone, so import-onnx can rebuild exactly what was written.
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>

#include "modelexport/onnx_json_codec.h"

namespace modelexport {

struct GraphmlPaths {
  std::string graphml;   // <stem>_hierarchical_graph.graphml
  std::string data;      // <stem>_hierarchical_graph.onnxdata
  std::string metadata;  // <stem>_htp_metadata.json
};

GraphmlPaths graphmlPathsFor(const std::string& onnxPath);

struct GraphmlDocument {
  std::string xml;
  ByteStoreWriter data;    // tensor bytes (views into the model); offsets in the XML refer to them
  nlohmann::json metadata;
  size_t moduleNodes = 0;
  size_t opNodes = 0;
  size_t tensorNodes = 0;  // initializers, graph inputs and outputs
  size_t edges = 0;
};

// The three files' contents; dataFileName and metadataFileName are recorded in the XML.
// The document's data refers to the model's tensor bytes: keep the model alive with it.
// `payloadBytes`: bytes of initializers the model holds only as placeholders (written
// to the ONNX file straight from tensor memory), by name; they must outlive the document.
using PayloadBytes = std::unordered_map<std::string, std::string_view>;
GraphmlDocument buildHierarchicalGraphml(const onnx::ModelProto& model, const std::string& dataFileName,
                                         const std::string& metadataFileName,
                                         const PayloadBytes& payloadBytes = {});

// Writes the three files next to `onnxPath`, each atomically; on failure none is left
// behind. Throws UserError.
GraphmlDocument writeHierarchicalGraphml(const onnx::ModelProto& model, const std::string& onnxPath,
                                         const std::string& tempDir = "", const PayloadBytes& payloadBytes = {});

}  // namespace modelexport

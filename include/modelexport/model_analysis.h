#pragma once
// analyze: model facts, module tree with node counts, op histogram, stamp coverage, per
// node stamps. The JSON report is the data; the text and CSV forms are rendered from it
// (schema: docs/ANALYZE_JSON.md).
#include <functional>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>

#include "modelexport/hierarchy_reader.h"

namespace modelexport {

// Special --filter-tag value: the nodes tagged by projection.
inline constexpr const char* kAuxiliaryFilter = "auxiliary";

// Whether a node passes --filter-tag (empty filter: every node).
bool nodeMatchesFilter(const NodeHierarchy& node, const std::string& filterTag);

// Throws UserError when filterTag or excludeTag names no module of the file. With
// excludeTag, the nodes of that module and its descendants are left out (the complement
// of --filter-tag, for quantization's nodes_to_exclude / nodes_to_quantize).
nlohmann::json buildAnalysisReport(const onnx::ModelProto& model, const ModelHierarchy& hierarchy,
                                   const std::string& filterTag, const std::string& fileLabel,
                                   const std::string& excludeTag = "");

std::string renderAnalysisSummary(const nlohmann::json& report);
std::string renderAnalysisDetailed(const nlohmann::json& report);
// A CSV field: quoted (quotes doubled) when it holds a comma, quote or newline.
std::string csvField(const std::string& text);
std::string renderAnalysisCsv(const nlohmann::json& report);
// The selected nodes' names, one per line (unnamed nodes cannot be named and are skipped).
std::string renderAnalysisNames(const nlohmann::json& report);

// Draws a report's "modules" (depth first, each with "tag" and "depth") as a tree, one
// line per module: branch lines, the tag's last segment (the whole tag at the top), two
// spaces and what figures() says of it. Shared by analyze's and profile's text forms.
void writeModuleTree(std::ostream& out, const nlohmann::json& modules,
                     const std::function<std::string(const nlohmann::json& module)>& figures);

// Element type name of an ONNX TensorProto data type ("float32", "int64").
std::string onnxDataTypeName(int dataType);

}  // namespace modelexport

#pragma once
// <stem>_hierarchy.json: the module tree, per-module node counts, node stamps, statistics.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>

#include "modelexport/hierarchy_stamps.h"
#include "modelexport/module_tree.h"

namespace modelexport {

nlohmann::json buildHierarchySidecar(const ModuleTree& tree, const onnx::GraphProto& graph,
                                     const std::vector<HierarchyStamp>& stamps,
                                     const nlohmann::json& statistics);

// One entry of the sidecar's "nodes": the node's name, op type and stamps. The export
// and validate --repair (which rewrites the list after renaming) both write it here.
nlohmann::json sidecarNodeEntry(const onnx::NodeProto& node, const std::string& path,
                                const std::vector<std::string>& tags, const std::string& method,
                                const std::string& module);

// "out/model.onnx" -> "out/model<suffix>"
std::string sidecarPath(const std::string& onnxPath, const std::string& suffix);

}  // namespace modelexport

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

// "out/model.onnx" -> "out/model<suffix>"
std::string sidecarPath(const std::string& onnxPath, const std::string& suffix);

}  // namespace modelexport

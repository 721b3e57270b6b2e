#pragma once
// validate: the ONNX checker, hierarchy consistency (--check-consistency) and repair.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>

#include "modelexport/hierarchy_reader.h"

namespace modelexport {

struct ValidationProblem {
  std::string check;    // "checker", "stamps", "tags", "count", "tree", "names", "sidecar"
  std::string node;     // node name (or "#index" when unnamed); empty for file-level problems
  std::string message;
};

struct ValidationReport {
  std::string file;
  bool checkerPassed = false;
  std::string checkerError;  // first error of the checker
  bool consistencyChecked = false;
  std::string hierarchySource;
  std::string sidecarPath;   // checked sidecar; empty when none was next to the file
  std::vector<ValidationProblem> problems;  // consistency problems
  bool valid() const { return checkerPassed && problems.empty(); }
};

// Runs the full checker and, when asked, the consistency checks; `path` locates the
// sidecar <stem>_hierarchy.json.
ValidationReport validateModel(const onnx::ModelProto& model, const std::string& path, bool checkConsistency);

// The consistency checks of validate --check-consistency. `sidecar` may be null.
std::vector<ValidationProblem> checkHierarchyConsistency(const onnx::GraphProto& graph,
                                                         const ModelHierarchy& hierarchy,
                                                         const nlohmann::json* sidecar);

// One change --repair made: the node (its name, or "#index (OpType)" when unnamed) and
// what was done to it.
struct RepairChange {
  std::string node;
  std::string change;
};

// What validate --repair did: the file it read, the file it wrote, the backup of the
// original (in-place repair only) and the changes in the order they were made.
struct RepairReport {
  std::string source, written;
  std::optional<std::string> backup;
  std::vector<RepairChange> changes;
};

// validate --repair: moves hierarchy_* attributes into metadata_props, stamps unstamped
// nodes from the export's sidecar (`sidecar` may be null) where name and op type still
// match, recomputes hierarchy_count and hierarchy_tags, fills the remaining missing stamps
// by projection from consumers, renames duplicate and empty node names. Returns each
// change. Throws UserError when neither the file nor the sidecar has a hierarchy.
std::vector<RepairChange> repairHierarchy(onnx::ModelProto& model, const nlohmann::json* sidecar);

// The sidecar's per-node entries rewritten from the (repaired) stamps of `graph`.
nlohmann::json refreshSidecarNodes(nlohmann::json sidecar, const onnx::GraphProto& graph);

}  // namespace modelexport

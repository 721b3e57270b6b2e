#include "modelexport/model_validation.h"

#include <filesystem>
#include <fstream>

#include "modelexport/errors.h"
#include "modelexport/hierarchy_sidecar.h"
#include "modelexport/model_writer.h"

namespace modelexport {

ValidationReport validateModel(const onnx::ModelProto& model, const std::string& path, bool checkConsistency) {
  ValidationReport report;
  report.file = path;
  try {
    const auto dir = std::filesystem::path(path).parent_path();
    checkModelFull(model, dir.empty() ? "." : dir.string());
    report.checkerPassed = true;
  } catch (const std::exception& e) {
    report.checkerError = firstLine(e.what());
  }
  if (!checkConsistency) return report;
  report.consistencyChecked = true;
  ModelHierarchy hierarchy = readHierarchy(model.graph());
  report.hierarchySource = hierarchySourceName(hierarchy.source);
  nlohmann::json sidecar;
  const std::string candidate = sidecarPath(path, "_hierarchy.json");
  std::error_code ec;
  if (std::filesystem::is_regular_file(candidate, ec)) {
    report.sidecarPath = candidate;
    std::ifstream in(candidate);
    sidecar = nlohmann::json::parse(in, nullptr, false);
    if (sidecar.is_discarded()) {
      report.problems.push_back({"sidecar", "", candidate + ": not valid JSON"});
      sidecar = nlohmann::json();
    }
  }
  auto problems = checkHierarchyConsistency(model.graph(), hierarchy, sidecar.is_null() ? nullptr : &sidecar);
  report.problems.insert(report.problems.end(), problems.begin(), problems.end());
  return report;
}

}  // namespace modelexport

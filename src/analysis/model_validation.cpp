#include "modelexport/model_validation.h"

#include <filesystem>
#include <fstream>
#include <sstream>

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

nlohmann::json ValidationReport::toJson() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& p : problems) list.push_back({{"check", p.check}, {"node", p.node}, {"message", p.message}});
  return {{"file", file},
          {"valid", valid()},
          {"checker", {{"passed", checkerPassed}, {"error", checkerPassed ? nlohmann::json(nullptr) : nlohmann::json(checkerError)}}},
          {"consistency_checked", consistencyChecked},
          {"hierarchy_source", consistencyChecked ? nlohmann::json(hierarchySource) : nlohmann::json(nullptr)},
          {"sidecar", sidecarPath.empty() ? nlohmann::json(nullptr) : nlohmann::json(sidecarPath)},
          {"problems", list}};
}

std::string ValidationReport::toText() const {
  std::ostringstream out;
  out << file << "\n";
  out << "  ONNX checker (full): " << (checkerPassed ? "passed" : "FAILED: " + checkerError) << "\n";
  if (consistencyChecked) {
    out << "  hierarchy: from " << hierarchySource << (sidecarPath.empty() ? "; no sidecar" : "; sidecar " + sidecarPath) << "\n";
    out << "  consistency: " << (problems.empty() ? "passed" : std::to_string(problems.size()) + " problem(s)") << "\n";
    const size_t shown = 50;
    for (size_t i = 0; i < problems.size() && i < shown; ++i)
      out << "    [" << problems[i].check << "] " << (problems[i].node.empty() ? "" : problems[i].node + ": ")
          << problems[i].message << "\n";
    if (problems.size() > shown) out << "    ... and " << problems.size() - shown << " more (--output-format json lists all)\n";
  }
  out << (valid() ? "valid" : "invalid") << "\n";
  return out.str();
}

}  // namespace modelexport

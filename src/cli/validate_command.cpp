#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "modelexport/cli_commands.h"
#include "modelexport/errors.h"
#include "modelexport/hierarchy_sidecar.h"
#include "modelexport/model_validation.h"
#include "modelexport/model_writer.h"
#include "modelexport/output_paths.h"
#include "modelexport/report_json.h"
#include "modelexport/report_text.h"

namespace modelexport::cli {

namespace {
struct ValidateOptions {
  std::string onnxPath;
  bool checkConsistency = false;
  bool repair = false;
  std::string output;
  std::string format = "text";
};

constexpr int kValid = 0, kInvalid = 1, kCouldNotRun = 2;

// The export's <stem>_hierarchy.json next to `onnxPath`; null when absent or not JSON.
nlohmann::json readSidecar(const std::string& onnxPath) {
  const std::string path = sidecarPath(onnxPath, "_hierarchy.json");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return nullptr;
  std::ifstream in(path);
  auto json = nlohmann::json::parse(in, nullptr, false);
  return json.is_discarded() ? nlohmann::json(nullptr) : json;
}

int runValidate(const ValidateOptions& o) {
  onnx::ModelProto model = readModel(o.onnxPath);
  if (o.repair && !o.output.empty()) {
    const auto dir = std::filesystem::path(o.onnxPath).parent_path();
    std::vector<std::string> inputs = externalDataFiles(model, dir.empty() ? "." : dir.string());
    inputs.insert(inputs.end(), {o.onnxPath, sidecarPath(o.onnxPath, "_hierarchy.json")});
    refuseOutputsOverInputs({o.output, sidecarPath(o.output, "_hierarchy.json")}, inputs);
  }
  std::optional<RepairReport> repair;
  std::string target = o.onnxPath;
  if (o.repair) {
    const nlohmann::json recorded = readSidecar(o.onnxPath);
    repair = RepairReport{o.onnxPath, o.output.empty() ? o.onnxPath : o.output, std::nullopt, {}};
    try {
      repair->changes = repairHierarchy(model, recorded.is_null() ? nullptr : &recorded);
    } catch (const UserError& e) {
      throw UserError(o.onnxPath + ": " + e.what());
    }
    target = repair->written;
    if (o.output.empty()) {
      repair->backup = o.onnxPath + ".bak";
      std::filesystem::copy_file(o.onnxPath, *repair->backup, std::filesystem::copy_options::overwrite_existing);
    }
    writeModelAtomically(model, target);
    // The sidecar names nodes; keep it in step with renamed or newly stamped ones.
    const nlohmann::json targetSidecar = target == o.onnxPath ? recorded : readSidecar(target);
    if (!targetSidecar.is_null()) {
      const std::string sidecar = sidecarPath(target, "_hierarchy.json");
      if (o.output.empty())
        std::filesystem::copy_file(sidecar, sidecar + ".bak", std::filesystem::copy_options::overwrite_existing);
      writeFileAtomically(sidecar, jsonReportText(refreshSidecarNodes(targetSidecar, model.graph())));
    }
    if (o.format == "text") std::cout << renderRepairText(*repair);
  }
  // A repaired file is checked for consistency too: that is what the repair promises.
  ValidationReport report = validateModel(model, target, o.checkConsistency || o.repair);
  if (o.format == "json") std::cout << jsonReportText(toJson(report, repair ? &*repair : nullptr));
  else std::cout << renderValidationText(report);
  return report.valid() ? kValid : kInvalid;
}
}  // namespace

Command addValidateCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "validate", "Check an ONNX file (checker, hierarchy consistency); exit 0 valid, 1 invalid, 2 could not run");
  auto o = std::make_shared<ValidateOptions>();
  cmd->add_option("ONNX_PATH", o->onnxPath, "ONNX file")->required();
  cmd->add_flag("--check-consistency", o->checkConsistency,
                "Also check the hierarchy stamps, node names and the sidecar");
  auto* repair = cmd->add_flag("--repair", o->repair,
                               "Fix what can be fixed; writes --output, or in place keeping <file>.bak");
  cmd->add_option("--output", o->output, "Where --repair writes (default: in place)")->needs(repair);
  cmd->add_option("--output-format", o->format, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  return {cmd, [o]() {
    try {
      return runValidate(*o);
    } catch (const std::exception& e) {
      std::cerr << "modelexport: error: " << firstLine(e.what()) << "\n";
      return kCouldNotRun;
    }
  }};
}

}  // namespace modelexport::cli

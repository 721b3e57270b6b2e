#pragma once
// --with-report: <stem>_export_report.json beside the ONNX file, one document that says
// what was exported from what: the model as named and the program exported, the front
// end's part (interpreter, reuse, its own timings and versions), the example inputs and
// where they came from, the inputs' and outputs' names and symbolic dims, the module
// tree with node counts (from the sidecar), stamp coverage and each stage's time.
#include <string>

#include <nlohmann/json.hpp>

#include "modelexport/exporter.h"

namespace modelexport {

struct ExportProvenance {
  std::string model;               // MODEL_NAME_OR_PATH as typed
  std::string inputsDescription;   // one line: where the example inputs came from
  nlohmann::json frontEnd;         // null when no front end ran; else what it did
  nlohmann::json program;          // the program's modelexport/program.json, or null
};

// "out/model.onnx" -> "out/model_export_report.json"
std::string exportReportPath(const std::string& onnxPath);

// Builds the report from the finished export (its sidecar is read for the module tree).
nlohmann::json buildExportReport(const ExportOptions& options, const ExportSummary& summary,
                                 const ExportProvenance& provenance, double totalSeconds);

}  // namespace modelexport

// The ONNX reading path of analyze, validate and compare: parse, hierarchy, the analysis
// report in every format, subgraph extraction, validation with consistency checks,
// repair, and comparison.
#include <cstdint>

#include "fuzz_files.h"
#include "fuzz_policy.h"
#include "modelexport/hierarchy_reader.h"
#include "modelexport/model_analysis.h"
#include "modelexport/model_comparison.h"
#include "modelexport/model_validation.h"
#include "modelexport/model_writer.h"
#include "modelexport/report_csv.h"
#include "modelexport/report_json.h"
#include "modelexport/report_text.h"
#include "modelexport/subgraph_extraction.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace modelexport;
  const std::string path = fuzz::writeScratchFile("model.onnx", data, size);
  fuzz::expectOnlyUserErrors("onnx reading", [&] {
    onnx::ModelProto model = readModel(path);
    const ModelHierarchy hierarchy = readHierarchy(model.graph());
    fuzz::expectOnlyUserErrors("analyze", [&] {
      const AnalysisReport report = buildAnalysisReport(model, hierarchy, "", path);
      toJson(report);
      renderAnalysisSummary(report);
      renderAnalysisDetailed(report);
      renderAnalysisCsv(report);
    });
    if (hierarchy.modules.size() > 1)
      fuzz::expectOnlyUserErrors("analyze --extract-subgraph", [&] {
        ExtractedSubgraph sub = extractSubgraph(model, hierarchy, hierarchy.modules[1].tag);
        inlineExternalData(sub.model, fuzz::freshScratchDir());
        checkModelFull(sub.model);
      });
    fuzz::expectOnlyUserErrors("validate", [&] {
      const ValidationReport report = validateModel(model, path, true);
      toJson(report);
      renderValidationText(report);
    });
    fuzz::expectOnlyUserErrors("compare", [&] {
      const ComparisonReport report = compareModels(model, model, "a.onnx", "b.onnx");
      toJson(report);
      renderComparisonSummary(report);
    });
    fuzz::expectOnlyUserErrors("validate --repair", [&] {
      onnx::ModelProto repaired = model;
      const RepairReport report{path, path, std::nullopt, repairHierarchy(repaired, nullptr)};
      toJson(ValidationReport{}, &report);
      renderRepairText(report);
    });
  });
  return 0;
}

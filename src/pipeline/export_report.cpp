#include "modelexport/export_report.h"

#include <fstream>

#include "modelexport/dtype_names.h"
#include "modelexport/hierarchy_sidecar.h"

namespace modelexport {

std::string exportReportPath(const std::string& onnxPath) { return sidecarPath(onnxPath, "_export_report.json"); }

nlohmann::json buildExportReport(const ExportOptions& options, const ExportSummary& summary,
                                 const ExportProvenance& provenance, double totalSeconds) {
  nlohmann::json inputs = nlohmann::json::array();
  for (size_t i = 0; i < summary.exampleInputs.size(); ++i) {
    const InputSpec& spec = summary.exampleInputs[i];
    nlohmann::json dims = nlohmann::json::object();
    if (i < summary.inputDims.size())
      for (const auto& [dim, name] : summary.inputDims[i]) dims[std::to_string(dim)] = name;
    inputs.push_back({{"name", i < summary.inputNames.size() ? summary.inputNames[i] : spec.name},
                      {"dtype", dtypeName(spec.dtype)},
                      {"example_shape", spec.shape},
                      {"symbolic_dims", dims}});
  }
  // The sidecar was written by this export: its module list carries the node counts.
  nlohmann::json modules = nlohmann::json::array();
  std::ifstream sidecar(summary.sidecarPath);
  const nlohmann::json hierarchy = nlohmann::json::parse(sidecar, nullptr, false);
  if (!hierarchy.is_discarded() && hierarchy.contains("modules"))
    for (const auto& m : hierarchy["modules"])
      if (!m["tag"].is_null())
        modules.push_back({{"tag", m["tag"]}, {"module", m["path"]}, {"class", m["class"]},
                           {"own_nodes", m["own_nodes"]}, {"total_nodes", m["total_nodes"]}});
  nlohmann::json stages = nlohmann::json::array();
  double pipelineSeconds = 0;
  for (const auto& s : summary.stages) {
    stages.push_back({{"stage", s.stage}, {"seconds", s.seconds}});
    pipelineSeconds += s.seconds;
  }
  return {{"format", "modelexport-export-report"},
          {"version", 1},
          {"model", provenance.model},
          {"program", options.modelPath},
          {"output", options.outputPath},
          {"front_end", provenance.frontEnd},
          {"program_info", provenance.program},
          {"inputs", {{"origin", provenance.inputsDescription}, {"tensors", inputs}}},
          {"outputs", summary.outputNames},
          {"options",
           {{"opset", summary.opset},
            {"opset_chosen", !options.opset.has_value()},  // no --opset-version: the exporter's choice
            {"strategy", options.strategy},
            {"with_graphml", options.withGraphml}}},
          {"coverage",
           {{"nodes", summary.onnxNodes},
            {"stamped", summary.stampedNodes},
            {"percent", summary.onnxNodes ? 100.0 * static_cast<double>(summary.stampedNodes) /
                                                static_cast<double>(summary.onnxNodes)
                                          : 100.0},
            {"modules", summary.modules}}},
          {"modules", modules},
          {"timings", {{"stages", stages}, {"pipeline_seconds", pipelineSeconds}, {"total_seconds", totalSeconds}}},
          {"files",
           {{"onnx", options.outputPath},
            {"hierarchy", summary.sidecarPath},
            {"external_data", summary.externalDataPath},
            {"graphml", summary.graphmlPath}}}};
}

}  // namespace modelexport

#include <filesystem>
#include <iostream>

#include "modelexport/cli_commands.h"
#include "modelexport/errors.h"
#include "modelexport/hierarchy_reader.h"
#include "modelexport/model_analysis.h"
#include "modelexport/model_writer.h"
#include "modelexport/output_paths.h"
#include "modelexport/report_csv.h"
#include "modelexport/report_json.h"
#include "modelexport/report_text.h"
#include "modelexport/subgraph_extraction.h"

namespace modelexport::cli {

namespace {
struct AnalyzeOptions {
  std::string onnxPath;
  std::string format = "summary";
  std::string filterTag;
  std::string excludeTag;
  std::string outputFile;
  std::string extractTag;
  std::string outputModel;
};
}  // namespace

Command addAnalyzeCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("analyze", "Report the module hierarchy, op types and stamps of an ONNX file");
  auto o = std::make_shared<AnalyzeOptions>();
  cmd->add_option("ONNX_PATH", o->onnxPath, "ONNX file (ours or any other exporter's)")->required();
  cmd->add_option("--output-format", o->format,
                  "summary, detailed, json, csv, or names (the selected nodes' names, one per line)")
      ->check(CLI::IsMember({"summary", "detailed", "json", "csv", "names"}))
      ->capture_default_str();
  cmd->add_option("--filter-tag", o->filterTag,
                  "Only this module and its descendants (tag prefix by segment); 'auxiliary': projected nodes");
  cmd->add_option("--exclude-tag", o->excludeTag,
                  "Leave out this module and its descendants (the complement of --filter-tag)");
  cmd->add_option("--output-file", o->outputFile, "Write the report here instead of stdout");
  auto* extract = cmd->add_option("--extract-subgraph", o->extractTag,
                                  "Write the nodes of this module as a model of their own");
  cmd->add_option("--output-model", o->outputModel, "ONNX file for --extract-subgraph")->needs(extract);
  return {cmd, [o]() {
    if (!o->extractTag.empty() && o->outputModel.empty())
      throw UserError("--extract-subgraph needs --output-model PATH");
    onnx::ModelProto model = readModel(o->onnxPath);
    const auto sourceDir = std::filesystem::path(o->onnxPath).parent_path();
    const std::string modelDir = sourceDir.empty() ? "." : sourceDir.string();
    std::vector<std::string> inputs = externalDataFiles(model, modelDir);
    inputs.push_back(o->onnxPath);
    refuseOutputsOverInputs({o->outputFile, o->outputModel}, inputs);
    ModelHierarchy hierarchy = readHierarchy(model.graph());
    if (!o->extractTag.empty()) {
      ExtractedSubgraph sub = extractSubgraph(model, hierarchy, o->extractTag);
      // The extracted file may go elsewhere: it carries its weights itself.
      inlineExternalData(sub.model, modelDir);
      checkModelFull(sub.model);
      writeModelAtomically(sub.model, o->outputModel);
      std::cout << "extracted " << o->extractTag << " to " << o->outputModel << ": " << sub.nodes << " nodes, "
                << sub.inputs << " inputs, " << sub.outputs << " outputs, " << sub.initializers
                << " initializers; checker passed\n";
      return 0;
    }
    const AnalysisReport report = buildAnalysisReport(model, hierarchy, o->filterTag, o->onnxPath, o->excludeTag);
    std::string text;
    if (o->format == "json") text = jsonReportText(toJson(report));
    else if (o->format == "csv") text = renderAnalysisCsv(report);
    else if (o->format == "names") text = renderAnalysisNames(report);
    else if (o->format == "detailed") text = renderAnalysisDetailed(report);
    else text = renderAnalysisSummary(report);
    printOrWriteReport(text, o->outputFile, o->format);
    return 0;
  }};
}

}  // namespace modelexport::cli

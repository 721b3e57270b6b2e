#include <iostream>

#include "modelexport/cli_commands.h"
#include "modelexport/model_comparison.h"
#include "modelexport/model_writer.h"
#include "modelexport/report_json.h"
#include "modelexport/report_text.h"

namespace modelexport::cli {

Command addCompareCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("compare", "Compare two ONNX files: structure and hierarchy tags");
  auto paths = std::make_shared<std::vector<std::string>>();
  auto outputFile = std::make_shared<std::string>();
  cmd->add_option("A B", *paths, "The two ONNX files")->required()->expected(2);
  cmd->add_option("--output-file", *outputFile, "Write the full report as JSON here");
  return {cmd, [paths, outputFile]() {
    onnx::ModelProto a = readModel((*paths)[0]);
    onnx::ModelProto b = readModel((*paths)[1]);
    const ComparisonReport report = compareModels(a, b, (*paths)[0], (*paths)[1]);
    std::cout << renderComparisonSummary(report);
    if (!outputFile->empty()) {
      writeFileAtomically(*outputFile, jsonReportText(toJson(report)));
      std::cout << "\nfull report: " << *outputFile << "\n";
    }
    return 0;
  }};
}

}  // namespace modelexport::cli

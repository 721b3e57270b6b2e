#include <iostream>

#include "modelexport/cli_commands.h"
#include "modelexport/example_inputs.h"
#include "modelexport/exporter.h"

namespace modelexport::cli {

// The ONNX file and sidecar were written, the GraphML asked for by --with-graphml was not.
constexpr int kExitGraphmlFailed = 3;

Command addExportCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("export", "Export a TorchScript model to hierarchy-stamped ONNX");
  auto options = std::make_shared<ExportOptions>();
  auto shape = std::make_shared<std::string>("1,128");
  cmd->add_option("MODEL_NAME_OR_PATH", options->modelPath, "TorchScript .pt file")->required();
  cmd->add_option("OUTPUT_PATH", options->outputPath, "ONNX file to write")->required();
  cmd->add_option("--input-shape", *shape, "Shape of every tensor input, comma-separated")
      ->capture_default_str();
  cmd->add_option("--opset-version", options->opset, "ONNX opset (11-17)")->capture_default_str();
  cmd->add_option("--strategy", options->strategy, "Tagging strategy: htp or usage_based")->capture_default_str();
  cmd->add_option("--temp-dir", options->tempDir, "Directory for temporary files");
  cmd->add_flag("-v,--verbose", options->verbose, "Print each stage with its time");
  auto* attrs = cmd->add_flag("--hierarchy-attrs", options->hierarchyAttrs,
                "Also write stamps as node attributes (not valid ONNX; see validate --repair)");
  cmd->add_flag("--with-graphml", options->withGraphml,
                "Also write <stem>_hierarchical_graph.graphml (+ .onnxdata, _htp_metadata.json); "
                "exit code 3 when only the GraphML failed");
  cmd->add_flag("--no-hierarchy-attrs", options->noHierarchyStamps,
                "Leave the stamps off the ONNX nodes (hierarchy stays in node names, the sidecar and the GraphML)")
      ->excludes(attrs);
  cmd->add_option("--dump-io", options->dumpIoDir,
                  "Write the example inputs and LibTorch's outputs to this directory (io.json)");
  return {cmd, [options, shape]() {
    options->inputShape = parseShape(*shape);
    ExportSummary summary = exportModel(*options, std::cerr);
    std::cout << "exported " << options->outputPath << ": " << summary.onnxNodes << " nodes, "
              << summary.stampedNodes << " stamped ("
              << (summary.onnxNodes ? 100.0 * summary.stampedNodes / summary.onnxNodes : 100.0)
              << "%), " << summary.modules << " modules; hierarchy in " << summary.sidecarPath << "\n";
    if (!summary.graphmlPath.empty()) std::cout << "graphml: " << summary.graphmlPath << "\n";
    if (!summary.graphmlError.empty()) {
      std::cerr << "modelexport: error: GraphML not written (the ONNX file was): " << summary.graphmlError << "\n";
      return kExitGraphmlFailed;
    }
    return 0;
  }};
}

}  // namespace modelexport::cli

#include <iostream>

#include "modelexport/cli_commands.h"
#include "modelexport/example_inputs.h"
#include "modelexport/exporter.h"
#include "modelexport/input_resolution.h"
#include "modelexport/input_spec_parser.h"

namespace modelexport::cli {

// The ONNX file and sidecar were written, the GraphML asked for by --with-graphml was not.
constexpr int kExitGraphmlFailed = 3;

Command addExportCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("export", "Export a TorchScript model to hierarchy-stamped ONNX");
  auto options = std::make_shared<ExportOptions>();
  auto shape = std::make_shared<std::string>("1,128");
  cmd->add_option("MODEL_NAME_OR_PATH", options->modelPath,
                  "TorchScript .pt file, a directory holding one (with config.json and tokenizer files), "
                  "or a Hugging Face name found in the local cache (never downloaded)")
      ->required();
  cmd->add_option("OUTPUT_PATH", options->outputPath, "ONNX file to write")->required();
  auto* shapeOption = cmd->add_option("--input-shape", *shape,
                                      "Shape of every tensor input, comma-separated (with text: the last "
                                      "dim is the sequence length, padded or truncated)")
                          ->capture_default_str();
  auto text = std::make_shared<std::string>();
  auto* textOption = cmd->add_option(
      "--input-text", *text,
      "Text tokenized with the model's tokenizer into input_ids, attention_mask, token_type_ids "
      "(default \"Hello world\" when the model's directory has a tokenizer)");
  auto specs = std::make_shared<std::string>();
  auto* specOption = cmd->add_option("--input-spec", *specs,
                                     "name:dtype:shape[,...], e.g. input_ids:int64:1x128 (dtypes float32, "
                                     "float16, int64, int32, bool); overrides inference for the inputs it names");
  cmd->add_option("--output-names", options->outputNames,
                  "Names of the ONNX outputs, comma-separated, one per output (tuples flattened); "
                  "default: the names of the returned TorchScript values")
      ->delimiter(',');
  cmd->add_option("--opset-version", options->opset, "ONNX opset (11-17)")->capture_default_str();
  cmd->add_option("--strategy", options->strategy, "Tagging strategy: htp or usage_based")->capture_default_str();
  cmd->add_option("--temp-dir", options->tempDir, "Directory for temporary files");
  cmd->add_flag("-v,--verbose", options->verbose, "Print each stage with its time");
  cmd->add_flag("--external-data", options->externalData,
                "Write weights to <OUTPUT_PATH>.data (automatic above 2 GB)");
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
  return {cmd, [options, shape, shapeOption, text, textOption, specs, specOption]() {
    InputRequest request;
    request.modelNameOrPath = options->modelPath;
    if (textOption->count()) request.text = *text;
    if (shapeOption->count()) request.shape = parseShape(*shape);
    if (specOption->count()) request.specs = parseInputSpecs(*specs);
    ResolvedInputs resolved = resolveInputs(request);
    options->modelPath = resolved.torchscriptPath;
    options->inputShape = resolved.inputShape;
    options->namedInputs = resolved.namedInputs;
    if (options->verbose) std::cerr << resolved.description << "\n";
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

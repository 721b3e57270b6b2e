#include <filesystem>
#include <iostream>

#include "modelexport/cli_commands.h"
#include "modelexport/errors.h"
#include "modelexport/graphml_format.h"
#include "modelexport/graphml_reader.h"
#include "modelexport/graphml_writer.h"
#include "modelexport/model_equality.h"
#include "modelexport/model_writer.h"
#include "modelexport/output_paths.h"

namespace modelexport::cli {

namespace {
// The GraphML, the weight and metadata files beside it, and the --reference model.
std::vector<std::string> graphmlInputFiles(const std::string& graphmlPath, const std::string& referencePath) {
  std::vector<std::string> files{graphmlPath, referencePath};
  const std::string suffix = graphml::kGraphmlSuffix;
  const std::string name = std::filesystem::path(graphmlPath).filename().string();
  if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
    const auto onnxPath = std::filesystem::path(graphmlPath).parent_path() / (name.substr(0, name.size() - suffix.size()) + ".onnx");
    const GraphmlPaths siblings = graphmlPathsFor(onnxPath.string());
    files.insert(files.end(), {siblings.data, siblings.metadata});
  }
  return files;
}
}  // namespace

// Exit codes: 0 rebuilt (and valid), 1 unreadable input, 2 rebuilt but --validate failed.
Command addImportOnnxCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("import-onnx", "Rebuild an ONNX model from a hierarchical GraphML export");
  struct Options {
    std::string graphmlPath;
    std::string outputPath;
    bool validate = false;
    std::string referencePath;
  };
  auto options = std::make_shared<Options>();
  cmd->add_option("GRAPHML", options->graphmlPath, "<stem>_hierarchical_graph.graphml from export --with-graphml")
      ->required();
  cmd->add_option("OUTPUT", options->outputPath, "ONNX file to write")->required();
  cmd->add_flag("--validate", options->validate, "Run the ONNX checker on the result (exit 2 when it fails)");
  cmd->add_option("--reference", options->referencePath,
                  "Original ONNX file to compare with, field by field (implies --validate)");
  return {cmd, [options]() {
    refuseOutputsOverInputs({options->outputPath}, graphmlInputFiles(options->graphmlPath, options->referencePath));
    onnx::ModelProto model = readHierarchicalGraphml(options->graphmlPath);
    bool valid = true;
    if (options->validate || !options->referencePath.empty()) {
      try {
        // External data references (of an --external-data export) are relative to the
        // directory the GraphML was written in.
        const auto dir = std::filesystem::path(options->graphmlPath).parent_path();
        checkModelFull(model, dir.empty() ? "." : dir.string());
        std::cout << "checker: ok\n";
      } catch (const UserError& e) {
        std::cout << "checker: FAILED: " << e.what() << "\n";
        valid = false;
      }
    }
    if (!options->referencePath.empty()) {
      auto differences = modelDifferences(readModel(options->referencePath), model);
      if (differences.empty()) {
        std::cout << "reference: graph equal to " << options->referencePath << "\n";
      } else {
        std::cout << "reference: differs from " << options->referencePath << ":\n";
        for (const auto& line : differences) std::cout << "  " << line << "\n";
        valid = false;
      }
    }
    writeModelAtomically(model, options->outputPath);
    std::cout << "imported " << options->graphmlPath << " -> " << options->outputPath << ": "
              << model.graph().node_size() << " nodes, " << model.graph().initializer_size() << " initializers\n";
    return valid ? 0 : 2;
  }};
}

}  // namespace modelexport::cli

#include <filesystem>
#include <iostream>

#include "modelexport/cli_commands.h"
#include "modelexport/errors.h"
#include "modelexport/hierarchy_restamp.h"
#include "modelexport/model_writer.h"
#include "modelexport/output_paths.h"
#include "modelexport/report_text.h"

namespace modelexport::cli {

namespace {
struct RestampOptions {
  std::string optimizedPath;
  std::string referencePath;
  std::string output;
};

std::string directoryOf(const std::string& path) {
  const auto dir = std::filesystem::path(path).parent_path();
  return dir.empty() ? "." : dir.string();
}

}  // namespace

Command addRestampCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "restamp", "Stamp every node of an optimized ONNX file again from the file it was optimized from");
  auto o = std::make_shared<RestampOptions>();
  cmd->add_option("OPTIMIZED", o->optimizedPath,
                  "ONNX file an optimizer rewrote (onnxruntime's optimized_model_filepath, onnxscript, "
                  "constant folding)")
      ->required();
  cmd->add_option("--reference", o->referencePath,
                  "The file it was made from, with the hierarchy (stamps, hierarchy_* attributes or scoped names)")
      ->required();
  cmd->add_option("-o,--output", o->output, "Where the restamped file goes (written atomically)")->required();
  return {cmd, [o]() {
    onnx::ModelProto optimized = readModel(o->optimizedPath);
    const onnx::ModelProto asGiven = optimized;
    const onnx::ModelProto reference = readModel(o->referencePath);
    std::vector<std::string> inputs = externalDataFiles(optimized, directoryOf(o->optimizedPath));
    inputs.insert(inputs.end(), {o->optimizedPath, o->referencePath});
    refuseOutputsOverInputs({o->output}, inputs);
    RestampSummary summary;
    try {
      summary = restampHierarchy(optimized, reference);
    } catch (const UserError& e) {
      throw UserError(o->referencePath + ": " + e.what());
    }
    // External weights stay where they are: the file keeps pointing at them, relative to
    // its directory, so it must go to the same directory.
    if (!externalDataFiles(optimized, directoryOf(o->optimizedPath)).empty() &&
        std::filesystem::absolute(directoryOf(o->output)) != std::filesystem::absolute(directoryOf(o->optimizedPath)))
      inlineExternalData(optimized, directoryOf(o->optimizedPath));
    // Only stamps change, so a failure the optimizer's file already has is reported, not
    // fatal (onnxruntime writes its internal LayerNormalization at opsets before 17).
    auto checkerError = [&](const onnx::ModelProto& model) -> std::string {
      try {
        checkModelFull(model, directoryOf(o->optimizedPath));
        return "";
      } catch (const UserError& e) {
        return e.what();
      }
    };
    std::string checker = "checker passed";
    if (const std::string after = checkerError(optimized); !after.empty()) {
      if (checkerError(asGiven) != after)
        throw UserError(o->optimizedPath + ": the restamped model fails the ONNX checker, nothing written: " + after);
      checker = "checker fails as on " + o->optimizedPath + " itself: " + after;
    }
    writeModelAtomically(optimized, o->output);
    std::cout << renderRestampText({o->optimizedPath, o->output, o->referencePath, checker, summary});
    return 0;
  }};
}

}  // namespace modelexport::cli

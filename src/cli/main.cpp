// modelexport: TorchScript to ONNX with the module hierarchy on every node.
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>

#include "modelexport/cli_commands.h"
#include "modelexport/errors.h"

namespace {

// Every output file is closed by the time a command returns; LibTorch's static
// destructors would only spend ~0.1 s tearing down its operator registry.
[[noreturn]] void exitNow(int code) {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  std::_Exit(code);
}

int run(int argc, char** argv) {
  CLI::App app{"modelexport: export TorchScript models to ONNX with the PyTorch module hierarchy "
               "stamped on every node"};
  app.set_version_flag("--version", std::string("modelexport ") + MODELEXPORT_VERSION);
  app.require_subcommand(1);
  std::vector<modelexport::cli::Command> commands{
      modelexport::cli::addExportCommand(app),
      modelexport::cli::addAnalyzeCommand(app),
      modelexport::cli::addValidateCommand(app),
      modelexport::cli::addCompareCommand(app),
      modelexport::cli::addImportOnnxCommand(app),
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& command : commands)
      if (command.parser->parsed()) return command.action();
  } catch (const modelexport::UserError& e) {
    std::cerr << "modelexport: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "modelexport: error: " << modelexport::firstLine(e.what()) << "\n";
    return 1;
  }
  return 1;
}

}  // namespace

int main(int argc, char** argv) { exitNow(run(argc, argv)); }

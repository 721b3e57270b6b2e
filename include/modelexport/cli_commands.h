#pragma once
// One function per subcommand: each adds its options to the parser and returns the
// action to run. main() owns error handling and exit codes.
#include <functional>

#include <CLI/CLI.hpp>

namespace modelexport::cli {

using Action = std::function<int()>;

struct Command {
  CLI::App* parser;
  Action action;
};

Command addExportCommand(CLI::App& app);
Command addAnalyzeCommand(CLI::App& app);
Command addValidateCommand(CLI::App& app);
Command addCompareCommand(CLI::App& app);
Command addImportOnnxCommand(CLI::App& app);

}  // namespace modelexport::cli

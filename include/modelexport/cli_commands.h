#pragma once
// One function per subcommand: each adds its options to the parser and returns the
// action to run. main() owns error handling and exit codes.
#include <functional>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace modelexport::cli {

using Action = std::function<int()>;

struct Command {
  CLI::App* parser;
  Action action;
};

// The top-level parser, with --version; the subcommands are added by the caller.
CLI::App& makeApp(CLI::App& app);
constexpr const char* kAppDescription =
    "modelexport: export PyTorch models (TorchScript, torch.export) to ONNX with the module hierarchy stamped on "
    "every node";
constexpr const char* kExportDescription = "Export a TorchScript (.pt) or torch.export (.pt2) model to hierarchy-stamped ONNX";

// Parses argv and runs the chosen command: errors become one line and exit code 1.
int runCommandLine(CLI::App& app, std::vector<Command>& commands, int argc, char** argv);

// A report as indented JSON; bytes that are not UTF-8 (a name in a hostile file) print
// as U+FFFD rather than failing.
std::string jsonReportText(const nlohmann::json& report);

// Prints `text`, or writes it atomically to `outputFile` and says so (analyze, profile).
void printOrWriteReport(const std::string& text, const std::string& outputFile, const std::string& format);

// export lives in a shared library with LibTorch (export_engine.h), the others do not
// need LibTorch at all.
Command addExportCommand(CLI::App& app);
Command addAnalyzeCommand(CLI::App& app);
Command addValidateCommand(CLI::App& app);
Command addCompareCommand(CLI::App& app);
Command addImportOnnxCommand(CLI::App& app);
Command addProfileCommand(CLI::App& app);
Command addRestampCommand(CLI::App& app);

}  // namespace modelexport::cli

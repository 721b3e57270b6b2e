#include <iostream>

#include "modelexport/cli_commands.h"
#include "modelexport/errors.h"
#include "modelexport/temporary_file.h"

namespace modelexport::cli {

CLI::App& makeApp(CLI::App& app) {
  app.set_version_flag("--version", std::string("modelexport ") + MODELEXPORT_VERSION);
  app.require_subcommand(1);
  return app;
}

namespace {

// -v: the full text behind the one-line error (LibTorch's, with its backtrace).
void printDetail(const std::string& detail) {
  std::cerr << "modelexport: the full error:\n" << detail << (detail.back() == '\n' ? "" : "\n");
}

bool hasVerboseFlag(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "-v" || std::string(argv[i]) == "--verbose") return true;
  return false;
}

}  // namespace

int runCommandLine(CLI::App& app, std::vector<Command>& commands, int argc, char** argv) {
  const bool verbose = hasVerboseFlag(argc, argv);
  // A first word that is no option and no command: name it and the commands there are
  // (CLI11 would only say that a subcommand is required).
  std::string known;
  bool isCommand = false;
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    known += (known.empty() ? "" : ", ") + sub->get_name();
    isCommand = isCommand || (argc >= 2 && sub->get_name() == argv[1]);
  }
  if (argc >= 2 && argv[1][0] != '-' && !isCommand) {
    std::cerr << "modelexport: error: '" << argv[1] << "' is not a command (commands: " << known
              << "; modelexport --help says more)\n";
    return static_cast<int>(CLI::ExitCodes::ExtrasError);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& command : commands)
      if (command.parser->parsed()) return command.action();
  } catch (const UserError& e) {
    std::cerr << "modelexport: error: " << e.what() << "\n";
    if (verbose && !e.detail().empty()) printDetail(e.detail());
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "modelexport: error: " << firstLine(e.what()) << "\n";
    if (verbose && firstLine(e.what()) != e.what()) printDetail(e.what());
    return 1;
  }
  return 1;
}

std::string jsonReportText(const nlohmann::json& report) {
  return report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void printOrWriteReport(const std::string& text, const std::string& outputFile, const std::string& format) {
  if (outputFile.empty()) {
    std::cout << text;
    return;
  }
  writeFileAtomically(outputFile, text);
  std::cout << "wrote " << format << " report to " << outputFile << "\n";
}

}  // namespace modelexport::cli

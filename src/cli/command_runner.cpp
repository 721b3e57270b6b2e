#include <iostream>

#include "modelexport/cli_commands.h"
#include "modelexport/errors.h"

namespace modelexport::cli {

CLI::App& makeApp(CLI::App& app) {
  app.set_version_flag("--version", std::string("modelexport ") + MODELEXPORT_VERSION);
  app.require_subcommand(1);
  return app;
}

int runCommandLine(CLI::App& app, std::vector<Command>& commands, int argc, char** argv) {
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
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "modelexport: error: " << firstLine(e.what()) << "\n";
    return 1;
  }
  return 1;
}

}  // namespace modelexport::cli

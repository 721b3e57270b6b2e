#include "modelexport/export_engine.h"

#include "modelexport/cli_commands.h"

extern "C" __attribute__((visibility("default"))) int modelexport_export_main(int argc, char** argv) {
  using namespace modelexport::cli;
  CLI::App app{kAppDescription};
  makeApp(app);
  std::vector<Command> commands{addExportCommand(app)};
  return runCommandLine(app, commands, argc, argv);
}

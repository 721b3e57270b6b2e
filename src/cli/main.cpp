// modelexport: TorchScript to ONNX with the module hierarchy on every node.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "modelexport/cli_commands.h"
#include "modelexport/export_engine.h"

namespace {

// Every output file is closed by the time a command returns; LibTorch's static
// destructors would only spend ~0.1 s tearing down its operator registry.
[[noreturn]] void exitNow(int code) {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  std::_Exit(code);
}

// The export engine sits next to the binary in the build tree, in ../lib/modelexport
// when installed (cmake --install, pip install); LibTorch comes with it.
int runExport(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  const fs::path own = (ec ? fs::path(argv[0]) : self).parent_path();
  fs::path library = own / MODELEXPORT_EXPORT_ENGINE_LIBRARY;
  const fs::path installed = own.parent_path() / "lib" / "modelexport" / MODELEXPORT_EXPORT_ENGINE_LIBRARY;
  if (!fs::exists(library, ec) && fs::exists(installed, ec)) library = installed;
  // LibTorch's OpenMP threads otherwise spin after each parallel op, waiting for the next
  // one. The export runs short ops between long stretches of its own work (the writer
  // reorders weights on a second thread): spinning only takes the cores that work needs
  // (672M-parameter export on 2 cores: run 1.9 s -> 0.7 s). libgomp reads this when the
  // engine loads it; a value the user set stays.
  setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
  void* handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    std::cerr << "modelexport: error: " << library.string() << ": cannot load the export engine: " << dlerror() << "\n";
    return 1;
  }
  using Entry = int (*)(int, char**);
  auto entry = reinterpret_cast<Entry>(dlsym(handle, MODELEXPORT_EXPORT_ENGINE_ENTRY));
  if (!entry) {
    std::cerr << "modelexport: error: " << library.string() << ": no " << MODELEXPORT_EXPORT_ENGINE_ENTRY << "\n";
    return 1;
  }
  return entry(argc, argv);
}

int run(int argc, char** argv) {
  using namespace modelexport::cli;
  if (argc >= 2 && std::strcmp(argv[1], "export") == 0) return runExport(argc, argv);
  CLI::App app{kAppDescription};
  makeApp(app);
  // Listed for --help; `modelexport export ...` never reaches this parser.
  app.add_subcommand("export", kExportDescription);
  std::vector<Command> commands{
      addAnalyzeCommand(app),
      addValidateCommand(app),
      addCompareCommand(app),
      addImportOnnxCommand(app),
      addProfileCommand(app),
      addRestampCommand(app),
  };
  return runCommandLine(app, commands, argc, argv);
}

}  // namespace

int main(int argc, char** argv) { exitNow(run(argc, argv)); }

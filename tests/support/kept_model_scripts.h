#pragma once
// Models that a Python script makes for a test suite (tests/tools/make_*.py), made once per
// suite and, where the scripts allow it, kept in the build tree between test runs under a
// key of what made them. Shared by the unit and end-to-end suites.
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace modelexport::testing {

// One script of a suite, run as `PYTHON SOURCE_DIR/SCRIPT DIR[/FOLDER]`.
struct ModelScript {
  ModelScript(std::string python, std::string script, std::string folder = "")
      : python(std::move(python)), script(std::move(script)), folder(std::move(folder)) {}
  std::string python;  // MODELEXPORT_PYTHON (Debian's torch 1.13 and torchvision) or MODELEXPORT_VENV_PYTHON
  std::string script;  // relative to the source tree
  // "": the suite's directory. Else a folder in it, whose manifest entries are named
  // "FOLDER/NAME" (its models are FOLDER/NAME.pt in the suite's directory).
  std::string folder;
};

struct MadeModels {
  std::string dir;
  std::string log;          // every script's stdout and stderr
  bool ok = false;          // every script exited 0
  nlohmann::json manifest;  // the scripts' manifests in one object, when ok and one is named
};

// Runs every script (all of them, so the log says what each did) into `dir`; when all
// exit 0 and `manifestName` is not empty, reads each one's DIR[/FOLDER]/MANIFEST_NAME.
MadeModels runModelScripts(const std::string& dir, const std::vector<ModelScript>& scripts,
                           const std::string& manifestName = "models.json");

// Runs the scripts into BUILD/fixtures/NAME only when what made the models there differs,
// else reads the kept manifests. The key (kept in NAME/made.key) covers the scripts and
// folders, the Python files of tests/tools and tools each script names (transitively: the
// modules it imports and the files it hashes or runs), and each interpreter's version and
// installed distributions. Under a lock, for the single-test ctests run in parallel.
MadeModels runKeptModelScripts(const std::string& name, const std::vector<ModelScript>& scripts,
                               const std::string& manifestName = "models.json");

// BUILD/fixtures/NAME: models kept between test runs (for scripts that remake what is
// stale themselves).
std::string buildTreeModelDir(const std::string& name);

}  // namespace modelexport::testing

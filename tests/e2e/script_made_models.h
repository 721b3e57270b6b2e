#pragma once
// The base of the end-to-end suites whose models a Python script makes (tests/tools/
// make_*.py): the scripts run once per suite in SetUpTestSuite, and each test finds the
// models in dir_ and their manifest in manifest_. A suite states only its scripts and
// where their files go, in `static MadeModels makeModels()`; a test asserts ok_ first,
// which shows the scripts' output when one failed.
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e_support.h"

namespace modelexport::e2e {

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

// Runs the scripts into BUILD/fixtures/NAME only when what made the models there differs
// (the scripts and folders, every .py of tests/tools and tools, which they import, and
// each interpreter's version and installed distributions; kept in NAME/made.key): else
// reads the kept manifests. Under a lock, for the single-test ctests run in parallel.
MadeModels runKeptModelScripts(const std::string& name, const std::vector<ModelScript>& scripts,
                               const std::string& manifestName = "models.json");

// BUILD/fixtures/NAME: models kept between test runs (for scripts that remake what is
// stale themselves).
std::string buildTreeModelDir(const std::string& name);

template <typename Suite, typename TestBase = ::testing::Test>
class ScriptMadeModels : public TestBase {
 public:
  static void SetUpTestSuite() {
    MadeModels made = Suite::makeModels();
    dir_ = std::move(made.dir);
    log_ = std::move(made.log);
    ok_ = made.ok;
    manifest_ = std::move(made.manifest);
  }

 protected:
  const nlohmann::json& entry(const std::string& name) const { return manifest_.at(name); }

  // `modelexport export DIR/NAME.pt OUT --input-spec SPEC OPTIONS`, SPEC from the manifest.
  CommandResult exportWithInputSpec(const std::string& name, const std::string& out, const std::string& options) const {
    return runModelexportSplit("export " + shellQuote(dir_ + "/" + name + ".pt") + " " + shellQuote(out) +
                               " --input-spec " + entry(name).at("input_spec").template get<std::string>() + " " +
                               options);
  }

  inline static std::string dir_, log_;
  inline static bool ok_ = false;
  inline static nlohmann::json manifest_;
};

}  // namespace modelexport::e2e

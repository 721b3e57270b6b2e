#pragma once
// The base of the end-to-end suites whose models a Python script makes (tests/tools/
// make_*.py): the scripts run once per suite in SetUpTestSuite, and each test finds the
// models in dir_ and their manifest in manifest_. A suite states only its scripts and
// where their files go, in `static MadeModels makeModels()`; a test asserts ok_ first,
// which shows the scripts' output when one failed.
#include <string>
#include <utility>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e_support.h"
#include "kept_model_scripts.h"

namespace modelexport::e2e {

// The shared script-made model helpers (tests/support/kept_model_scripts.h), by their short
// names in every end-to-end suite.
using testing::buildTreeModelDir;
using testing::MadeModels;
using testing::ModelScript;
using testing::runKeptModelScripts;
using testing::runModelScripts;

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

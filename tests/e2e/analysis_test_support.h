#pragma once
// Helpers for the analyze/validate/compare end-to-end tests.
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace modelexport::testing {

inline nlohmann::json fixtureManifest() {
  std::ifstream in(std::string(MODELEXPORT_FIXTURE_DIR) + "/fixtures.json");
  return nlohmann::json::parse(in);
}

// Exports a fixture with its manifest arguments plus `extraArgs`; fails the test on error.
inline std::string exportFixture(const std::string& fixture, const std::string& dir,
                                 const std::string& extraArgs = "", const std::string& fileName = "") {
  std::string args;
  const nlohmann::json manifest = fixtureManifest();  // kept alive: the loop reads into it
  for (const auto& a : manifest[fixture]["cli_args"]) args += " " + shellQuote(a.get<std::string>());
  const std::string out = dir + "/" + (fileName.empty() ? fixture + ".onnx" : fileName);
  const std::string command = "export " + shellQuote(fixturePath(fixture)) + " " + shellQuote(out) + args + " " + extraArgs;
  ProcessResult r = runModelexport(command);
  EXPECT_EQ(r.exitCode, 0) << "modelexport " << command << "\n" << r.output;
  return out;
}

inline nlohmann::json readJsonFile(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// The JSON document printed by a command (stdout and stderr are captured together, so
// parse from the first '{').
inline nlohmann::json jsonFromOutput(const std::string& output) {
  auto start = output.find('{');
  if (start == std::string::npos) return nlohmann::json();
  return nlohmann::json::parse(output.substr(start), nullptr, false);
}

}  // namespace modelexport::testing

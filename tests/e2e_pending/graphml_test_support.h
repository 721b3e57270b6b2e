#pragma once
// Helpers for the GraphML end-to-end tests.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace modelexport::testing {

inline std::string fixtureCliArgs(const std::string& fixture) {
  std::ifstream in(std::string(MODELEXPORT_FIXTURE_DIR) + "/fixtures.json");
  nlohmann::json manifest = nlohmann::json::parse(in);
  std::string args;
  for (const auto& a : manifest.at(fixture).at("cli_args")) args += " " + shellQuote(a.get<std::string>());
  return args;
}

// Exports a fixture to DIR/<fixture>.onnx with the manifest's arguments plus `extraArgs`.
inline ProcessResult exportFixtureTo(const std::string& fixture, const std::string& dir, const std::string& extraArgs) {
  return runModelexport("export " + shellQuote(fixturePath(fixture)) + " " + shellQuote(dir + "/" + fixture + ".onnx") +
                        fixtureCliArgs(fixture) + " " + extraArgs);
}

inline std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline void writeText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace modelexport::testing

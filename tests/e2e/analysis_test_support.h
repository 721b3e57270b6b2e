#pragma once
// Helpers for the analyze/validate/compare end-to-end tests.
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e_support.h"
#include "in_process_export.h"
#include "test_support.h"

namespace modelexport::testing {

inline nlohmann::json fixtureManifest() {
  std::ifstream in(std::string(MODELEXPORT_FIXTURE_DIR) + "/fixtures.json");
  return nlohmann::json::parse(in);
}

// A fixture exported with its manifest arguments, read from the build tree's export cache
// (e2e_support.h cachedExport: the same command, whose --dump-io only adds files beside
// it; made once per binary for every suite). Tests only read it; one that changes the
// file works on copyOfFixtureExport.
inline std::string sharedFixtureExport(const std::string& fixture) {
  const e2e::FixtureExport exported = e2e::cachedExport(fixture);
  EXPECT_TRUE(exported.ok) << exported.log;
  return exported.onnxPath;
}

// The shared export and its sidecar copied to DIR/<fixture>.onnx, as an export there writes them.
inline std::string copyOfFixtureExport(const std::string& fixture, const std::string& dir) {
  const e2e::FixtureExport exported = e2e::cachedExport(fixture);
  EXPECT_TRUE(exported.ok) << exported.log;
  const std::string out = dir + "/" + fixture + ".onnx";
  std::filesystem::copy_file(exported.onnxPath, out, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(exported.sidecarPath, dir + "/" + fixture + "_hierarchy.json",
                             std::filesystem::copy_options::overwrite_existing);
  return out;
}

// tools/torch_onnx_reference.py's torch.onnx.export of a fixture, made once and kept in the
// build tree by the content of the .pt and the scripts (e2e_support.h); fails the test on error.
inline std::string torchOnnxFile(const std::string& fixture) {
  std::string log;
  const std::string path = e2e::cachedTorchOnnxReference(fixture, log);
  EXPECT_FALSE(path.empty()) << "torch_onnx_reference.py --fixture " << fixture << ":\n" << log;
  return path;
}

// Exports a fixture with its manifest arguments to DIR/FILE_NAME in the test process
// (in_process_export.h), `configure` adding options; fails the test on error.
template <typename Configure>
inline std::string exportFixtureInProcess(const std::string& fixture, const std::string& dir,
                                          const std::string& fileName, Configure configure) {
  e2e::ExportArguments arguments = e2e::fixtureExportArguments(fixture, dir + "/" + fileName);
  configure(arguments);
  const e2e::InProcessExport exported = e2e::exportInProcess(arguments);
  EXPECT_TRUE(exported.ok) << fixture << ": " << exported.error << "\n" << exported.log;
  return arguments.outputPath;
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

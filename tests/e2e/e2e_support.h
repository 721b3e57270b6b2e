#pragma once
// Helpers of the end-to-end suite: the fixtures manifest, exports of the fixtures cached
// in the build tree (ctest runs every test in its own process; an export and, above all,
// a torch.onnx reference export are too slow to repeat in each), commands with stderr
// kept apart from stdout.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>

#include "test_support.h"

namespace modelexport::e2e {

// The shared test helpers, by their short names in every end-to-end test.
using testing::fixturePath;
using testing::freshWorkDir;
using testing::ortCheck;
using testing::pythonOnnxCheck;
using testing::shellQuote;

const std::vector<std::string>& fixtureNames();  // the five standard fixtures

// BUILD/fixtures/fixtures.json
const nlohmann::json& manifest();
const nlohmann::json& manifestEntry(const std::string& fixture);  // throws if absent

// The fixture's cli_args from the manifest, quoted for the shell (" --input-shape 1,3,224,224").
std::string cliArgs(const std::string& fixture);

struct CommandResult {
  int exitCode = -1;
  std::string out;
  std::string err;
};

// Runs a shell command with stdout and stderr captured separately.
CommandResult runSplit(const std::string& command);

// `modelexport ARGS` with stdout and stderr captured separately.
CommandResult runModelexportSplit(const std::string& arguments);

// /usr/bin/python3 SCRIPT ARGS (SCRIPT relative to the source tree).
CommandResult runPython(const std::string& script, const std::string& arguments);

// LibTorch's reference outputs for onnxruntime, made in this process the way
// `tests/tools/make_io.py MODEL IO_DIR --input NAME:DTYPE:SHAPE ...` makes them: the .pt
// loaded with torch::jit::load (not through the exporter's pipeline), eval, no grad, run on
// inputs drawn in order from one CPU generator seeded `seed` - floats standard normal,
// integers in [0, intHigh) except integer inputs whose name contains "mask" (all ones),
// bools 0/1 - with the same values make_io.py draws. The outputs, flattened in order, are
// named `outputNames` (or output_<i>). Writes IO_DIR/io.json and the .bin files; returns ""
// or what went wrong.
struct ReferenceOptions {
  int64_t intHigh = 100;
  std::vector<std::string> outputNames;
  uint64_t seed = 0;
};
std::string writeLibTorchReference(const std::string& modelPath, const std::string& ioDir,
                                   const std::vector<std::string>& inputSpecs, const ReferenceOptions& options = {});

// `tests/tools/make_io.py FIXTURE.pt IO_DIR --fixture FIXTURE` for each (fixture, IO_DIR)
// pair, all in one Python process (make_io.py's main called once per pair): the fixtures'
// own example inputs exist only as Python code (tools/fixture_models.py), so only Python
// can make them, and importing torch once instead of once per fixture saves ~1.3 s each.
CommandResult makeFixtureIo(const std::vector<std::pair<std::string, std::string>>& fixtureAndIoDir);

struct FixtureExport {
  std::string dir;
  std::string onnxPath;
  std::string sidecarPath;
  std::string ioDir;   // --dump-io
  std::string log;     // what the export printed
  bool ok = false;
};

// `modelexport export FIXTURE.pt DIR/FIXTURE.onnx CLI_ARGS --dump-io DIR/io`, done once per
// binary and fixture and kept under BUILD/e2e-cache (locked against parallel tests).
FixtureExport cachedExport(const std::string& fixture);

// A file a Python script writes, kept in BUILD/e2e-cache/FOLDER as STEM-HASH.EXT, HASH of
// the bytes of `keyFiles` and of `keyText`: `runPython(script, arguments(OUT))` runs only
// when no file of that hash is kept (older STEM-*.EXT files are removed then). Written
// beside it and renamed, under a lock: a parallel or interrupted test never leaves half a
// file. Returns the path; empty and `log` set on failure.
std::string keptScriptOutput(const std::string& folder, const std::string& stem, const std::string& extension,
                             const std::vector<std::string>& keyFiles, const std::string& keyText,
                             const std::string& script,
                             const std::function<std::string(const std::string& out)>& arguments, std::string& log);

// tools/torch_onnx_reference.py on the fixture, cached by the content of the .pt and the
// scripts (keptScriptOutput). Returns the .onnx path; empty and `log` set on failure.
std::string cachedTorchOnnxReference(const std::string& fixture, std::string& log);

std::string readFile(const std::string& path);
nlohmann::json readJson(const std::string& path);
onnx::ModelProto loadModel(const std::string& path);
// Every node of the model has a non-empty hierarchy_path stamp; `label` heads each failure.
void expectEveryNodeStamped(const onnx::ModelProto& model, const std::string& label);

// Names of the entries of a directory (sorted), empty if it does not exist.
std::vector<std::string> listDirectory(const std::string& dir);

}  // namespace modelexport::e2e

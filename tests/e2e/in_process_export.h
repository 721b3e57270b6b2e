#pragma once
// `modelexport export MODEL_FILE ...` run in the test process, for tests about what an
// export writes rather than about the command line: each modelexport process pays ~0.25 s
// of LibTorch start-up (static operator registration) that the test process has paid once.
// The steps are the export command's for a model file (src/cli/export_command.cpp): the
// --input-* options parsed, applyModelFileInputs (the command's own call), then exportModel.
// Command-line behaviour (exit codes, stderr, stdout lines) stays tested through the binary.
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include "e2e_support.h"
#include "modelexport/example_inputs.h"
#include "modelexport/exporter.h"
#include "modelexport/input_spec_parser.h"
#include "modelexport/libtorch_warnings.h"
#include "modelexport/model_file_inputs.h"

namespace modelexport::e2e {

// The export command's options that these tests use, as they would be typed.
struct ExportArguments {
  std::string modelPath;
  std::string outputPath;
  std::optional<std::string> inputShape;   // --input-shape "1,3,224,224"
  std::optional<std::string> inputSpec;    // --input-spec "x:float32:1x3x16x16,..."
  std::vector<std::string> outputNames;    // --output-names
  std::optional<int> opset;                // --opset-version
  std::string dumpIoDir;                   // --dump-io
  std::string strategy = "htp";            // --strategy
  bool withGraphml = false;                // --with-graphml
  bool hierarchyAttrs = false;             // --hierarchy-attrs
  bool noHierarchyAttrs = false;           // --no-hierarchy-attrs
};

struct InProcessExport {
  bool ok = false;
  std::string error;  // the exception's text when !ok (the CLI's "modelexport: error: " line)
  std::string log;    // what the export wrote to its log
  ExportSummary summary;
};

// The manifest's cli_args of a fixture (fixtures.json) as ExportArguments; throws on an
// option this reader does not know, so a new manifest option cannot be dropped silently.
inline void applyFixtureCliArgs(const nlohmann::json& cliArgs, ExportArguments& arguments) {
  std::vector<std::string> words;
  for (const auto& word : cliArgs) words.push_back(word.get<std::string>());
  for (size_t i = 0; i < words.size(); ++i) {
    if (i + 1 >= words.size()) throw std::runtime_error("cli_args: " + words[i] + " has no value");
    const std::string& value = words[++i];
    if (words[i - 1] == "--input-shape") {
      arguments.inputShape = value;
    } else if (words[i - 1] == "--output-names") {
      std::stringstream names(value);
      for (std::string name; std::getline(names, name, ',');) arguments.outputNames.push_back(name);
    } else {
      throw std::runtime_error("cli_args: " + words[i - 1] + " is not read by applyFixtureCliArgs");
    }
  }
}

// A fixture's export to `outputPath` with its manifest's cli_args (fixtures.json).
inline ExportArguments fixtureExportArguments(const std::string& fixture, const std::string& outputPath) {
  ExportArguments arguments;
  arguments.modelPath = testing::fixturePath(fixture);
  arguments.outputPath = outputPath;
  applyFixtureCliArgs(manifestEntry(fixture).at("cli_args"), arguments);
  return arguments;
}

// One intra-op thread while it lasts: ctest -j2 keeps both cores busy, and LibTorch's
// OpenMP workers in a long-lived test process then spin-wait for a core (HalfPrecision and
// OpsetMatrixTest under load: 23.8 s CPU with two threads, 7.1 s with one, 9.3 s with two
// on an idle machine). What the export computes does not depend on it.
class OneIntraOpThread {
 public:
  OneIntraOpThread() : previous_(at::get_num_threads()) { at::set_num_threads(1); }
  ~OneIntraOpThread() { at::set_num_threads(previous_); }
  OneIntraOpThread(const OneIntraOpThread&) = delete;
  OneIntraOpThread& operator=(const OneIntraOpThread&) = delete;

 private:
  int previous_;
};

inline InProcessExport exportInProcess(const ExportArguments& arguments) {
  InProcessExport result;
  std::ostringstream log;
  try {
    const OneIntraOpThread oneThread;
    const LibTorchWarningsToLog libTorchWarnings(nullptr);  // as the CLI without -v: dropped
    ExportOptions options;
    options.outputPath = arguments.outputPath;
    options.outputNames = arguments.outputNames;
    options.opset = arguments.opset;
    options.dumpIoDir = arguments.dumpIoDir;
    options.strategy = arguments.strategy;
    options.withGraphml = arguments.withGraphml;
    options.hierarchyAttrs = arguments.hierarchyAttrs;
    options.noHierarchyStamps = arguments.noHierarchyAttrs;
    InputRequest request;
    request.modelNameOrPath = arguments.modelPath;
    if (arguments.inputShape) request.shape = parseShape(*arguments.inputShape);
    if (arguments.inputSpec) request.specs = parseInputSpecs(*arguments.inputSpec);
    applyModelFileInputs(request, options);
    result.summary = exportModel(options, log);
    result.ok = true;
  } catch (const std::exception& e) {
    result.error = e.what();
  }
  result.log = log.str();
  return result;
}

}  // namespace modelexport::e2e

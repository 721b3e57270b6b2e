#pragma once
// Shared helpers for unit and end-to-end tests.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <onnx/onnx_pb.h>

#include "modelexport/example_inputs.h"

namespace modelexport::testing {

struct ProcessResult {
  int exitCode = -1;
  std::string output;  // stdout and stderr together
};

// Runs a shell command, capturing its output.
ProcessResult runCommand(const std::string& command);

// A fresh, empty directory for one test under the build tree.
std::string freshWorkDir(const std::string& name);

// Quotes a path for the shell.
std::string shellQuote(const std::string& text);

// node tests/tools/ort_check.js MODEL IO_DIR --tol TOL: onnxruntime vs LibTorch outputs.
// Answered by one long-lived `ort_check.js --server` per test process (the same check and
// output line); a check runs as its own `node` process when the server cannot answer, or
// always with MODELEXPORT_ORT_CHECK_NO_SERVER=1.
ProcessResult ortCheck(const std::string& onnxPath, const std::string& ioDir, double tolerance = 1e-4);

// How ortCheck's tolerance bounds the outputs' difference: max |a-b|/(1+|b|), or with
// kAbsolute max |a-b| (ort_check.js --abs: within one step of a quantized output).
enum class OrtMetric { kRelative, kAbsolute };

// ortCheck of one model on several IO dirs (input sets) in one onnxruntime session: loading
// a large model costs more than running it. Result i is ioDirs[i]'s, the same status and
// line as that dir's own check.
std::vector<ProcessResult> ortCheckSets(const std::string& onnxPath, const std::vector<std::string>& ioDirs,
                                        double tolerance = 1e-4, OrtMetric metric = OrtMetric::kRelative);

// Python's onnx.checker.check_model(full_check=True) on a file (onnx from PyPI, in .venv;
// tests/tools/onnx_check.py says how). Answered by one long-lived `onnx_check.py --server`
// per test process (output "onnx checker: OK"); a file it does not pass, or any file when
// it cannot answer (or with MODELEXPORT_ORT_CHECK_NO_SERVER=1), is checked by its own
// `onnx_check.py FILE` process, whose status and whole output are returned.
ProcessResult pythonOnnxCheck(const std::string& onnxPath);

// One request (tab-free fields) to a long-lived helper process started with `argv` on first
// use, one per argv and test process, speaking ortCheck's server protocol (a request line of
// tab-separated fields; an answer line "STATUS<TAB>TEXT"): the answer, or nothing when the
// server cannot give one (then the caller runs the command as its own process), also
// always with MODELEXPORT_ORT_CHECK_NO_SERVER=1.
std::optional<ProcessResult> askServer(const std::vector<std::string>& argv, const std::vector<std::string>& fields);

// The modelexport binary with arguments.
ProcessResult runModelexport(const std::string& arguments);

std::string fixturePath(const std::string& name);  // "bert_tiny" -> .../fixtures/bert_tiny.pt

// A reproducible random tensor (standard normal, from `seed`).
at::Tensor randomTensor(std::vector<int64_t> shape, uint64_t seed);

// "name_14": a test's name for one opset (its files go to a directory of that name).
inline std::string opsetTag(const std::string& name, int opset) { return name + "_" + std::to_string(opset); }

struct OpTestOptions {
  int opset = 14;
  double tolerance = 1e-4;
  std::vector<std::string> expectedOps;  // op types that must appear in the ONNX graph
  // When > 0: exported with a dynamic batch (dim 0 of every input, as --dynamic-batch)
  // and also run in onnxruntime at this batch size against LibTorch.
  int64_t otherBatch = 0;
};

inline OpTestOptions opts(int opset, double tolerance, std::vector<std::string> expectedOps) {
  return OpTestOptions{opset, tolerance, std::move(expectedOps)};
}

inline OpTestOptions withDynamicBatch(OpTestOptions options, int64_t otherBatch) {
  options.otherBatch = otherBatch;
  return options;
}

// Module parameters by name, for sources that use self.<name>.
using TestParameters = std::vector<std::pair<std::string, at::Tensor>>;

// Compiles `forwardSource` (a TorchScript `def forward(self, ...)`) into a module, exports
// it through the real pipeline, checks the ONNX file and runs it in onnxruntime against
// LibTorch's outputs. `parameters` are registered on the module before `define` (the
// exporter folds them into initializers as it does real models' weights). Returns the
// exported model for further checks. Module::define resolves only `torch.<op>` builtins,
// not `torch.float64`-style names: write dtypes as ScalarType numbers (4 int64, 5 half,
// 6 float32, 7 float64, 11 bool) and parenthesize a multi-line `return a, b`.
onnx::ModelProto expectOpMatches(const std::string& testName, const std::string& forwardSource,
                                 const std::vector<InputSpec>& inputs,
                                 const OpTestOptions& options = {}, const TestParameters& parameters = {});
// The same checks for a model file made elsewhere (a trace or a torch.export archive
// written by Python, for op forms Module::define cannot write).
onnx::ModelProto expectFileMatches(const std::string& testName, const std::string& modelPath,
                                   const std::vector<InputSpec>& inputs, const OpTestOptions& options);

// The export error for a model that must not export (opset and dynamic batch from
// `options`), or "" when it exported.
std::string exportError(const std::string& testName, const std::string& forwardSource,
                        const std::vector<InputSpec>& inputs, const OpTestOptions& options);
inline std::string exportError(const std::string& testName, const std::string& forwardSource,
                               const std::vector<InputSpec>& inputs, int opset) {
  return exportError(testName, forwardSource, inputs, opts(opset, 0, {}));
}

// Golden of a converter test: the ONNX op sequence an export emitted (op types in
// order with their attributes, subgraphs indented), headed by the test that made it and
// the op table keys whose converters ran. Compared with tests/golden/<name>.txt, so a
// change in what a converter emits shows in review even when the numbers still match.
// MODELEXPORT_UPDATE_GOLDENS=1 writes the file instead; a missing golden fails.
std::string opSequenceGolden(const onnx::ModelProto& model, const std::vector<std::string>& convertedKeys);
std::string goldenDir();  // tests/golden in the source tree
void expectGolden(const std::string& name, const onnx::ModelProto& model,
                  const std::vector<std::string>& convertedKeys, const std::string& dir = goldenDir());
// The golden header's lines: "# test: Suite.Name" and "# converted: key key ...".
inline constexpr const char* kGoldenTestLine = "# test: ";
inline constexpr const char* kGoldenConvertedLine = "# converted:";

InputSpec floatInput(std::vector<int64_t> shape);
InputSpec longInput(std::vector<int64_t> shape, int64_t limit);
InputSpec boolInput(std::vector<int64_t> shape);

}  // namespace modelexport::testing

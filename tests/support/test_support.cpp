#include "test_support.h"

#include <array>
#include <cstdio>
#include <filesystem>
#include <sys/wait.h>

#include <gtest/gtest.h>
#include <torch/csrc/jit/frontend/resolver.h>
#include <torch/csrc/jit/frontend/sugared_value.h>
#include <torch/script.h>

#include "modelexport/exporter.h"
#include "modelexport/model_writer.h"
#include "modelexport/reference_io.h"

namespace fs = std::filesystem;

namespace modelexport::testing {

ProcessResult runCommand(const std::string& command) {
  ProcessResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer{};
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  int status = pclose(pipe);
  result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string shellQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string freshWorkDir(const std::string& name) {
  fs::path dir = fs::path(MODELEXPORT_TEST_WORK_DIR) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

ProcessResult ortCheck(const std::string& onnxPath, const std::string& ioDir, double tolerance) {
  return runCommand(std::string(MODELEXPORT_NODE) + " " +
                    shellQuote(std::string(MODELEXPORT_SOURCE_DIR) + "/tests/tools/ort_check.js") + " " +
                    shellQuote(onnxPath) + " " + shellQuote(ioDir) + " --tol " + std::to_string(tolerance));
}

ProcessResult pythonOnnxCheck(const std::string& onnxPath) {
  // onnx from PyPI (.venv): its checker knows NodeProto.metadata_props.
  return runCommand(std::string(MODELEXPORT_VENV_PYTHON) +
                    " -c 'import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True); print(\"onnx checker: OK\")' " +
                    shellQuote(onnxPath));
}

ProcessResult runModelexport(const std::string& arguments) {
  return runCommand(shellQuote(MODELEXPORT_EXE) + " " + arguments);
}

namespace {

// Module::define's own resolver knows only `torch` (aten); test sources also call
// torchvision's operators as `torchvision.nms(...)`, as a traced detection model does,
// and quantized ops as `quantized.conv2d(...)`.
struct TestResolver : torch::jit::Resolver {
  std::shared_ptr<torch::jit::SugaredValue> resolveValue(const std::string& name, torch::jit::GraphFunction&,
                                                         const torch::jit::SourceRange&) override {
    if (name == "torch") return std::make_shared<torch::jit::BuiltinModule>("aten");
    if (name == "torchvision") return std::make_shared<torch::jit::BuiltinModule>("torchvision");
    if (name == "quantized") return std::make_shared<torch::jit::BuiltinModule>("quantized");  // torch.ops.quantized
    return nullptr;
  }
  c10::TypePtr resolveType(const std::string&, const torch::jit::SourceRange&) override { return nullptr; }
};

std::shared_ptr<torch::jit::Resolver> testResolver() { return std::make_shared<TestResolver>(); }

}  // namespace

std::string fixturePath(const std::string& name) {
  return std::string(MODELEXPORT_FIXTURE_DIR) + "/" + name + ".pt";
}

onnx::ModelProto expectOpMatches(const std::string& testName, const std::string& forwardSource,
                                 const std::vector<InputSpec>& inputs, const OpTestOptions& options,
                                 const TestParameters& parameters) {
  const std::string dir = freshWorkDir("ops/" + testName);
  const std::string ptPath = dir + "/model.pt";
  const std::string onnxPath = dir + "/model.onnx";
  {
    torch::jit::Module module("OpModel");
    for (const auto& [name, tensor] : parameters) module.register_parameter(name, tensor, false);
    module.define(forwardSource, testResolver());
    module.save(ptPath);
  }
  ExportOptions exportOptions;
  exportOptions.modelPath = ptPath;
  exportOptions.outputPath = onnxPath;
  exportOptions.inputSpecs = inputs;
  exportOptions.opset = options.opset;
  exportOptions.dumpIoDir = dir + "/io";
  if (options.otherBatch > 0) exportOptions.dynamicAxes = {{"*", {{0, "batch"}}}};
  std::ostringstream log;
  try {
    exportModel(exportOptions, log);
  } catch (const std::exception& e) {
    ADD_FAILURE() << testName << ": export failed: " << e.what();
    return {};
  }
  onnx::ModelProto model = readModel(onnxPath);
  for (const auto& op : options.expectedOps) {
    bool found = false;
    for (const auto& node : model.graph().node()) found = found || node.op_type() == op;
    EXPECT_TRUE(found) << testName << ": expected an ONNX " << op << " node";
  }
  ProcessResult ort = ortCheck(onnxPath, exportOptions.dumpIoDir, options.tolerance);
  EXPECT_EQ(ort.exitCode, 0) << testName << ": " << ort.output;
  if (options.otherBatch > 0) {
    // The same file at another batch size, against LibTorch at that size.
    std::vector<InputSpec> batched = inputs;
    for (auto& spec : batched) spec.shape.at(0) = options.otherBatch;
    std::vector<c10::IValue> values = makeExampleInputs(batched);
    torch::jit::Module module = torch::jit::load(ptPath);
    torch::NoGradGuard noGrad;
    std::vector<at::Tensor> outputs = flattenOutputs(module.forward(values));
    std::vector<std::string> inputNames, outputNames;
    for (const auto& in : model.graph().input()) inputNames.push_back(in.name());
    for (const auto& out : model.graph().output()) outputNames.push_back(out.name());
    const std::string batchDir = dir + "/io_batch" + std::to_string(options.otherBatch);
    writeReferenceIo(batchDir, inputNames, values, outputNames, outputs);
    ProcessResult other = ortCheck(onnxPath, batchDir, options.tolerance);
    EXPECT_EQ(other.exitCode, 0) << testName << " at batch " << options.otherBatch << ": " << other.output;
  }
  return model;
}

std::string exportError(const std::string& testName, const std::string& forwardSource,
                        const std::vector<InputSpec>& inputs, const OpTestOptions& testOptions) {
  const std::string dir = freshWorkDir("ops/" + testName);
  {
    torch::jit::Module module("OpModel");
    module.define(forwardSource, testResolver());
    module.save(dir + "/model.pt");
  }
  ExportOptions options;
  options.modelPath = dir + "/model.pt";
  options.outputPath = dir + "/model.onnx";
  options.inputSpecs = inputs;
  options.opset = testOptions.opset;
  if (testOptions.otherBatch > 0) options.dynamicAxes = {{"*", {{0, "batch"}}}};
  std::ostringstream log;
  try {
    exportModel(options, log);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

InputSpec floatInput(std::vector<int64_t> shape) { return InputSpec{"", at::kFloat, std::move(shape), 0}; }
InputSpec longInput(std::vector<int64_t> shape, int64_t limit) {
  return InputSpec{"", at::kLong, std::move(shape), limit};
}
InputSpec boolInput(std::vector<int64_t> shape) { return InputSpec{"", at::kBool, std::move(shape), 0}; }

at::Tensor randomTensor(std::vector<int64_t> shape, uint64_t seed) {
  auto generator = at::detail::createCPUGenerator(seed);
  return at::randn(shape, generator);
}

}  // namespace modelexport::testing

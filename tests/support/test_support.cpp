#include "test_support.h"

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>
#include <iomanip>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <torch/csrc/jit/frontend/resolver.h>
#include <torch/csrc/jit/frontend/sugared_value.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>

#include "modelexport/exporter.h"
#include "modelexport/model_writer.h"
#include "modelexport/reference_io.h"
#include "modelexport/torch_export_loader.h"

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

namespace {

std::string ortCheckScript() { return std::string(MODELEXPORT_SOURCE_DIR) + "/tests/tools/ort_check.js"; }

// A long-lived checker process per test process, started with `argv` on first use
// (`node ort_check.js --server`, `python onnx_check.py --server`): node or Python and
// onnxruntime or onnx load once instead of once per check. Requests (tab-separated fields)
// and answers ("STATUS\tTEXT") are one line each. If it cannot start, or dies, or answers
// out of protocol, it is not used again and every check runs as its own process (the
// check in hand is run again that way, so its answer is the CLI's).
class CheckServer {
 public:
  explicit CheckServer(std::vector<std::string> argv) : argv_(std::move(argv)) {}
  ~CheckServer() { stop(); }

  // The answer, or nothing when the server cannot give one.
  std::optional<ProcessResult> check(const std::vector<std::string>& fields) {
    std::optional<std::vector<ProcessResult>> answers = check(fields, 1);
    if (!answers) return std::nullopt;
    return std::move(answers->front());
  }

  // The `count` answer lines of a request that has that many (ort_check.js answers a
  // request naming several IO dirs with one line per dir), or nothing.
  std::optional<std::vector<ProcessResult>> check(const std::vector<std::string>& fields, size_t count) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (broken_) return std::nullopt;
    std::string request;
    for (const std::string& field : fields) {
      if (field.find_first_of("\t\n\r") != std::string::npos) return std::nullopt;
      request += (request.empty() ? "" : "\t") + field;
    }
    request += "\n";
    if (fd_ < 0 && !start()) return giveUp();
    for (size_t sent = 0; sent < request.size();) {
      ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return giveUp();
      sent += static_cast<size_t>(n);
    }
    std::vector<ProcessResult> answers;
    for (std::string line; answers.size() < count;) {
      if (!readLine(line)) return giveUp();
      const size_t tab = line.find('\t');
      if (tab == std::string::npos || tab == 0 || tab > 3) return giveUp();
      ProcessResult result;
      try {
        result.exitCode = std::stoi(line.substr(0, tab));
      } catch (const std::exception&) {
        return giveUp();
      }
      result.output = line.substr(tab + 1) + "\n";
      answers.push_back(std::move(result));
    }
    return answers;
  }

 private:
  bool start() {
    if (const char* off = std::getenv("MODELEXPORT_ORT_CHECK_NO_SERVER"); off && *off && std::string(off) != "0") {
      return false;
    }
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return false;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    // The child's stdin and stdout are its end of the pair (dup2 clears close-on-exec);
    // its stderr is this process's.
    posix_spawn_file_actions_adddup2(&actions, fds[1], 0);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    std::vector<char*> argv;
    for (std::string& arg : argv_) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, argv_[0].c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
      ::close(fds[0]);
      return false;
    }
    fd_ = fds[0];
    pid_ = pid;
    return true;
  }

  bool readLine(std::string& line) {
    for (;;) {
      const size_t newline = buffer_.find('\n');
      if (newline != std::string::npos) {
        line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return true;
      }
      char chunk[4096];
      ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  std::nullopt_t giveUp() {
    broken_ = true;
    stop();
    return std::nullopt;
  }

  void stop() {
    if (fd_ >= 0) ::close(fd_);  // the server reads end of input and exits
    fd_ = -1;
    if (pid_ > 0) {
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
    pid_ = -1;
    buffer_.clear();
  }

  std::vector<std::string> argv_;
  std::mutex mutex_;
  int fd_ = -1;
  pid_t pid_ = -1;
  bool broken_ = false;
  std::string buffer_;
};

}  // namespace

std::optional<ProcessResult> askServer(const std::vector<std::string>& argv, const std::vector<std::string>& fields) {
  static std::mutex mutex;
  static std::map<std::vector<std::string>, std::unique_ptr<CheckServer>> servers;
  CheckServer* server = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex);
    std::unique_ptr<CheckServer>& slot = servers[argv];
    if (!slot) slot = std::make_unique<CheckServer>(argv);
    server = slot.get();
  }
  return server->check(fields);
}

ProcessResult ortCheck(const std::string& onnxPath, const std::string& ioDir, double tolerance) {
  return std::move(ortCheckSets(onnxPath, {ioDir}, tolerance).front());
}

std::vector<ProcessResult> ortCheckSets(const std::string& onnxPath, const std::vector<std::string>& ioDirs,
                                        double tolerance, OrtMetric metric) {
  if (ioDirs.empty()) return {};
  std::ostringstream tol;  // every digit: a quantized output's step is no round number
  tol << std::setprecision(17) << tolerance;
  const bool absolute = metric == OrtMetric::kAbsolute;
  // MODEL IO_DIR... TOL [abs]: one answer line per IO dir, all run in one session.
  std::vector<std::string> request{onnxPath};
  request.insert(request.end(), ioDirs.begin(), ioDirs.end());
  request.push_back(tol.str());
  if (absolute) request.push_back("abs");
  static CheckServer server({MODELEXPORT_NODE, ortCheckScript(), "--server"});
  if (std::optional<std::vector<ProcessResult>> answers = server.check(request, ioDirs.size())) {
    return *std::move(answers);
  }
  std::vector<ProcessResult> results;
  for (const std::string& ioDir : ioDirs) {
    results.push_back(runCommand(std::string(MODELEXPORT_NODE) + " " + shellQuote(ortCheckScript()) + " " +
                                 shellQuote(onnxPath) + " " + shellQuote(ioDir) + " --tol " + tol.str() +
                                 (absolute ? " --abs" : "")));
  }
  return results;
}

ProcessResult pythonOnnxCheck(const std::string& onnxPath) {
  // onnx from PyPI (.venv): its checker knows NodeProto.metadata_props. One server per test
  // process (tests/tools/onnx_check.py); a file it finds invalid is checked again by the
  // same script's one-file form as its own process, so a failure's output is the whole of
  // Python's.
  const std::string script = std::string(MODELEXPORT_SOURCE_DIR) + "/tests/tools/onnx_check.py";
  static CheckServer server({MODELEXPORT_VENV_PYTHON, script, "--server"});
  std::error_code error;
  const std::string absolute = fs::absolute(onnxPath, error).string();
  if (!error) {
    std::optional<ProcessResult> answer = server.check({absolute});
    if (answer && answer->exitCode == 0) return *std::move(answer);
  }
  return runCommand(std::string(MODELEXPORT_VENV_PYTHON) + " " + shellQuote(script) + " " +
                    shellQuote(error ? onnxPath : absolute));
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

namespace {

// Exports modelPath into dir (model.onnx, io/) and runs expectOpMatches' checks.
onnx::ModelProto exportAndCheck(const std::string& testName, const std::string& modelPath, const std::string& dir,
                                const std::vector<InputSpec>& inputs, const OpTestOptions& options) {
  const std::string onnxPath = dir + "/model.onnx";
  ExportOptions exportOptions;
  exportOptions.modelPath = modelPath;
  exportOptions.outputPath = onnxPath;
  exportOptions.inputSpecs = inputs;
  exportOptions.opset = options.opset;
  exportOptions.dumpIoDir = dir + "/io";
  if (options.otherBatch > 0) exportOptions.dynamicAxes = {{"*", {{0, "batch"}}}};
  std::ostringstream log;
  ExportSummary summary;
  try {
    summary = exportModel(exportOptions, log);
  } catch (const std::exception& e) {
    ADD_FAILURE() << testName << ": export failed: " << e.what();
    return {};
  }
  onnx::ModelProto model = readModel(onnxPath);
  expectGolden(testName, model, summary.convertedKeys);
  for (const auto& op : options.expectedOps) {
    bool found = false;
    for (const auto& node : model.graph().node()) found = found || node.op_type() == op;
    EXPECT_TRUE(found) << testName << ": expected an ONNX " << op << " node";
  }
  std::vector<std::string> ioDirs{exportOptions.dumpIoDir};
  if (options.otherBatch > 0) {
    // The same file at another batch size, against LibTorch at that size.
    std::vector<InputSpec> batched = inputs;
    for (auto& spec : batched) spec.shape.at(0) = options.otherBatch;
    std::vector<c10::IValue> values = makeExampleInputs(batched);
    torch::NoGradGuard noGrad;
    std::vector<at::Tensor> outputs;
    if (isTorchExportArchive(modelPath)) {  // the program's graph, as the exporter runs it
      TorchExportModel program = loadTorchExport(modelPath);
      torch::jit::GraphExecutor executor(program.prepared.graph->copy(), "forward");
      torch::jit::Stack stack(values.begin(), values.end());
      executor.run(stack);
      outputs = flattenOutputs(c10::ivalue::Tuple::create(std::move(stack)));
    } else {
      torch::jit::Module module = torch::jit::load(modelPath);
      outputs = flattenOutputs(module.forward(values));
    }
    std::vector<std::string> inputNames, outputNames;
    for (const auto& in : model.graph().input()) inputNames.push_back(in.name());
    for (const auto& out : model.graph().output()) outputNames.push_back(out.name());
    const std::string batchDir = dir + "/io_batch" + std::to_string(options.otherBatch);
    writeReferenceIo(batchDir, inputNames, values, outputNames, outputs);
    ioDirs.push_back(batchDir);
  }
  // Both batch sizes in one onnxruntime session.
  const std::vector<ProcessResult> ort = ortCheckSets(onnxPath, ioDirs, options.tolerance);
  EXPECT_EQ(ort[0].exitCode, 0) << testName << ": " << ort[0].output;
  if (ort.size() > 1) {
    EXPECT_EQ(ort[1].exitCode, 0) << testName << " at batch " << options.otherBatch << ": " << ort[1].output;
  }
  return model;
}
}  // namespace

onnx::ModelProto expectOpMatches(const std::string& testName, const std::string& forwardSource,
                                 const std::vector<InputSpec>& inputs, const OpTestOptions& options,
                                 const TestParameters& parameters) {
  const std::string dir = freshWorkDir("ops/" + testName);
  const std::string ptPath = dir + "/model.pt";
  {
    torch::jit::Module module("OpModel");
    for (const auto& [name, tensor] : parameters) module.register_parameter(name, tensor, false);
    module.define(forwardSource, testResolver());
    module.save(ptPath);
  }
  return exportAndCheck(testName, ptPath, dir, inputs, options);
}

onnx::ModelProto expectFileMatches(const std::string& testName, const std::string& modelPath,
                                   const std::vector<InputSpec>& inputs, const OpTestOptions& options) {
  return exportAndCheck(testName, modelPath, freshWorkDir("ops/" + testName), inputs, options);
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

namespace {

std::string floatText(float f) {
  std::ostringstream out;
  out << std::setprecision(9) << f;
  return out.str();
}

template <typename List, typename Format>
std::string listText(const List& items, Format format) {
  std::string out = "[";
  for (int i = 0; i < items.size(); ++i) out += (i ? "," : "") + format(items.Get(i));
  return out + "]";
}

std::string attributeText(const onnx::AttributeProto& a) {
  switch (a.type()) {
    case onnx::AttributeProto::INT: return std::to_string(a.i());
    case onnx::AttributeProto::FLOAT: return floatText(a.f());
    case onnx::AttributeProto::STRING: return "'" + a.s() + "'";
    case onnx::AttributeProto::INTS: return listText(a.ints(), [](int64_t v) { return std::to_string(v); });
    case onnx::AttributeProto::FLOATS: return listText(a.floats(), floatText);
    case onnx::AttributeProto::TENSOR:  // the type and shape, not the values
      return onnx::TensorProto_DataType_Name(a.t().data_type()) +
             listText(a.t().dims(), [](int64_t v) { return std::to_string(v); });
    default: return onnx::AttributeProto_AttributeType_Name(a.type());
  }
}

void appendOps(std::ostringstream& out, const onnx::GraphProto& graph, size_t depth) {
  const std::string indent(2 * depth, ' ');
  for (const auto& node : graph.node()) {
    out << indent << (node.domain().empty() ? "" : node.domain() + ".") << node.op_type();
    for (const auto& a : node.attribute())
      if (a.type() != onnx::AttributeProto::GRAPH) out << " " << a.name() << "=" << attributeText(a);
    out << "\n";
    for (const auto& a : node.attribute()) {
      if (a.type() != onnx::AttributeProto::GRAPH) continue;
      out << indent << "  " << a.name() << ":\n";
      appendOps(out, a.g(), depth + 2);
    }
  }
}

std::string currentTestName() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return info ? std::string(info->test_suite_name()) + "." + info->name() : "?";
}

std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::string goldenDir() { return std::string(MODELEXPORT_SOURCE_DIR) + "/tests/golden"; }

std::string opSequenceGolden(const onnx::ModelProto& model, const std::vector<std::string>& convertedKeys) {
  std::ostringstream out;
  out << kGoldenTestLine << currentTestName() << "\n" << kGoldenConvertedLine;
  for (const auto& key : convertedKeys) out << " " << key;
  out << "\n";
  appendOps(out, model.graph(), 0);
  return out.str();
}

void expectGolden(const std::string& name, const onnx::ModelProto& model,
                  const std::vector<std::string>& convertedKeys, const std::string& dir) {
  std::string file = name;
  for (char& c : file)
    if (c == '/') c = '_';
  const std::string path = dir + "/" + file + ".txt";
  const std::string actual = opSequenceGolden(model, convertedKeys);
  const char* update = std::getenv("MODELEXPORT_UPDATE_GOLDENS");
  if (update && std::string(update) == "1") {
    fs::create_directories(dir);
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  if (!fs::exists(path)) {
    ADD_FAILURE() << name << ": no golden " << path << "; run the test with MODELEXPORT_UPDATE_GOLDENS=1 to write it, "
                  << "then review and commit it. It would be:\n" << actual;
    return;
  }
  const std::string expected = readText(path);
  if (expected == actual) return;
  std::istringstream e(expected), a(actual);
  std::string el, al;
  int line = 0;
  while (true) {
    ++line;
    const bool moreE = static_cast<bool>(std::getline(e, el)), moreA = static_cast<bool>(std::getline(a, al));
    if (!moreE) el = "(end of file)";
    if (!moreA) al = "(end of file)";
    if (!moreE && !moreA) break;
    if (moreE != moreA || el != al) break;
  }
  ADD_FAILURE() << name << ": the emitted ONNX ops differ from " << path << " at line " << line << ":\n  golden: "
                << el << "\n  now:    " << al << "\nIf the change is intended, run the test with "
                << "MODELEXPORT_UPDATE_GOLDENS=1 and commit the golden. Now:\n" << actual;
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

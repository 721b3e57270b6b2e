#include "e2e_support.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/script.h>

#include "modelexport/model_writer.h"
#include "modelexport/node_metadata.h"
#include "modelexport/reference_io.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace modelexport::e2e {
namespace {

using testing::runCommand;

const fs::path& cacheRoot() {
  static const fs::path root = fs::path(MODELEXPORT_TEST_WORK_DIR).parent_path() / "e2e-cache";
  return root;
}

// Holds an exclusive flock on a file for its lifetime: tests of one fixture may run in
// parallel (ctest -j) and must not build the same cache entry twice at once.
class FileLock {
 public:
  explicit FileLock(const fs::path& path) {
    fs::create_directories(path.parent_path());
    fd_ = ::open(path.c_str(), O_CREAT | O_RDWR, 0644);
    if (fd_ < 0 || ::flock(fd_, LOCK_EX) != 0) throw std::runtime_error("cannot lock " + path.string());
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

// What identifies a file's version cheaply: size and modification time.
std::string fileVersion(const fs::path& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return "missing";
  auto time = fs::last_write_time(path, ec).time_since_epoch().count();
  return std::to_string(size) + "@" + std::to_string(time);
}

// FNV-1a over whole files, then `text`: the cache key of kept script outputs, which must
// not be reused when a fixture is regenerated with different weights.
uint64_t contentHash(const std::vector<std::string>& paths, const std::string& text = "") {
  uint64_t hash = 1469598103934665603ull;
  const auto add = [&hash](const char* bytes, size_t size) {
    for (size_t i = 0; i < size; ++i) {
      hash ^= static_cast<unsigned char>(bytes[i]);
      hash *= 1099511628211ull;
    }
  };
  std::vector<char> buffer(1 << 20);
  for (const auto& path : paths) {
    std::ifstream in(path, std::ios::binary);
    while (in) {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      add(buffer.data(), static_cast<size_t>(in.gcount()));
    }
  }
  add(text.data(), text.size());
  return hash;
}

// make_io.py's dtype names.
at::ScalarType referenceDtype(const std::string& name) {
  static const std::vector<std::pair<std::string, at::ScalarType>> dtypes{
      {"float32", at::kFloat}, {"float64", at::kDouble}, {"float16", at::kHalf}, {"int64", at::kLong},
      {"int32", at::kInt},     {"int8", at::kChar},      {"uint8", at::kByte},   {"bool", at::kBool}};
  for (const auto& [text, type] : dtypes)
    if (text == name) return type;
  throw std::runtime_error("dtype '" + name + "' is not one of make_io.py's");
}

// make_io.py's random_input: one generator for all inputs, in order.
at::Tensor referenceInput(const std::string& spec, at::Generator& generator, int64_t intHigh) {
  const size_t first = spec.find(':');
  const size_t second = first == std::string::npos ? first : spec.find(':', first + 1);
  if (second == std::string::npos || spec.find(':', second + 1) != std::string::npos)
    throw std::runtime_error("input spec '" + spec + "' is not NAME:DTYPE:SHAPE");
  std::string name = spec.substr(0, first);
  const at::ScalarType dtype = referenceDtype(spec.substr(first + 1, second - first - 1));
  std::vector<int64_t> shape;
  std::stringstream dims(spec.substr(second + 1));
  for (std::string dim; std::getline(dims, dim, ',');)
    if (!dim.empty()) shape.push_back(std::stoll(dim));
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  const auto longs = at::TensorOptions().dtype(at::kLong);
  if (at::isFloatingType(dtype)) return at::randn(shape, generator, at::TensorOptions().dtype(at::kFloat)).to(dtype);
  if (dtype == at::kBool) return at::randint(0, 2, shape, generator, longs).to(at::kBool);
  if (name.find("mask") != std::string::npos) return at::ones(shape, at::TensorOptions().dtype(dtype));
  return at::randint(0, intHigh, shape, generator, longs).to(dtype);
}

}  // namespace

std::string writeLibTorchReference(const std::string& modelPath, const std::string& ioDir,
                                   const std::vector<std::string>& inputSpecs, const ReferenceOptions& options) {
  try {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
    std::vector<std::string> inputNames;
    std::vector<c10::IValue> inputs;
    for (const auto& spec : inputSpecs) {
      inputNames.push_back(spec.substr(0, spec.find(':')));
      inputs.emplace_back(referenceInput(spec, generator, options.intHigh));
    }
    torch::jit::Module module = torch::jit::load(modelPath, torch::kCPU);
    module.eval();
    std::vector<at::Tensor> outputs;
    {
      // One intra-op thread: ctest runs a test per core, and OpenMP's second thread then
      // waits for a busy core - mobilenet_v2 at batch 3 took 1.5 to 2.5 s with two threads
      // on a loaded 2-core machine, 0.2 s with one.
      const int threads = at::get_num_threads();
      at::set_num_threads(1);
      struct RestoreThreads {
        int threads;
        ~RestoreThreads() { at::set_num_threads(threads); }
      } restore{threads};
      torch::NoGradGuard noGrad;
      outputs = flattenOutputs(module.forward(inputs));
    }
    std::vector<std::string> outputNames = options.outputNames;
    if (outputNames.empty())
      for (size_t i = 0; i < outputs.size(); ++i) outputNames.push_back("output_" + std::to_string(i));
    if (outputNames.size() != outputs.size())
      return modelPath + " returned " + std::to_string(outputs.size()) + " tensors, " +
             std::to_string(outputNames.size()) + " output names given";
    writeReferenceIo(ioDir, inputNames, inputs, outputNames, outputs);
    return "";
  } catch (const std::exception& e) {
    return modelPath + ": " + e.what();
  }
}

CommandResult makeFixtureIo(const std::vector<std::pair<std::string, std::string>>& fixtureAndIoDir) {
  // make_io.py as a library: its own --fixture code path and output, one torch import.
  const std::string program =
      "import sys\n"
      "sys.path.insert(0, sys.argv[1])\n"
      "import make_io\n"
      "a = sys.argv[2:]\n"
      "sys.exit(max(make_io.main([a[i], a[i + 1], '--fixture', a[i + 2]]) for i in range(0, len(a), 3)))\n";
  std::string command = shellQuote(MODELEXPORT_PYTHON) + " -c " + shellQuote(program) + " " +
                        shellQuote(std::string(MODELEXPORT_SOURCE_DIR) + "/tests/tools");
  for (const auto& [fixture, ioDir] : fixtureAndIoDir)
    command += " " + shellQuote(testing::fixturePath(fixture)) + " " + shellQuote(ioDir) + " " + shellQuote(fixture);
  return runSplit(command);
}

const std::vector<std::string>& fixtureNames() {
  static const std::vector<std::string> names{"bert_tiny", "gpt2_tiny", "resnet18", "mobilenet_v2",
                                              "custom_scripted"};
  return names;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

nlohmann::json readJson(const std::string& path) { return nlohmann::json::parse(readFile(path)); }

onnx::ModelProto loadModel(const std::string& path) { return readModel(path); }

void expectEveryNodeStamped(const onnx::ModelProto& model, const std::string& label) {
  for (const auto& node : model.graph().node()) {
    bool stamped = false;
    for (const auto& [key, value] : getNodeMetadata(node)) stamped = stamped || (key == "hierarchy_path" && !value.empty());
    EXPECT_TRUE(stamped) << label << ": node " << node.name() << " (" << node.op_type() << ") has no hierarchy_path";
  }
}

const nlohmann::json& manifest() {
  static const nlohmann::json doc = readJson(std::string(MODELEXPORT_FIXTURE_DIR) + "/fixtures.json");
  return doc;
}

const nlohmann::json& manifestEntry(const std::string& fixture) {
  const auto& doc = manifest();
  if (!doc.contains(fixture)) throw std::runtime_error("fixture " + fixture + " is not in fixtures.json");
  return doc.at(fixture);
}

std::string cliArgs(const std::string& fixture) {
  std::string args;
  for (const auto& a : manifestEntry(fixture).at("cli_args")) args += " " + shellQuote(a.get<std::string>());
  return args;
}

CommandResult runSplit(const std::string& command) {
  static int counter = 0;
  fs::create_directories(cacheRoot());
  const fs::path errPath = cacheRoot() / ("stderr." + std::to_string(::getpid()) + "." + std::to_string(counter++));
  // The inner group sends stderr to the file; runCommand's own 2>&1 applies to the outer one.
  auto result = runCommand("{ { " + command + " ; } 2>" + shellQuote(errPath.string()) + " ; }");
  CommandResult split;
  split.exitCode = result.exitCode;
  split.out = result.output;
  std::error_code ec;
  if (fs::exists(errPath, ec)) split.err = readFile(errPath.string());
  fs::remove(errPath, ec);
  return split;
}

CommandResult runModelexportSplit(const std::string& arguments) {
  return runSplit(shellQuote(MODELEXPORT_EXE) + " " + arguments);
}

CommandResult runPython(const std::string& script, const std::string& arguments) {
  return runSplit(shellQuote(MODELEXPORT_PYTHON) + " " +
                  shellQuote(std::string(MODELEXPORT_SOURCE_DIR) + "/" + script) + " " + arguments);
}

FixtureExport cachedExport(const std::string& fixture) {
  FixtureExport result;
  const fs::path dir = cacheRoot() / "exports" / fixture;
  result.dir = dir.string();
  result.onnxPath = (dir / (fixture + ".onnx")).string();
  result.sidecarPath = (dir / (fixture + "_hierarchy.json")).string();
  result.ioDir = (dir / "io").string();

  const std::string args = cliArgs(fixture);
  // The export engine is a library beside the binary: a rebuilt engine is a new exporter.
  const std::string engine = (fs::path(MODELEXPORT_EXE).parent_path() / "libmodelexport_export.so").string();
  const std::string key = fileVersion(MODELEXPORT_EXE) + " " + fileVersion(engine) + " " +
                          fileVersion(testing::fixturePath(fixture)) + args;
  FileLock lock(cacheRoot() / (fixture + ".export.lock"));
  const fs::path keyFile = dir / "key.txt";
  const fs::path logFile = dir / "export.log";
  std::error_code ec;
  if (fs::exists(keyFile, ec) && readFile(keyFile.string()) == key) {
    result.log = readFile(logFile.string());
    result.ok = true;
    return result;
  }
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  auto run = testing::runModelexport("export " + shellQuote(testing::fixturePath(fixture)) + " " +
                                     shellQuote(result.onnxPath) + args + " --dump-io " +
                                     shellQuote(result.ioDir));
  result.log = run.output;
  result.ok = run.exitCode == 0;
  if (result.ok) {
    std::ofstream(logFile) << run.output;
    std::ofstream(keyFile) << key;
  }
  return result;
}

std::string keptScriptOutput(const std::string& folder, const std::string& stem, const std::string& extension,
                             const std::vector<std::string>& keyFiles, const std::string& keyText,
                             const std::string& script,
                             const std::function<std::string(const std::string& out)>& arguments, std::string& log) {
  std::ostringstream name;
  name << stem << "-" << std::hex << contentHash(keyFiles, keyText) << extension;
  const fs::path dir = cacheRoot() / folder;
  const fs::path path = dir / name.str();
  FileLock lock(dir / (stem + ".lock"));
  std::error_code ec;
  if (fs::exists(path, ec)) return path.string();
  // Older entries of this stem are stale now.
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string other = entry.path().filename().string();
    if (other.rfind(stem + "-", 0) == 0 && entry.path().extension() == extension) fs::remove(entry.path(), ec);
  }
  const fs::path written = dir / (name.str() + ".tmp" + std::to_string(::getpid()));
  const CommandResult run = runPython(script, arguments(written.string()));
  log = run.out + run.err;
  if (run.exitCode != 0) {
    fs::remove(written, ec);
    return "";
  }
  fs::rename(written, path);
  return path.string();
}

std::string cachedTorchOnnxReference(const std::string& fixture, std::string& log) {
  const std::string source = MODELEXPORT_SOURCE_DIR;
  return keptScriptOutput("torch_onnx", fixture, ".onnx",
                          {testing::fixturePath(fixture), source + "/tools/torch_onnx_reference.py",
                           source + "/tools/fixture_models.py"},
                          "", "tools/torch_onnx_reference.py",
                          [&fixture](const std::string& out) {
                            return "--fixture " + shellQuote(fixture) + " --pt " +
                                   shellQuote(testing::fixturePath(fixture)) + " --out " + shellQuote(out) +
                                   " --quiet";
                          },
                          log);
}

std::vector<std::string> listDirectory(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace modelexport::e2e

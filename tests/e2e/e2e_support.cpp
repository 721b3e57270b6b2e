#include "e2e_support.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

#include "modelexport/model_writer.h"
#include "modelexport/node_metadata.h"
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

// FNV-1a over whole files: the cache key of the reference exports, which must not be
// reused when a fixture is regenerated with different weights.
uint64_t contentHash(const std::vector<fs::path>& paths) {
  uint64_t hash = 1469598103934665603ull;
  std::vector<char> buffer(1 << 20);
  for (const auto& path : paths) {
    std::ifstream in(path, std::ios::binary);
    while (in) {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      for (std::streamsize i = 0; i < in.gcount(); ++i) {
        hash ^= static_cast<unsigned char>(buffer[static_cast<size_t>(i)]);
        hash *= 1099511628211ull;
      }
    }
  }
  return hash;
}

}  // namespace

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

std::string cachedTorchOnnxReference(const std::string& fixture, std::string& log) {
  const std::string source = MODELEXPORT_SOURCE_DIR;
  const uint64_t hash = contentHash({testing::fixturePath(fixture), source + "/tools/torch_onnx_reference.py",
                                     source + "/tools/fixture_models.py"});
  std::ostringstream name;
  name << fixture << "-" << std::hex << hash << ".onnx";
  const fs::path path = cacheRoot() / "torch_onnx" / name.str();
  FileLock lock(cacheRoot() / (fixture + ".reference.lock"));
  std::error_code ec;
  if (fs::exists(path, ec)) return path.string();
  fs::create_directories(path.parent_path());
  // Older entries of this fixture are stale now.
  for (const auto& entry : fs::directory_iterator(path.parent_path()))
    if (entry.path().filename().string().rfind(fixture + "-", 0) == 0) fs::remove(entry.path(), ec);
  auto run = runPython("tools/torch_onnx_reference.py",
                       "--fixture " + shellQuote(fixture) + " --pt " + shellQuote(testing::fixturePath(fixture)) +
                           " --out " + shellQuote(path.string()) + " --quiet");
  log = run.out + run.err;
  if (run.exitCode != 0) {
    fs::remove(path, ec);
    return "";
  }
  return path.string();
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

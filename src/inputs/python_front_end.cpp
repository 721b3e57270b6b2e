#include "modelexport/python_front_end.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <sstream>

#include "modelexport/errors.h"
#include "modelexport/model_file_format.h"
#include "modelexport/temporary_file.h"

extern char** environ;

namespace modelexport {
namespace fs = std::filesystem;
namespace {

// Bump when the front end's output changes meaning: older cached programs are not reused.
constexpr const char* kFrontEndProtocol = "modelexport-frontend-1";
constexpr const char* kErrorPrefix = "modelexport-frontend: error: ";

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

bool isExecutableFile(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec) && ::access(path.c_str(), X_OK) == 0;
}

fs::path ownDirectory() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : self.parent_path();
}

// The build tree's binary runs the front end from the source tree; an installed one
// from the environment's site-packages.
bool runsFromBuildTree() {
  std::error_code ec;
  const fs::path own = ownDirectory();
  return !own.empty() && fs::equivalent(own, MODELEXPORT_BUILD_DIR, ec);
}

fs::path onPath(const std::string& program) {
  std::stringstream dirs(env("PATH"));
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (!dir.empty() && isExecutableFile(fs::path(dir) / program)) return fs::path(dir) / program;
  return {};
}

fs::path frontEndPackageRoot();

// 64-bit FNV-1a: a stable key for the program cache (the same in every run and build).
class KeyHash {
 public:
  void add(const std::string& text) {
    for (unsigned char c : text) hash_ = (hash_ ^ c) * 1099511628211ULL;
    hash_ = (hash_ ^ 0xff) * 1099511628211ULL;  // field separator
  }
  void addFile(const fs::path& path) {
    struct stat st {};
    add(path.string());
    if (::stat(path.c_str(), &st) == 0)
      add(std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec));
  }
  std::string hex() const {
    char out[17];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(hash_));
    return out;
  }

 private:
  uint64_t hash_ = 14695981039346656037ULL;
};

// Every file of the model's directory (name, size, time), the options that shape the
// program, the interpreter and what is installed beside it (site-packages changes when
// torch or transformers do), and the front end's own sources in the build tree.
std::string cacheKey(const FrontEndRequest& request, const fs::path& modelDir, const std::string& python) {
  KeyHash key;
  key.add(kFrontEndProtocol);
  key.add(MODELEXPORT_VERSION);
  std::error_code ec;
  key.add(fs::weakly_canonical(modelDir, ec).string());
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(modelDir, ec))
    if (entry.is_regular_file(ec)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& file : files) key.addFile(file);
  key.add(request.task ? "task=" + *request.task : "task-");
  key.add(request.text ? "text=" + *request.text : "text-");
  std::string shape = "shape-";
  if (request.shape) {
    shape = "shape=";
    for (int64_t d : *request.shape) shape += std::to_string(d) + ",";
  }
  key.add(shape);
  key.add(python);
  const fs::path prefix = fs::path(python).parent_path().parent_path();
  for (const auto& entry : fs::directory_iterator(prefix / "lib", ec))
    if (entry.path().filename().string().rfind("python", 0) == 0) key.addFile(entry.path() / "site-packages");
  const fs::path packageRoot = frontEndPackageRoot();
  if (!packageRoot.empty())
    for (const auto& entry : fs::directory_iterator(packageRoot / "modelexport", ec)) key.addFile(entry.path());
  return key.hex();
}

// The directory the front end will read: known before the run unless the hub has
// still to download the model (then it is looked up again afterwards).
fs::path modelDirectory(const FrontEndRequest& request) {
  if (!request.location.directory.empty()) return request.location.directory;
  try {
    const ModelLocation now = locateModel(request.model);
    return now.directory;
  } catch (const UserError&) {
    return {};
  }
}

struct ChildResult {
  int status = 0;
  std::deque<std::string> lastLines;  // of its stdout and stderr together
};

// Runs argv with stdout and stderr into a pipe; echoes it when `echo`, keeps the tail.
ChildResult runChild(const std::vector<std::string>& argv, const std::vector<std::string>& environment, bool echo,
                     std::ostream& log) {
  int pipeFds[2];
  if (::pipe2(pipeFds, O_CLOEXEC) != 0) throw UserError(std::string("cannot start the Python front end: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipeFds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipeFds[1], 2);
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : environment) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipeFds[1]);
  if (spawned != 0) {
    ::close(pipeFds[0]);
    throw UserError("cannot run the Python front end with " + argv[0] + ": " + std::strerror(spawned));
  }
  ChildResult result;
  std::string pending;
  char buffer[4096];
  for (ssize_t n; (n = ::read(pipeFds[0], buffer, sizeof buffer)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (echo) log.write(buffer, n).flush();
    pending.append(buffer, static_cast<size_t>(n));
    for (size_t end; (end = pending.find('\n')) != std::string::npos; pending.erase(0, end + 1)) {
      if (end == 0) continue;
      result.lastLines.push_back(pending.substr(0, end));
      if (result.lastLines.size() > 40) result.lastLines.pop_front();
    }
  }
  if (!pending.empty()) result.lastLines.push_back(pending);
  ::close(pipeFds[0]);
  while (::waitpid(pid, &result.status, 0) < 0 && errno == EINTR) {
  }
  return result;
}

// Where the front end's package is when it is not installed in the interpreter's
// environment: the sources (build tree) or PREFIX/lib/modelexport/python (cmake --install).
fs::path frontEndPackageRoot() {
  if (runsFromBuildTree()) return MODELEXPORT_SOURCE_PYTHON_DIR;
  std::error_code ec;
  const fs::path installed = ownDirectory().parent_path() / "lib" / "modelexport" / "python";
  return fs::is_directory(installed / "modelexport", ec) ? installed : fs::path();
}

std::vector<std::string> childEnvironment() {
  std::vector<std::string> environment;
  std::string pythonPath = env("PYTHONPATH");
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "PYTHONPATH=", 11) != 0) environment.emplace_back(*e);
  const fs::path packageRoot = frontEndPackageRoot();
  if (!packageRoot.empty()) pythonPath = packageRoot.string() + (pythonPath.empty() ? "" : ":" + pythonPath);
  if (!pythonPath.empty()) environment.push_back("PYTHONPATH=" + pythonPath);
  environment.emplace_back("PYTHONUNBUFFERED=1");
  return environment;
}

// The front end's own one-line error, or what went wrong around it.
std::string failureOf(const ChildResult& child, const std::string& python) {
  for (auto it = child.lastLines.rbegin(); it != child.lastLines.rend(); ++it)
    if (it->rfind(kErrorPrefix, 0) == 0) return it->substr(std::strlen(kErrorPrefix));
  const std::string last = child.lastLines.empty() ? "" : child.lastLines.back();
  if (last.find("No module named modelexport") != std::string::npos ||
      last.find("No module named 'modelexport'") != std::string::npos)
    return python + " cannot import the modelexport front end (" + last +
           "); install it into that environment with 'pip install .' from the modelexport sources, or point "
           "--python or MODELEXPORT_PYTHON to the interpreter of the environment modelexport is installed in";
  if (WIFSIGNALED(child.status))
    return "the Python front end (" + python + ") was killed by signal " + std::to_string(WTERMSIG(child.status)) +
           (last.empty() ? "" : " after: " + last);
  return "the Python front end (" + python + ") failed with exit code " + std::to_string(WEXITSTATUS(child.status)) +
         (last.empty() ? "" : ": " + last);
}

}  // namespace

std::string findFrontEndPython(const std::string& given) {
  for (const auto& [value, source] : {std::pair{given, std::string("--python")},
                                      std::pair{env("MODELEXPORT_PYTHON"), std::string("MODELEXPORT_PYTHON")}}) {
    if (value.empty()) continue;
    fs::path path(value);
    if (path.filename() == path.string()) path = onPath(value);  // a bare name: look it up
    if (path.empty() || !isExecutableFile(path))
      throw UserError(source + " '" + value + "': no such Python interpreter (give the path of a python with torch "
                      "and transformers installed)");
    return path.string();
  }
  const fs::path own = ownDirectory();
  for (const char* name : {"python3", "python"})
    if (!own.empty() && isExecutableFile(own / name)) return (own / name).string();
  if (isExecutableFile(MODELEXPORT_DEFAULT_PYTHON)) return MODELEXPORT_DEFAULT_PYTHON;
  const fs::path fromPath = onPath("python3");
  if (!fromPath.empty()) return fromPath.string();
  throw UserError("no Python found to load the model with transformers (looked beside the binary, at " +
                  std::string(MODELEXPORT_DEFAULT_PYTHON) + " and for python3 on PATH); give --python PATH or set "
                  "MODELEXPORT_PYTHON to a python with torch and transformers installed");
}

std::string frontEndCacheDir(const std::string& tempDir) {
  if (!tempDir.empty()) return tempDir;
  if (!env("MODELEXPORT_CACHE").empty()) return env("MODELEXPORT_CACHE");
  if (!env("XDG_CACHE_HOME").empty()) return (fs::path(env("XDG_CACHE_HOME")) / "modelexport").string();
  return (fs::path(env("HOME")) / ".cache" / "modelexport").string();
}

FrontEndProgram programFromFrontEnd(const FrontEndRequest& request, std::ostream& log) {
  const std::string python = findFrontEndPython(request.python);
  const fs::path programs = fs::path(frontEndCacheDir(request.cacheDir)) / "programs";
  std::error_code ec;
  fs::create_directories(programs, ec);
  if (!fs::is_directory(programs, ec))
    throw UserError(programs.string() + ": cannot create the program cache directory" + (ec ? ": " + ec.message() : ""));

  fs::path modelDir = modelDirectory(request);
  if (!modelDir.empty()) {
    const fs::path cached = programs / (cacheKey(request, modelDir, python) + ".pt2");
    if (isTorchExportArchive(cached.string())) {
      if (request.verbose) log << "front end: reusing " << cached.string() << " (same model files, options and Python)\n";
      return {cached.string(), true, 0, ""};
    }
  }

  TemporaryFile staged(temporaryPathFor(programs / "program.pt2"));
  std::vector<std::string> argv{python, "-m", "modelexport.frontend", "--model", request.model, "--output",
                                staged.path().string()};
  if (request.task) argv.insert(argv.end(), {"--task", *request.task});
  if (request.text) argv.insert(argv.end(), {"--input-text", *request.text});
  if (request.shape) {
    std::string shape;
    for (int64_t d : *request.shape) shape += (shape.empty() ? "" : ",") + std::to_string(d);
    argv.insert(argv.end(), {"--input-shape", shape});
  }
  if (request.verbose) {
    argv.push_back("--verbose");
    log << "front end: " << python << " -m modelexport.frontend --model " << request.model << "\n";
  }
  const auto start = std::chrono::steady_clock::now();
  const ChildResult child = runChild(argv, childEnvironment(), request.verbose, log);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!WIFEXITED(child.status) || WEXITSTATUS(child.status) != 0 || !isTorchExportArchive(staged.path().string())) {
    const std::string why = child.status == 0 ? "the Python front end wrote no program" : failureOf(child, python);
    // The front end's own errors mostly begin with the model's name already.
    throw UserError(why.rfind(request.model + ": ", 0) == 0 ? why : request.model + ": " + why);
  }

  if (modelDir.empty()) modelDir = modelDirectory(request);  // downloaded by now
  const fs::path target =
      programs / ((modelDir.empty() ? "uncached-" + std::to_string(::getpid()) : cacheKey(request, modelDir, python)) + ".pt2");
  staged.moveTo(target);
  return {target.string(), false, seconds, python};
}

}  // namespace modelexport

#include "kept_model_scripts.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "test_support.h"

namespace modelexport::testing {
namespace {

namespace fs = std::filesystem;

std::string fileText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void readManifests(MadeModels& made, const std::vector<ModelScript>& scripts, const std::string& manifestName) {
  made.manifest = nlohmann::json::object();
  for (const ModelScript& s : scripts) {
    const std::string prefix = s.folder.empty() ? "" : s.folder + "/";
    const nlohmann::json manifest = nlohmann::json::parse(fileText(made.dir + "/" + prefix + manifestName));
    for (const auto& [name, entry] : manifest.items()) made.manifest[prefix + name] = entry;
  }
}

// The scripts and the Python files of tests/tools and tools they name as a word (an
// import, a path they hash or run), and what those name in turn, relative to the source
// tree and sorted. Naming by word over-approximates an import, which only costs a remake;
// it keeps an edit of an unrelated tool from remaking every suite's models.
std::vector<std::string> scriptsAndWhatTheyName(const std::vector<ModelScript>& scripts) {
  const fs::path source = MODELEXPORT_SOURCE_DIR;
  std::map<std::string, std::string> candidates;  // module name -> path in the source tree
  for (const char* folder : {"tools", "tests/tools"})
    for (const auto& entry : fs::directory_iterator(source / folder))
      if (entry.path().extension() == ".py")
        candidates.emplace(entry.path().stem().string(), (fs::path(folder) / entry.path().filename()).string());
  std::set<std::string> named;
  std::vector<std::string> pending;
  for (const ModelScript& s : scripts)
    if (named.insert(s.script).second) pending.push_back(s.script);
  while (!pending.empty()) {
    const std::string text = fileText(source / pending.back());
    pending.pop_back();
    for (const auto& [module, path] : candidates)
      if (!named.count(path) && std::regex_search(text, std::regex("\\b" + module + "\\b")) &&
          named.insert(path).second)
        pending.push_back(path);
  }
  return {named.begin(), named.end()};
}

// A hash of what makes the models of `scripts` (see runKeptModelScripts), or "" when it
// cannot be computed (the scripts then run).
std::string madeKey(const std::vector<ModelScript>& scripts) {
  std::string command = "{ cd " + shellQuote(MODELEXPORT_SOURCE_DIR) + " && cat";
  for (const std::string& path : scriptsAndWhatTheyName(scripts)) command += " " + shellQuote(path);
  std::set<std::string> pythons;
  for (const ModelScript& s : scripts) {
    command += " && echo " + shellQuote(s.python + " " + s.script + " " + s.folder);
    pythons.insert(s.python);
  }
  for (const std::string& python : pythons) {
    command += " && " + shellQuote(python) +
               " -c 'import sys, importlib.metadata as m; print(sys.version, sorted("
               "(d.metadata[\"Name\"] or \"\", d.version) for d in m.distributions()))'";
  }
  command += "; } 2>/dev/null | sha256sum";
  const ProcessResult key = runCommand(command);
  return key.exitCode == 0 ? key.output.substr(0, key.output.find(' ')) : "";
}

}  // namespace

MadeModels runModelScripts(const std::string& dir, const std::vector<ModelScript>& scripts,
                           const std::string& manifestName) {
  MadeModels made;
  made.dir = dir;
  made.ok = true;
  for (const ModelScript& s : scripts) {
    const std::string out = s.folder.empty() ? dir : dir + "/" + s.folder;
    const ProcessResult run = runCommand(shellQuote(s.python) + " " +
                                         shellQuote(std::string(MODELEXPORT_SOURCE_DIR) + "/" + s.script) + " " +
                                         shellQuote(out));
    made.log += run.output;
    made.ok = made.ok && run.exitCode == 0;
  }
  if (!made.ok || manifestName.empty()) return made;
  readManifests(made, scripts, manifestName);
  return made;
}

MadeModels runKeptModelScripts(const std::string& name, const std::vector<ModelScript>& scripts,
                               const std::string& manifestName) {
  const std::string dir = buildTreeModelDir(name);
  fs::create_directories(fs::path(dir).parent_path());
  const int lock = ::open((dir + ".lock").c_str(), O_CREAT | O_RDWR, 0644);
  if (lock >= 0) ::flock(lock, LOCK_EX);
  const std::string key = madeKey(scripts);
  const std::string kept = fileText(dir + "/made.key");
  MadeModels made;
  if (!key.empty() && kept == key) {
    made.dir = dir;
    made.ok = true;
    made.log = "kept " + dir + " (made.key " + key + ")\n";
    if (!manifestName.empty()) readManifests(made, scripts, manifestName);
  } else {
    fs::remove_all(dir);
    fs::create_directories(dir);
    made = runModelScripts(dir, scripts, manifestName);
    if (made.ok && !key.empty()) std::ofstream(dir + "/made.key") << key;
  }
  if (lock >= 0) ::close(lock);
  return made;
}

std::string buildTreeModelDir(const std::string& name) { return std::string(MODELEXPORT_FIXTURE_DIR) + "/" + name; }

}  // namespace modelexport::testing

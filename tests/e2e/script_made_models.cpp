#include "script_made_models.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace modelexport::e2e {
namespace {

namespace fs = std::filesystem;

void readManifests(MadeModels& made, const std::vector<ModelScript>& scripts, const std::string& manifestName) {
  made.manifest = nlohmann::json::object();
  for (const ModelScript& s : scripts) {
    const std::string prefix = s.folder.empty() ? "" : s.folder + "/";
    const nlohmann::json manifest = readJson(made.dir + "/" + prefix + manifestName);  // outlives the loop over items()
    for (const auto& [name, entry] : manifest.items()) made.manifest[prefix + name] = entry;
  }
}

// A hash of what makes the models of `scripts` (see runKeptModelScripts), or "" when it
// cannot be computed (the scripts then run).
std::string madeKey(const std::vector<ModelScript>& scripts) {
  const std::string source = MODELEXPORT_SOURCE_DIR;
  std::string command = "{ cd " + shellQuote(source) + " && cat tests/tools/*.py tools/*.py";
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
  command += "; } | sha256sum";
  const CommandResult key = runSplit(command);
  return key.exitCode == 0 ? key.out.substr(0, key.out.find(' ')) : "";
}

}  // namespace

MadeModels runModelScripts(const std::string& dir, const std::vector<ModelScript>& scripts,
                           const std::string& manifestName) {
  MadeModels made;
  made.dir = dir;
  made.ok = true;
  for (const ModelScript& s : scripts) {
    const std::string out = s.folder.empty() ? dir : dir + "/" + s.folder;
    auto run = runSplit(shellQuote(s.python) + " " + shellQuote(std::string(MODELEXPORT_SOURCE_DIR) + "/" + s.script) +
                        " " + shellQuote(out));
    made.log += run.out + run.err;
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
  const std::string keyPath = dir + "/made.key";
  std::ifstream keptIn(keyPath);
  std::stringstream kept;
  kept << keptIn.rdbuf();
  MadeModels made;
  if (!key.empty() && kept.str() == key) {
    made.dir = dir;
    made.ok = true;
    made.log = "kept " + dir + " (made.key " + key + ")\n";
    if (!manifestName.empty()) readManifests(made, scripts, manifestName);
  } else {
    fs::remove_all(dir);
    fs::create_directories(dir);
    made = runModelScripts(dir, scripts, manifestName);
    if (made.ok && !key.empty()) std::ofstream(keyPath) << key;
  }
  if (lock >= 0) ::close(lock);
  return made;
}

std::string buildTreeModelDir(const std::string& name) { return std::string(MODELEXPORT_FIXTURE_DIR) + "/" + name; }

}  // namespace modelexport::e2e

#include "script_made_models.h"

#include <unistd.h>

namespace modelexport::e2e {

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
  made.manifest = nlohmann::json::object();
  for (const ModelScript& s : scripts) {
    const std::string prefix = s.folder.empty() ? "" : s.folder + "/";
    const nlohmann::json manifest = readJson(dir + "/" + prefix + manifestName);  // outlives the loop over items()
    for (const auto& [name, entry] : manifest.items()) made.manifest[prefix + name] = entry;
  }
  return made;
}

std::string buildTreeModelDir(const std::string& name) { return std::string(MODELEXPORT_FIXTURE_DIR) + "/" + name; }

std::string processModelDir(const std::string& name) { return freshWorkDir(name + "-" + std::to_string(::getpid())); }

}  // namespace modelexport::e2e

#include "modelexport/module_tree.h"

#include <functional>
#include <set>

namespace modelexport {

std::string cleanQualifiedName(const std::string& qualified) {
  std::string out;
  size_t start = 0;
  while (start <= qualified.size()) {
    size_t dot = qualified.find('.', start);
    std::string part = qualified.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool skip = part == "__torch__" || part.rfind("___torch_mangle_", 0) == 0;
    if (!skip && !part.empty()) out += (out.empty() ? "" : ".") + part;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return out;
}

ModuleTree::ModuleTree(std::vector<ModuleInfo> modules) : modules_(std::move(modules)) {
  for (size_t i = 1; i < modules_.size(); ++i) modules_[modules_[i].parent].children.push_back(static_cast<int>(i));
  assignTags();
  for (size_t i = 0; i < modules_.size(); ++i) {
    byPath_[modules_[i].path] = static_cast<int>(i);
  }
}

void ModuleTree::assignTags() {
  // Children of a tagged module, looking through containers that have no forward.
  // Each entry: module index and its key relative to the tagged parent ("layer.0").
  std::function<void(int, const std::string&, std::vector<std::pair<int, std::string>>&, bool&)>
      collect = [&](int index, const std::string& prefix,
                    std::vector<std::pair<int, std::string>>& out, bool& viaContainer) {
        for (int c : modules_[index].children) {
          std::string key = prefix.empty() ? modules_[c].name : prefix + "." + modules_[c].name;
          if (modules_[c].hasForward) {
            out.emplace_back(c, key);
          } else {
            viaContainer = true;
            collect(c, key, out, viaContainer);
          }
        }
      };
  std::function<void(int)> tagChildren = [&](int parent) {
    std::vector<std::pair<int, std::string>> kids;
    bool anyContainer = false;
    collect(parent, "", kids, anyContainer);
    std::map<std::string, int> classCount;
    for (auto& [c, key] : kids) classCount[modules_[c].className]++;
    const bool parentIsSequence = modules_[parent].className == "Sequential";
    std::map<std::string, int> shortKeyCount;  // "0" from layer.0 and blocks.0 collide
    for (auto& [c, key] : kids) shortKeyCount[modules_[c].className + "." + modules_[c].name]++;
    for (auto& [c, key] : kids) {
      const ModuleInfo& m = modules_[c];
      const bool inContainer = key.find('.') != std::string::npos;
      std::string segment = m.className;
      if (parentIsSequence || inContainer || classCount[m.className] > 1) {
        const bool collides = shortKeyCount[m.className + "." + m.name] > 1;
        segment += "." + (collides ? key : m.name);
      }
      modules_[c].tag = modules_[parent].tag + "/" + segment;
      tagChildren(c);
    }
    // Containers themselves: no segment, no tag.
  };
  modules_[0].tag = "/" + modules_[0].className;
  tagChildren(0);
}

std::optional<int> ModuleTree::findByPath(const std::string& path) const {
  auto it = byPath_.find(path);
  if (it == byPath_.end()) return std::nullopt;
  return it->second;
}

int ModuleTree::resolveCall(int from, const std::string& instanceName, const std::string& typeName) const {
  if (instanceName == "SELF") return from;
  auto matches = [&](int c) { return typeName.empty() || modules_[c].typeName == typeName; };
  for (int c : modules_[from].children)
    if (modules_[c].name == instanceName && matches(c)) return c;
  // Breadth-first through containers without forward: "layer" -> "0".
  std::vector<int> frontier;
  for (int c : modules_[from].children)
    if (!modules_[c].hasForward) frontier.push_back(c);
  while (!frontier.empty()) {
    std::vector<int> next;
    for (int container : frontier) {
      for (int c : modules_[container].children) {
        if (modules_[c].name == instanceName && matches(c)) return c;
        if (!modules_[c].hasForward) next.push_back(c);
      }
    }
    frontier.swap(next);
  }
  // A name match of another type (types are sometimes re-created on load).
  for (int c : modules_[from].children)
    if (modules_[c].name == instanceName) return c;
  return from;
}

int ModuleTree::taggedAncestor(int index) const {
  while (index > 0 && modules_[index].tag.empty()) index = modules_[index].parent;
  return index < 0 ? 0 : index;
}

int ModuleTree::commonAncestor(int a, int b) const {
  std::set<int> chain;
  for (int i = a; i >= 0; i = modules_[i].parent) chain.insert(i);
  for (int i = b; i >= 0; i = modules_[i].parent)
    if (chain.count(i)) return taggedAncestor(i);
  return 0;
}

std::vector<int> ModuleTree::taggedChain(int index) const {
  std::vector<int> chain;
  for (int i = taggedAncestor(index); i >= 0; i = modules_[i].parent)
    if (!modules_[i].tag.empty()) chain.insert(chain.begin(), i);
  return chain;
}

}  // namespace modelexport

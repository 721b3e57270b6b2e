#include "modelexport/recorded_module_tree.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <set>

namespace modelexport {
namespace {

std::string parentOf(const std::string& path) {
  const auto dot = path.rfind('.');
  return dot == std::string::npos ? "" : path.substr(0, dot);
}

std::string nameOf(const std::string& path) {
  const auto dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

bool isNumber(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), ::isdigit);
}

// "torch.nn.modules.linear.Linear" -> "Linear"
std::string lastSegment(const std::string& qualified) {
  const auto dot = qualified.rfind('.');
  return dot == std::string::npos ? qualified : qualified.substr(dot + 1);
}

// Parents before children, depth first; the children of a container whose children are
// all numbered (ModuleList, Sequential) by number, others as first met.
std::vector<std::string> numberedChildrenInOrder(const std::vector<std::string>& paths) {
  std::map<std::string, std::vector<std::string>> children;
  for (const auto& path : paths)
    if (!path.empty()) children[parentOf(path)].push_back(path);
  std::vector<std::string> ordered;
  std::function<void(const std::string&)> visit = [&](const std::string& path) {
    ordered.push_back(path);
    auto& kids = children[path];
    if (std::all_of(kids.begin(), kids.end(), [&](const std::string& k) { return isNumber(nameOf(k)); }))
      std::stable_sort(kids.begin(), kids.end(), [&](const std::string& a, const std::string& b) {
        return std::stoll(nameOf(a)) < std::stoll(nameOf(b));
      });
    for (const auto& kid : kids) visit(kid);
  };
  visit("");
  return ordered;
}

}  // namespace

RecordedModuleTree recordedModuleTree(const RecordedModuleFrames& recorded) {
  // Each module's class as its first frame gives it, and the order frames met modules.
  std::map<std::string, std::string> classOf;
  std::vector<std::string> metOrder;
  for (const auto& frame : recorded.frames)
    if (classOf.emplace(frame.path, frame.qualifiedClass).second) metOrder.push_back(frame.path);

  // Modules in the order met (parameters first: their order is the state_dict's, which is
  // the order of registration); containers that no frame names (ModuleList, ModuleDict:
  // no forward) fill the gaps in the paths.
  std::vector<std::string> order;
  std::set<std::string> seen;
  std::function<void(const std::string&)> add = [&](const std::string& path) {
    if (seen.count(path)) return;
    if (!path.empty()) add(parentOf(path));
    seen.insert(path);
    order.push_back(path);
  };
  add("");
  for (const auto& key : recorded.weightPaths) {
    const auto dot = key.rfind('.');
    if (dot != std::string::npos && classOf.count(key.substr(0, dot))) add(key.substr(0, dot));
  }
  for (const auto& path : metOrder) add(path);
  order = numberedChildrenInOrder(order);

  std::vector<ModuleInfo> modules;
  std::map<std::string, int> index;
  for (const auto& path : order) {
    ModuleInfo info;
    info.path = path;
    info.name = path.empty() ? "" : nameOf(path);
    info.parent = path.empty() ? -1 : index.at(parentOf(path));
    auto known = classOf.find(path);
    if (known != classOf.end()) {
      info.qualifiedClass = known->second;
      info.className = lastSegment(known->second);
      info.typeName = known->second;
      info.hasForward = true;
    } else {
      info.hasForward = false;
    }
    index[path] = static_cast<int>(modules.size());
    modules.push_back(info);
  }
  // Containers: ModuleList when every child is numbered, else ModuleDict.
  for (auto& m : modules) {
    if (m.hasForward) continue;
    bool numbered = true;
    for (const auto& other : modules)
      if (other.parent >= 0 && &modules[static_cast<size_t>(other.parent)] == &m)
        numbered = numbered && isNumber(other.name);
    m.className = numbered ? "ModuleList" : "ModuleDict";
    m.qualifiedClass = "torch.nn.modules.container." + m.className;
  }
  if (!modules[0].hasForward) {
    // No node carried a frame: the root is the program itself.
    modules[0].hasForward = true;
    modules[0].className = modules[0].qualifiedClass = "ExportedProgram";
  }
  RecordedModuleTree result;
  result.tree = ModuleTree(std::move(modules));
  for (const auto& [node, path] : recorded.nodePaths) result.nodeModules[node] = index.at(path);
  return result;
}

}  // namespace modelexport

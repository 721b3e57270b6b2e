#pragma once
// The module tree of a model and the tag string of every module: "/" + one segment per
// module from the root, the class name plus ".KEY" inside containers or among siblings of
// the same class. Knows no model format: a loader lists the modules, parents first.
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace modelexport {

struct ModuleInfo {
  std::string path;             // attribute path from the root, "" for the root
  std::string name;             // attribute name in the parent, "" for the root
  std::string className;        // "BertSelfAttention", "Linear"
  std::string qualifiedClass;   // "torch.nn.modules.linear.Linear"
  std::string tag;              // "/BertModel/.../Linear.query"; empty for containers
  bool hasForward = true;       // ModuleList / ModuleDict have none and get no segment
  int parent = -1;              // index into ModuleTree::modules
  std::vector<int> children;    // filled by ModuleTree
  std::string typeName;         // identifies the module's type among the model's types
};

class ModuleTree {
 public:
  // `modules[0]` is the root; every other module's parent comes before it.
  explicit ModuleTree(std::vector<ModuleInfo> modules);
  ModuleTree() = default;

  const std::vector<ModuleInfo>& modules() const { return modules_; }
  const ModuleInfo& at(int index) const { return modules_.at(index); }
  const ModuleInfo& root() const { return modules_.front(); }
  std::optional<int> findByPath(const std::string& path) const;

  // Follows one callstack frame from module `from`: the callee is a child named
  // `instanceName` of class `type`, possibly inside ModuleList/ModuleDict children,
  // because inlining keeps only the last attribute name of a call. An empty `typeName`
  // matches any type.
  int resolveCall(int from, const std::string& instanceName, const std::string& typeName) const;

  // Index of the nearest module that has a tag (skips containers without forward).
  int taggedAncestor(int index) const;
  // Nearest common tagged ancestor of two modules.
  int commonAncestor(int a, int b) const;
  // Module indices from the root down to `index`, tagged ones only.
  std::vector<int> taggedChain(int index) const;

 private:
  void assignTags();
  std::vector<ModuleInfo> modules_;
  std::map<std::string, int> byPath_;
};

// "__torch__.torch.nn.modules.linear.___torch_mangle_3.Linear" -> "torch.nn.modules.linear.Linear"
std::string cleanQualifiedName(const std::string& qualified);

}  // namespace modelexport

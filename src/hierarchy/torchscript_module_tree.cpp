#include "modelexport/torchscript_module_tree.h"

#include <functional>

namespace modelexport {

namespace {

ModuleInfo describe(const torch::jit::Module& module) {
  ModuleInfo info;
  info.typeName = torchscriptTypeName(module.type());
  info.qualifiedClass = cleanQualifiedName(module.type()->name()->qualifiedName());
  info.className = module.type()->name()->name();
  info.hasForward = module.find_method("forward").has_value();
  return info;
}

void addChildren(const torch::jit::Module& module, int index, std::vector<ModuleInfo>& modules) {
  for (const auto& child : module.named_children()) {
    ModuleInfo info = describe(child.value);
    info.name = child.name;
    info.path = modules[index].path.empty() ? child.name : modules[index].path + "." + child.name;
    info.parent = index;
    modules.push_back(info);
    addChildren(child.value, static_cast<int>(modules.size()) - 1, modules);
  }
}

}  // namespace

std::string torchscriptTypeName(const c10::ClassTypePtr& type) {
  return type && type->name() ? type->name()->qualifiedName() : std::string();
}

ModuleTree torchscriptModuleTree(const torch::jit::Module& root) {
  std::vector<ModuleInfo> modules{describe(root)};
  addChildren(root, 0, modules);
  return ModuleTree(std::move(modules));
}

int moduleOfCallstack(const torch::jit::Node* node, const ModuleTree& tree) {
  auto callstack = node->callstack();
  if (!callstack) return 0;
  int module = 0;
  for (const auto& entry : (*callstack)->vec()) {
    const auto& info = std::get<torch::jit::kModuleInstanceInfo>(entry);
    if (!info) continue;  // a plain function call: stays in the caller's module
    module = tree.resolveCall(module, info->instance_name(), torchscriptTypeName(info->class_type()));
  }
  return tree.taggedAncestor(module);
}

std::unordered_map<const torch::jit::Node*, int> callstackModules(const torch::jit::Graph& graph,
                                                                  const ModuleTree& tree) {
  std::unordered_map<const torch::jit::Node*, int> modules;
  std::function<void(const torch::jit::Block*)> visit = [&](const torch::jit::Block* block) {
    for (const auto* node : block->nodes()) {
      for (const auto* sub : node->blocks()) visit(sub);
      if (node->callstack()) modules[node] = moduleOfCallstack(node, tree);
    }
  };
  visit(graph.block());
  return modules;
}

}  // namespace modelexport

#pragma once
// The module tree of a TorchScript module: every submodule with its attribute path,
// class and whether it has a forward.
#include <torch/script.h>

#include "modelexport/module_tree.h"

namespace modelexport {

ModuleTree torchscriptModuleTree(const torch::jit::Module& root);

// What ModuleInfo::typeName holds for a TorchScript class: its qualified name, mangling
// included (unique among the types of one loaded model).
std::string torchscriptTypeName(const c10::ClassTypePtr& type);

}  // namespace modelexport

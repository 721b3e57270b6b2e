#pragma once
// The module tree of a model whose front end recorded, for every call, the modules it ran
// in (torch.export's nn_module_stack), and the module of each node from those records.
// The counterpart of torchscript_module_tree.h for front ends that keep no module object.
#include <string>
#include <unordered_map>
#include <vector>

#include <torch/script.h>

#include "modelexport/module_tree.h"

namespace modelexport {

// One frame of a call's module stack: the module's attribute path from the root ("" for
// the root, "layers.0") and its qualified class ("__main__.Block").
struct ModuleFrame {
  std::string path;
  std::string qualifiedClass;
};

// What a front end hands on of its modules.
struct RecordedModuleFrames {
  // The paths of the parameters and buffers ("layers.0.weight"), in the order the model
  // registered them: its modules' order where the frames alone cannot tell.
  std::vector<std::string> weightPaths;
  // The frames of every call, outermost first, call after call in the order the front end
  // met them (calls later dropped as dead code, and calls that make no node, such as an
  // eval-mode dropout, too: their modules are the model's).
  std::vector<ModuleFrame> frames;
  // The innermost frame's path of each node of the graph that has frames.
  std::unordered_map<const torch::jit::Node*, std::string> nodePaths;
};

struct RecordedModuleTree {
  ModuleTree tree;
  std::unordered_map<const torch::jit::Node*, int> nodeModules;  // index into tree.modules()
};

// Modules in the order the frames met them (a module with a weight by the weights' order
// first); path prefixes no frame names are containers (ModuleList when all their children
// are numbered, else ModuleDict; no forward); children of numbered containers in number
// order. Without frames the root is "ExportedProgram".
RecordedModuleTree recordedModuleTree(const RecordedModuleFrames& recorded);

}  // namespace modelexport

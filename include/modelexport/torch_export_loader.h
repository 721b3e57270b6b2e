#pragma once
// load stage for torch.export archives (.pt2, written by torch.export.save): the
// serialized ExportedProgram (models/<name>.json, PyTorch's torch/_export/serde/schema.py,
// read with the C++ types LibTorch ships in generated_serialization_types.h) becomes the
// same flat TorchScript IR graph that prepare makes of a TorchScript model: weights and
// constants as constants with their paths, one node per ATen call. The nodes'
// nn_module_stacks are handed on as recorded module frames, of which hierarchy/
// (recorded_module_tree.h) makes the module tree and each node's module.
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include <torch/script.h>

#include "modelexport/example_inputs.h"
#include "modelexport/graph_preparation.h"
#include "modelexport/model_file_format.h"  // isTorchExportArchive: which files this loader reads
#include "modelexport/recorded_module_tree.h"

namespace modelexport {

// The serialized-program versions this reader understands (schema.py's SCHEMA_VERSION).
inline constexpr int64_t kTorchExportSchemaMajor = 8;

struct TorchExportModel {
  PreparedGraph prepared;
  // The nodes' nn_module_stack frames and the weights' paths: recordedModuleTree makes
  // the module tree and each node's module of them.
  RecordedModuleFrames moduleFrames;
  // Dtype and shape of each graph input as recorded by torch.export (symbolic dims at
  // their hint, else 2).
  std::vector<InputSpec> inputs;
  // Symbolic input dims (dynamic_shapes): input name -> dim -> symbol ("s0").
  std::map<std::string, std::map<int64_t, std::string>> symbolicDims;
  // Values the program declares symbolic: a tensor -> its dims given as expressions of
  // the symbols; a SymInt, SymFloat or SymBool result -> no dims.
  std::unordered_map<const torch::jit::Value*, std::vector<int64_t>> symbolicValues;
  std::string schemaVersion;  // "8.20"
  std::string torchVersion;   // of the torch that saved it, when recorded
  size_t weightBytes = 0;
};

// Throws UserError naming the file: not a torch.export archive (sniffModelFile; the
// message says what the file is instead), a schema version it does not read, or a node
// it cannot represent.
TorchExportModel loadTorchExport(const std::string& path);

// "L__self__,,__main__.M;L__self___layers_0,layers.0,__main__.Block" -> frames of
// (module path, qualified class), outermost first. Paths of older torch versions
// ("L['self'].layers[0]") come out as attribute paths ("layers.0").
std::vector<std::pair<std::string, std::string>> parseModuleStack(const std::string& stack);

}  // namespace modelexport

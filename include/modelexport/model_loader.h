#pragma once
// Loading a TorchScript archive, with a precise diagnosis of files that are not one.
#include <string>

#include <torch/script.h>

namespace modelexport {

struct ArchiveLoadStats;

// Throws UserError naming the file and what it is when it is not TorchScript.
// Tensors are views of the mapped file where possible; stats says how many bytes were.
torch::jit::Module loadTorchScript(const std::string& path, ArchiveLoadStats* stats = nullptr);

// Describes what a file that failed to load as TorchScript actually is.
std::string diagnoseNonTorchScript(const std::string& path);

}  // namespace modelexport

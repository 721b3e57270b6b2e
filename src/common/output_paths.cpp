#include "modelexport/output_paths.h"

#include <filesystem>
#include <set>

#include "modelexport/errors.h"

namespace fs = std::filesystem;

namespace modelexport {

void refuseOutputsOverInputs(const std::vector<std::string>& outputs, const std::vector<std::string>& inputs) {
  for (const auto& output : outputs) {
    std::error_code ec;
    if (output.empty() || !fs::exists(output, ec)) continue;
    for (const auto& input : inputs) {
      if (input.empty() || !fs::exists(input, ec)) continue;
      // equivalent() compares device and inode: it sees through symlinks and hard links.
      if (!fs::equivalent(output, input, ec) || ec) continue;
      const bool samePath = fs::weakly_canonical(output, ec) == fs::weakly_canonical(input, ec) &&
                            !fs::is_symlink(output, ec);
      throw UserError(output + ": is the input " + (samePath ? "file" : "file " + input + " (same file)") +
                      "; writing it would destroy the input, choose another output path");
    }
  }
}

std::vector<std::string> externalDataFiles(const onnx::ModelProto& model, const std::string& modelDir) {
  std::set<std::string> files;
  for (const auto& init : model.graph().initializer()) {
    if (init.data_location() != onnx::TensorProto::EXTERNAL) continue;
    for (const auto& entry : init.external_data())
      if (entry.key() == "location") files.insert((fs::path(modelDir) / entry.value()).string());
  }
  return {files.begin(), files.end()};
}

}  // namespace modelexport

// The zip central-directory reader (zip_directory.h) through both of its users: the
// sniffer that tells TorchScript from torch.export archives by their records, and
// MappedArchive (which stored records it may lend, their data past the local headers)
// with its load over the mapping.
#include <cstdint>

#include "fuzz_files.h"
#include "fuzz_policy.h"
#include "modelexport/mapped_archive.h"
#include "modelexport/model_locator.h"
#include "modelexport/torch_export_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace modelexport;
  const std::string path = fuzz::writeScratchFile("model.pt", data, size);
  const bool torchScript = isTorchScriptArchive(path);
  isTorchExportArchive(path);
  if (size == 0) return 0;  // MappedArchive refuses an empty file with system_error
  MappedArchive archive(path);
  archive.lendableRecords();
  // The model loader loads only what the probe took for TorchScript.
  if (!torchScript) return 0;
  try {
    archive.load();
  } catch (const std::exception&) {
    // LibTorch's refusal of the archive; the model loader turns it into a UserError.
  }
  return 0;
}

// The .pt2 reader: zip records, the serialized ExportedProgram JSON, weights, and the
// graph and module tree built from them.
#include <cstdint>

#include "fuzz_files.h"
#include "fuzz_policy.h"
#include "modelexport/torch_export_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace modelexport;
  const std::string path = fuzz::writeScratchFile("model.pt2", data, size);
  fuzz::expectOnlyUserErrors("loadTorchExport", [&] {
    if (isTorchExportArchive(path)) loadTorchExport(path);
  });
  return 0;
}

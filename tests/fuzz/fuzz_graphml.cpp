// import-onnx's reader: the hierarchical GraphML with its .onnxdata byte ranges and its
// _htp_metadata.json. An input is a bundle (fuzz_files.h) whose first file is the GraphML.
#include <cstdint>
#include <filesystem>

#include "fuzz_files.h"
#include "fuzz_policy.h"
#include "modelexport/graphml_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace modelexport;
  const std::string dir = fuzz::writeScratchBundle(data, size, "model.graphml");
  fuzz::expectOnlyUserErrors("readHierarchicalGraphml", [&] {
    readHierarchicalGraphml((std::filesystem::path(dir) / "model.graphml").string());
  });
  return 0;
}

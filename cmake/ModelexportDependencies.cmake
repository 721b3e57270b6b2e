# All dependencies come from Debian bookworm's packages; nothing is downloaded.
find_package(Torch REQUIRED)
find_package(ONNX REQUIRED)
find_package(Protobuf REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(pugixml REQUIRED)
# Unicode categories, lower-casing and NFD for the tokenizers (--input-text).
find_package(ICU REQUIRED COMPONENTS uc)

# LibTorch's headers are not warning-clean under -Wextra; treat them as system headers
# so that the warnings we see are our own.
add_library(modelexport_torch INTERFACE)
target_include_directories(modelexport_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
target_link_libraries(modelexport_torch INTERFACE ${TORCH_LIBRARIES})
target_compile_options(modelexport_torch INTERFACE ${TORCH_CXX_FLAGS})
include(LibraryLoadOrder)
modelexport_library_load_order(MODELEXPORT_TORCH_LOAD_ORDER ${TORCH_LIBRARIES})
target_link_options(modelexport_torch INTERFACE ${MODELEXPORT_TORCH_LOAD_ORDER})

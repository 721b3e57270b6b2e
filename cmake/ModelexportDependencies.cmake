# LibTorch 2.13 comes from PyPI's torch==2.13.0 wheel in a Python environment: the
# repository's .venv (scripts/setup.sh makes it), or under `pip install .` the
# environment being installed into (scikit-build-core passes its interpreter as
# Python_EXECUTABLE); everything else from Debian's packages.
if(SKBUILD AND Python_EXECUTABLE AND NOT DEFINED CACHE{MODELEXPORT_VENV_PYTHON})
  set(default_python "${Python_EXECUTABLE}")
else()
  set(default_python "${PROJECT_SOURCE_DIR}/.venv/bin/python")
endif()
set(MODELEXPORT_VENV_PYTHON "${default_python}" CACHE FILEPATH
    "Python of the environment that holds torch==2.13.0 (its LibTorch is linked)")
if(NOT EXISTS "${MODELEXPORT_VENV_PYTHON}")
  message(FATAL_ERROR "${MODELEXPORT_VENV_PYTHON} is missing: run ./scripts/setup.sh first")
endif()
# -E -s: pip's isolated build environment hides the target environment's packages
# through PYTHONPATH; the interpreter itself still sees them without it. torch is found
# and its version read from its metadata, not imported: an import costs ~1.7 s per
# configure, and `pip install .` configures twice. (torch.utils.cmake_prefix_path is
# TORCH_DIR/share/cmake; the metadata's version is torch.__version__, e.g. 2.13.0+cpu.)
set(torch_find_python "import os, sys, importlib.util, importlib.metadata as m; \
d = os.path.dirname(importlib.util.find_spec('torch').origin); \
print(os.path.join(d, 'share', 'cmake')); print(d); print(m.version('torch')); print('python%d.%d' % sys.version_info[:2])")
execute_process(
  COMMAND "${MODELEXPORT_VENV_PYTHON}" -E -s -c "${torch_find_python}"
  OUTPUT_VARIABLE torch_paths RESULT_VARIABLE torch_status OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT torch_status EQUAL 0)
  message(FATAL_ERROR "${MODELEXPORT_VENV_PYTHON} has no torch: install torch==2.13.0 into that environment "
                      "(or run ./scripts/setup.sh)")
endif()
string(REPLACE "\n" ";" torch_paths "${torch_paths}")
list(GET torch_paths 0 torch_cmake_prefix)
list(GET torch_paths 1 MODELEXPORT_TORCH_DIR)
list(GET torch_paths 2 MODELEXPORT_TORCH_VERSION)
list(GET torch_paths 3 MODELEXPORT_PYTHON_LIBDIR_NAME)
list(APPEND CMAKE_PREFIX_PATH "${torch_cmake_prefix}")

# `pip install .` into another environment with this build directory (-C build-dir):
# the binary is kept, so that environment's torch must be the version it was built
# against; the engine then loads that environment's copy ($ORIGIN-relative RPATH).
if(SKBUILD AND Python_EXECUTABLE AND NOT Python_EXECUTABLE STREQUAL MODELEXPORT_VENV_PYTHON)
  execute_process(COMMAND "${Python_EXECUTABLE}" -E -s -c "import importlib.metadata as m; print(m.version('torch'))"
    OUTPUT_VARIABLE target_torch RESULT_VARIABLE target_status OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT target_status EQUAL 0)
    message(FATAL_ERROR "${Python_EXECUTABLE} has no torch: install torch==${MODELEXPORT_TORCH_VERSION} first")
  endif()
  if(NOT target_torch STREQUAL MODELEXPORT_TORCH_VERSION)
    message(FATAL_ERROR "${CMAKE_BINARY_DIR} was built against torch ${MODELEXPORT_TORCH_VERSION}, the environment "
                        "of ${Python_EXECUTABLE} has ${target_torch}: build in a fresh directory (no -C build-dir)")
  endif()
endif()

# Debian's protobuf first: Caffe2's config otherwise defines protobuf::libprotobuf as an
# empty stand-in, and libonnx would be linked without it.
find_package(Protobuf REQUIRED)
find_package(Torch 2.13 REQUIRED)
find_package(ONNX REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(pugixml REQUIRED)
# Unicode categories, lower-casing and NFD for the tokenizers (--input-text).
find_package(ICU REQUIRED COMPONENTS uc)

# The wheel's include directory carries protobuf 3.13 headers of its own. Searched before
# /usr/include they would shadow Debian's protobuf, which libonnx's generated headers and
# libprotobuf are built for. LibTorch's headers do not need them, so the include directory
# is seen through a folder of links to every entry but google/.
set(torch_include_view "${CMAKE_BINARY_DIR}/torch-include")
file(REMOVE_RECURSE "${torch_include_view}")
file(MAKE_DIRECTORY "${torch_include_view}")
file(GLOB torch_include_entries RELATIVE "${MODELEXPORT_TORCH_DIR}/include" "${MODELEXPORT_TORCH_DIR}/include/*")
foreach(entry IN LISTS torch_include_entries)
  if(NOT entry STREQUAL "google")
    file(CREATE_LINK "${MODELEXPORT_TORCH_DIR}/include/${entry}" "${torch_include_view}/${entry}" SYMBOLIC)
  endif()
endforeach()
set(torch_includes "")
foreach(dir IN LISTS TORCH_INCLUDE_DIRS)
  string(REPLACE "${MODELEXPORT_TORCH_DIR}/include" "${torch_include_view}" dir "${dir}")
  list(APPEND torch_includes "${dir}")
endforeach()
# LibTorch's imported targets hand the original directory on to whatever links them.
foreach(target IN ITEMS c10 torch_cpu torch)
  if(TARGET ${target})
    get_target_property(dirs ${target} INTERFACE_INCLUDE_DIRECTORIES)
    if(dirs)
      string(REPLACE "${MODELEXPORT_TORCH_DIR}/include" "${torch_include_view}" dirs "${dirs}")
      set_target_properties(${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${dirs}")
    endif()
  endif()
endforeach()

# LibTorch's headers are not warning-clean under -Wextra; treat them as system headers
# so that the warnings we see are our own. The linked libraries' directory goes into the
# binaries' RPATH (CMake's build RPATH), so they find LibTorch without LD_LIBRARY_PATH.
add_library(modelexport_torch INTERFACE)
target_include_directories(modelexport_torch SYSTEM INTERFACE ${torch_includes})
target_link_libraries(modelexport_torch INTERFACE ${TORCH_LIBRARIES})
target_compile_options(modelexport_torch INTERFACE ${TORCH_CXX_FLAGS})
include(LibraryLoadOrder)
modelexport_library_load_order(MODELEXPORT_TORCH_LOAD_ORDER ${TORCH_LIBRARIES})
target_link_options(modelexport_torch INTERFACE ${MODELEXPORT_TORCH_LOAD_ORDER})

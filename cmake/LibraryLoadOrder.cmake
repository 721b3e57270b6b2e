# Start-up of the export engine: libtorch_cpu binds ~140,000 symbols before main (with
# Debian's LibTorch 1.13, which this was written for, across ~290 shared libraries:
# OpenCV, FFmpeg, GDAL, ...; the PyPI wheel's LibTorch 2.13 needs 7, so the ranking
# matters less there). Each binding walks the search list, which is the
# breadth-first order of DT_NEEDED, until the first library that defines the symbol.
# In LibTorch's own order libstdc++, OpenBLAS and libtorch_cpu itself come after
# dozens of image and GIS libraries. Listing first the libraries that most bindings
# resolve to cuts the loader's share of `modelexport export` start-up by about half
# (docs/PERFORMANCE.md). The ranking is measured, not hard-coded: a probe linked like
# the engine runs once at configure time under LD_DEBUG=bindings.
#
# modelexport_library_load_order(<out-var> <libraries...>) sets <out-var> to the link
# options that put those libraries' whole closure, ranked, at the front of DT_NEEDED;
# empty (and a status message) when the probe cannot be built or run.
option(MODELEXPORT_ORDER_LIBRARIES "List LibTorch's shared libraries in binding order" ON)

function(modelexport_library_load_order out_var)
  set(${out_var} "" PARENT_SCOPE)
  if(NOT MODELEXPORT_ORDER_LIBRARIES OR NOT CMAKE_SYSTEM_NAME STREQUAL "Linux")
    return()
  endif()
  # A cached ranking stands while every library in it is still installed.
  if(DEFINED CACHE{MODELEXPORT_LOAD_ORDER})
    set(still_there TRUE)
    foreach(item IN LISTS MODELEXPORT_LOAD_ORDER)
      if(item MATCHES "^/" AND NOT EXISTS "${item}")
        set(still_there FALSE)
      endif()
    endforeach()
    if(still_there)
      set(${out_var} "${MODELEXPORT_LOAD_ORDER}" PARENT_SCOPE)
      return()
    endif()
  endif()

  set(dir ${CMAKE_BINARY_DIR}/load-order)
  file(MAKE_DIRECTORY ${dir})
  file(WRITE ${dir}/probe.cpp "int main() { return 0; }\n")
  try_compile(probe_built ${dir}/build ${dir}/probe.cpp
    LINK_OPTIONS -Wl,--no-as-needed
    LINK_LIBRARIES ${ARGN}
    COPY_FILE ${dir}/probe
    OUTPUT_VARIABLE probe_log)
  if(NOT probe_built)
    message(STATUS "Library load order: probe did not link; keeping LibTorch's order")
    return()
  endif()

  file(GLOB old_logs ${dir}/bindings.*)
  if(old_logs)
    file(REMOVE ${old_logs})
  endif()
  execute_process(
    COMMAND ${CMAKE_COMMAND} -E env LD_DEBUG=bindings LD_DEBUG_OUTPUT=${dir}/bindings ${dir}/probe
    RESULT_VARIABLE probe_status)
  file(GLOB logs ${dir}/bindings.*)
  if(NOT probe_status EQUAL 0 OR NOT logs)
    message(STATUS "Library load order: probe did not run; keeping LibTorch's order")
    return()
  endif()
  execute_process(
    COMMAND sh ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/rank_bindings.sh ${dir}/probe ${logs}
    OUTPUT_VARIABLE ranked RESULT_VARIABLE rank_status)
  string(STRIP "${ranked}" ranked)
  if(NOT rank_status EQUAL 0 OR ranked STREQUAL "")
    message(STATUS "Library load order: no bindings recorded; keeping LibTorch's order")
    return()
  endif()
  string(REPLACE "\n" ";" ranked "${ranked}")
  list(LENGTH ranked count)
  message(STATUS "Library load order: ${count} libraries ranked by bindings")

  set(options "LINKER:--push-state,--no-as-needed" ${ranked} "LINKER:--pop-state")
  set(MODELEXPORT_LOAD_ORDER "${options}" CACHE INTERNAL "ranked link options")
  set(${out_var} "${options}" PARENT_SCOPE)
endfunction()

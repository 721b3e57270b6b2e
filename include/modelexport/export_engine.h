#pragma once
// The export command's entry point in libmodelexport_export.so. The modelexport binary
// loads that library (and with it LibTorch, ~0.5 s of start-up) only to export; analyze,
// validate, compare and import-onnx start without it.

#define MODELEXPORT_EXPORT_ENGINE_LIBRARY "libmodelexport_export.so"
#define MODELEXPORT_EXPORT_ENGINE_ENTRY "modelexport_export_main"

extern "C" {
// Parses `modelexport export ...` (argv[1] is "export") and runs it; returns the exit code.
int modelexport_export_main(int argc, char** argv);
}

#pragma once
// The way in for transformers models (a Hugging Face repo id, a save_pretrained or hub
// snapshot directory): the project's Python package (python/modelexport/frontend.py) is
// run with an interpreter of the user's environment; it loads the model with
// transformers, makes example inputs with the model's own preprocessor, runs
// torch.export and writes a .pt2 that carries those inputs, the dims' names and the
// outputs' names (extra/modelexport/*.json). The binary then exports that .pt2 as any
// other. Programs are kept in a cache keyed by the model's files, the options and the
// interpreter, so a re-export with other options does not run Python at all.
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "modelexport/model_locator.h"

namespace modelexport {

struct FrontEndRequest {
  std::string model;  // MODEL_NAME_OR_PATH as typed
  ModelLocation location;
  std::optional<std::string> task;               // --task
  std::optional<std::string> text;               // --input-text
  std::optional<std::vector<int64_t>> shape;     // --input-shape
  std::string python;                            // --python (empty: look for one)
  std::string cacheDir;                          // --temp-dir (empty: the user's cache)
  bool verbose = false;
};

struct FrontEndProgram {
  std::string path;    // the .pt2 to export
  bool reused = false;  // found in the cache: Python was not run
  double seconds = 0;   // wall time of the Python front end
  std::string python;   // the interpreter (empty when reused)
};

// The interpreter for the front end: --python, else $MODELEXPORT_PYTHON, else the python
// beside the binary (installed in a virtual environment's bin/), else the one the build
// was configured with, else python3 on PATH. Throws UserError when none runs.
std::string findFrontEndPython(const std::string& given);

// Where programs are cached: `tempDir` when given (created), else $MODELEXPORT_CACHE,
// else $XDG_CACHE_HOME/modelexport, else ~/.cache/modelexport.
std::string frontEndCacheDir(const std::string& tempDir);

// Runs the front end, or reuses its program. Throws UserError with the front end's
// one-line error (naming the model) when it fails; nothing is left in the cache then.
FrontEndProgram programFromFrontEnd(const FrontEndRequest& request, std::ostream& log);

}  // namespace modelexport

#pragma once
// MODEL_NAME_OR_PATH: a TorchScript (.pt) or torch.export (.pt2) file, a directory
// holding one, a transformers model directory (save_pretrained, a hub snapshot), or a
// Hugging Face repo id. The last two are made into a .pt2 by the Python front end
// (python_front_end.h); this file only says which case it is.
#include <string>
#include <vector>

namespace modelexport {

struct ModelLocation {
  std::string modelFile;   // the .pt/.pt2 to export; empty when the front end makes one
  std::string directory;   // where config.json and tokenizer files are (empty: not local yet)
  std::string origin;      // "file", "directory", "huggingface-cache" or "huggingface-hub"
  bool needsFrontEnd = false;  // a transformers model: the Python front end exports it
};

// The hub cache: $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub,
// else ~/.cache/huggingface/hub.
std::string huggingFaceHubCache();

// HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) set to a true value: nothing is downloaded.
bool huggingFaceOffline();

// Throws UserError saying what was looked at and how to make a model file.
ModelLocation locateModel(const std::string& nameOrPath);

}  // namespace modelexport

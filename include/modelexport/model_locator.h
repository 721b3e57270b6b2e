#pragma once
// MODEL_NAME_OR_PATH: a TorchScript file, a directory holding one (plus config and
// tokenizer files), or a Hugging Face name found in the local cache. Never downloads.
#include <functional>
#include <string>
#include <vector>

namespace modelexport {

struct ModelLocation {
  std::string torchscriptPath;
  std::string directory;  // where config.json and tokenizer files are looked for
  std::string origin;     // "file", "directory" or "huggingface-cache"
};

// The hub cache: $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub,
// else ~/.cache/huggingface/hub.
std::string huggingFaceHubCache();

// True for a zip archive written by PyTorch (torch.jit.save, torch.export.save) with a
// record (name below the archive's top folder) that `matches`.
bool archiveHasRecord(const std::string& path, const std::function<bool(const std::string&)>& matches);

// True for a zip archive with a code/ folder (what torch.jit.save writes).
bool isTorchScriptArchive(const std::string& path);

// Throws UserError saying what was looked at and how to make a TorchScript file.
ModelLocation locateModel(const std::string& nameOrPath);

}  // namespace modelexport

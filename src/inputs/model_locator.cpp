#include "modelexport/model_locator.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <caffe2/serialize/inline_container.h>

#include "modelexport/errors.h"

namespace modelexport {
namespace fs = std::filesystem;
namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string howToMakeFromHub(const std::string& repoId) {
  return "make one with '/usr/bin/python3 tools/hf_to_torchscript.py " + repoId +
         " OUT_DIR' (needs transformers; writes OUT_DIR/model.pt with the tokenizer and config) and export OUT_DIR";
}

const char* kHowToMake =
    "save one there with torch.jit.trace(model, example_inputs).save(DIR/model.pt) "
    "(for a Hugging Face model: tools/hf_to_torchscript.py)";

// Regular files (symlinks followed, as in the hub cache) in name order.
std::vector<fs::path> filesIn(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.is_regular_file(ec)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

// Picks the one TorchScript archive of a directory; `hint` says how to make one.
std::string torchscriptIn(const fs::path& dir, const std::string& label, const std::string& hint) {
  std::vector<std::string> found, others;
  for (const auto& file : filesIn(dir)) {
    if (isTorchScriptArchive(file.string())) {
      found.push_back(file.filename().string());
      continue;
    }
    const std::string ext = file.extension().string();
    if (ext == ".pt" || ext == ".pth" || ext == ".bin" || ext == ".safetensors" || ext == ".ckpt")
      others.push_back(file.filename().string());
  }
  if (found.size() == 1) return (dir / found[0]).string();
  auto join = [](const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
  };
  if (found.size() > 1)
    throw UserError(label + ": holds " + std::to_string(found.size()) + " TorchScript files (" + join(found) +
                    "); pass the one to export as MODEL_NAME_OR_PATH");
  throw UserError(label + ": no TorchScript file in " + dir.string() +
                  (others.empty() ? "" : " (" + join(others) + ": weights or checkpoints, not TorchScript)") + "; " +
                  hint);
}

// A hub repository id: "name" or "org/name", not something that looks like a file path.
bool looksLikeRepoId(const std::string& text) {
  if (text.empty() || text[0] == '.' || text[0] == '/' || text[0] == '~') return false;
  if (std::count(text.begin(), text.end(), '/') > 1) return false;
  const std::string ext = fs::path(text).extension().string();
  return ext != ".pt" && ext != ".pth" && ext != ".zip";
}

fs::path snapshotOf(const fs::path& repoDir, const std::string& repoId) {
  std::ifstream ref(repoDir / "refs" / "main");
  std::string commit;
  if (ref && std::getline(ref, commit) && !commit.empty() && fs::is_directory(repoDir / "snapshots" / commit))
    return repoDir / "snapshots" / commit;
  std::vector<fs::path> snapshots;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(repoDir / "snapshots", ec))
    if (entry.is_directory(ec)) snapshots.push_back(entry.path());
  if (snapshots.size() == 1) return snapshots[0];
  if (snapshots.empty())
    throw UserError(repoId + ": the Hugging Face cache entry " + repoDir.string() + " has no snapshot; " +
                    howToMakeFromHub(repoId));
  std::sort(snapshots.begin(), snapshots.end());
  throw UserError(repoId + ": the Hugging Face cache has " + std::to_string(snapshots.size()) +
                  " snapshots and no refs/main; pass one directory, e.g. " + snapshots[0].string());
}

}  // namespace

std::string huggingFaceHubCache() {
  if (!env("HF_HUB_CACHE").empty()) return env("HF_HUB_CACHE");
  if (!env("HF_HOME").empty()) return (fs::path(env("HF_HOME")) / "hub").string();
  if (!env("XDG_CACHE_HOME").empty()) return (fs::path(env("XDG_CACHE_HOME")) / "huggingface" / "hub").string();
  return (fs::path(env("HOME")) / ".cache" / "huggingface" / "hub").string();
}

bool archiveHasRecord(const std::string& path, const std::function<bool(const std::string&)>& matches) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  if (!in.read(magic, 4) || std::memcmp(magic, "PK\x03\x04", 4) != 0) return false;
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    for (const auto& record : reader.getAllRecords())
      if (matches(record)) return true;
  } catch (const std::exception&) {
  }
  return false;
}

bool isTorchScriptArchive(const std::string& path) {
  return archiveHasRecord(path, [](const std::string& record) { return record.rfind("code/", 0) == 0; });
}

ModelLocation locateModel(const std::string& nameOrPath) {
  std::error_code ec;
  if (fs::is_regular_file(nameOrPath, ec)) {
    fs::path file(nameOrPath);
    return {nameOrPath, file.has_parent_path() ? file.parent_path().string() : ".", "file"};
  }
  if (fs::is_directory(nameOrPath, ec))
    return {torchscriptIn(nameOrPath, nameOrPath, kHowToMake), nameOrPath, "directory"};
  if (fs::exists(nameOrPath, ec)) throw UserError(nameOrPath + ": not a file or directory");
  if (!looksLikeRepoId(nameOrPath)) throw UserError(nameOrPath + ": no such file or directory");

  std::string folder = "models--" + nameOrPath;
  for (size_t at = folder.find('/'); at != std::string::npos; at = folder.find('/', at)) folder.replace(at, 1, "--");
  const fs::path repoDir = fs::path(huggingFaceHubCache()) / folder;
  if (!fs::is_directory(repoDir, ec))
    throw UserError(nameOrPath + ": no such file or directory, and not in the Hugging Face cache (" + repoDir.string() +
                    "; set HF_HOME or HF_HUB_CACHE to use another cache); modelexport never downloads: " +
                    howToMakeFromHub(nameOrPath));
  const fs::path snapshot = snapshotOf(repoDir, nameOrPath);
  return {torchscriptIn(snapshot, nameOrPath + " (Hugging Face cache)",
                        "the hub has no TorchScript files of its own; " + howToMakeFromHub(nameOrPath)),
          snapshot.string(), "huggingface-cache"};
}

}  // namespace modelexport

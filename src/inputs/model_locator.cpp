#include "modelexport/model_locator.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "modelexport/errors.h"
#include "modelexport/model_file_format.h"

namespace modelexport {
namespace fs = std::filesystem;
namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

const char* kHowToMake =
    "save a transformers model there with save_pretrained (config.json + weights), or a model file with "
    "torch.export.save(torch.export.export(model, args), DIR/model.pt2) or torch.jit.trace(model, args).save(DIR/model.pt)";

// Regular files (symlinks followed, as in the hub cache) in name order.
std::vector<fs::path> filesIn(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.is_regular_file(ec)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// The one model file (.pt or .pt2 archive) of a directory; else a transformers model
// directory (config.json) for the front end; else an error saying what is there.
ModelLocation locateInDirectory(const fs::path& dir, const std::string& label, const std::string& origin) {
  std::vector<std::string> found, others;
  for (const auto& file : filesIn(dir)) {
    if (sniffModelFile(file.string()) != ModelFileFormat::kOther) {
      found.push_back(file.filename().string());
      continue;
    }
    const std::string ext = file.extension().string();
    if (ext == ".pt" || ext == ".pth" || ext == ".bin" || ext == ".safetensors" || ext == ".ckpt")
      others.push_back(file.filename().string());
  }
  if (found.size() == 1) return {(dir / found[0]).string(), dir.string(), origin, false};
  if (found.size() > 1)
    throw UserError(label + ": holds " + std::to_string(found.size()) + " model files (" + joined(found) +
                    "); pass the one to export as MODEL_NAME_OR_PATH");
  std::error_code ec;
  if (fs::is_regular_file(dir / "config.json", ec)) return {"", dir.string(), origin, true};
  throw UserError(label + ": no model in " + dir.string() + " (no config.json, no TorchScript or torch.export file" +
                  (others.empty() ? "" : "; " + joined(others) + ": weights or checkpoints without a config.json") +
                  "); " + kHowToMake);
}

// A hub repository id: "name" or "org/name", not something that looks like a file path.
bool looksLikeRepoId(const std::string& text) {
  if (text.empty() || text[0] == '.' || text[0] == '/' || text[0] == '~') return false;
  if (std::count(text.begin(), text.end(), '/') > 1) return false;
  const std::string ext = fs::path(text).extension().string();
  return ext != ".pt" && ext != ".pt2" && ext != ".pth" && ext != ".zip" && ext != ".onnx";
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
    throw UserError(repoId + ": the Hugging Face cache entry " + repoDir.string() +
                    " has no snapshot; download the model again (huggingface-cli download " + repoId + ")");
  std::sort(snapshots.begin(), snapshots.end());
  throw UserError(repoId + ": the Hugging Face cache has " + std::to_string(snapshots.size()) +
                  " snapshots and no refs/main; pass one directory, e.g. " + snapshots[0].string());
}

bool truthy(const std::string& value) {
  std::string v = value;
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  return v == "1" || v == "true" || v == "yes" || v == "on";
}

}  // namespace

std::string huggingFaceHubCache() {
  if (!env("HF_HUB_CACHE").empty()) return env("HF_HUB_CACHE");
  if (!env("HF_HOME").empty()) return (fs::path(env("HF_HOME")) / "hub").string();
  if (!env("XDG_CACHE_HOME").empty()) return (fs::path(env("XDG_CACHE_HOME")) / "huggingface" / "hub").string();
  return (fs::path(env("HOME")) / ".cache" / "huggingface" / "hub").string();
}

bool huggingFaceOffline() { return truthy(env("HF_HUB_OFFLINE")) || truthy(env("TRANSFORMERS_OFFLINE")); }

ModelLocation locateModel(const std::string& nameOrPath) {
  std::error_code ec;
  if (fs::is_regular_file(nameOrPath, ec)) {
    fs::path file(nameOrPath);
    return {nameOrPath, file.has_parent_path() ? file.parent_path().string() : ".", "file", false};
  }
  if (fs::is_directory(nameOrPath, ec)) return locateInDirectory(nameOrPath, nameOrPath, "directory");
  if (fs::exists(nameOrPath, ec)) throw UserError(nameOrPath + ": not a file or directory");
  if (!looksLikeRepoId(nameOrPath)) throw UserError(nameOrPath + ": no such file or directory");

  std::string folder = "models--" + nameOrPath;
  for (size_t at = folder.find('/'); at != std::string::npos; at = folder.find('/', at)) folder.replace(at, 1, "--");
  const fs::path repoDir = fs::path(huggingFaceHubCache()) / folder;
  if (!fs::is_directory(repoDir, ec)) {
    if (huggingFaceOffline())
      throw UserError(nameOrPath + ": no such file or directory, and not in the Hugging Face cache (" +
                      repoDir.string() + "); HF_HUB_OFFLINE is set, so it is not downloaded (unset it, or set "
                      "HF_HOME or HF_HUB_CACHE to the cache that holds it)");
    return {"", "", "huggingface-hub", true};  // transformers downloads it into the cache
  }
  return locateInDirectory(snapshotOf(repoDir, nameOrPath), nameOrPath + " (Hugging Face cache)",
                           "huggingface-cache");
}

}  // namespace modelexport

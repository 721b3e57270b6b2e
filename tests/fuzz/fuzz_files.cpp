#include "fuzz_files.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <vector>

namespace modelexport::fuzz {
namespace fs = std::filesystem;
namespace {

const fs::path& scratchDir() {
  static const fs::path dir = [] {
    std::error_code ec;
    const fs::path base = fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
    return base / ("modelexport-fuzz-" + std::to_string(::getpid()));
  }();
  return dir;
}

bool isPlainName(const std::string& name) {
  if (name.empty() || name.size() > 64 || name == "." || name == "..") return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
  return true;
}

void writeBytes(const fs::path& path, const char* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data, static_cast<std::streamsize>(size));
}

// Removes the scratch directory when the process ends normally.
struct ScratchCleanup {
  ~ScratchCleanup() {
    std::error_code ec;
    fs::remove_all(scratchDir(), ec);
  }
};

}  // namespace

std::string freshScratchDir() {
  scratchDir();  // constructed first, so destroyed after the cleanup has used it
  static ScratchCleanup cleanup;
  std::error_code ec;
  fs::remove_all(scratchDir(), ec);
  fs::create_directories(scratchDir(), ec);
  return scratchDir().string();
}

std::string writeScratchFile(const std::string& name, const uint8_t* data, size_t size) {
  const fs::path path = fs::path(freshScratchDir()) / name;
  writeBytes(path, reinterpret_cast<const char*>(data), size);
  return path.string();
}

std::string writeScratchBundle(const uint8_t* data, size_t size, const std::string& firstName) {
  const fs::path dir = freshScratchDir();
  const std::string text(reinterpret_cast<const char*>(data), size);
  static const std::string marker = "%%file ";
  // Markers count at the start of the input or right after a newline; that newline ends
  // the previous file and is not part of it.
  std::vector<size_t> markers;
  if (text.compare(0, marker.size(), marker) == 0) markers.push_back(0);
  for (size_t at = text.find("\n" + marker); at != std::string::npos; at = text.find("\n" + marker, at + 1))
    markers.push_back(at + 1);
  auto write = [&](const std::string& name, size_t from, size_t to) {
    if (isPlainName(name)) writeBytes(dir / name, text.data() + from, to - from);
  };
  if (markers.empty()) {
    write(firstName, 0, text.size());
    return dir.string();
  }
  if (markers[0] > 0) write(firstName, 0, markers[0] - 1);
  for (size_t i = 0; i < markers.size(); ++i) {
    const size_t nameStart = markers[i] + marker.size();
    const size_t contentEnd = i + 1 < markers.size() ? markers[i + 1] - 1 : text.size();
    const size_t nameEnd = std::min(text.find('\n', nameStart), contentEnd);
    write(text.substr(nameStart, nameEnd - nameStart), std::min(nameEnd + 1, contentEnd), contentEnd);
  }
  return dir.string();
}

}  // namespace modelexport::fuzz

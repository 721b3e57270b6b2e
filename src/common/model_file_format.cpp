#include "modelexport/model_file_format.h"
#include "modelexport/zip_directory.h"

#include <cstring>
#include <fstream>
#include <optional>
#include <vector>

namespace modelexport {
namespace {

// What the archive's records say, under its top folder, as PyTorch's reader sees it:
// the first record names the folder, every record must be in it, and it must hold a
// version record; otherwise the reader refuses the file and it is no archive.
struct ArchiveRecords {
  bool archive = false;
  bool hasCode = false;   // code/...
  bool hasModel = false;  // models/<name>.json
};

ArchiveRecords readArchiveRecords(const std::string& path) {
  ArchiveRecords found;
  const ZipFileBytes bytes(path);
  unsigned char magic[4];
  if (!bytes.read(0, magic, 4) || std::memcmp(magic, "PK\x03\x04", 4) != 0) return found;
  const std::optional<std::vector<ZipEntry>> entries = readZipDirectory(bytes);
  if (!entries || entries->empty()) return found;

  const auto slash = entries->front().name.find('/');
  if (slash == std::string::npos) return found;
  const std::string folder = entries->front().name.substr(0, slash + 1);  // "archive/"
  bool hasVersion = false;
  for (const ZipEntry& entry : *entries) {
    if (entry.name.compare(0, folder.size(), folder) != 0) return found;
    const std::string record = entry.name.substr(folder.size());
    hasVersion = hasVersion || record == "version" || record == ".data/version";
    found.hasCode = found.hasCode || record.rfind("code/", 0) == 0;
    found.hasModel = found.hasModel || isTorchExportProgramRecord(record);
  }
  found.archive = hasVersion;
  return found;
}

std::vector<char> readHead(const std::string& path, size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> head(n);
  in.read(head.data(), static_cast<std::streamsize>(n));
  head.resize(static_cast<size_t>(in.gcount()));
  return head;
}

bool startsWith(const std::vector<char>& data, const char* magic, size_t n) {
  return data.size() >= n && std::memcmp(data.data(), magic, n) == 0;
}

// Whether the file's bytes contain `needle` anywhere: enough to tell a zip's local file
// names apart without trusting its directory.
bool fileContains(const std::string& path, const std::string& needle) {
  std::ifstream in(path, std::ios::binary);
  std::string chunk(1 << 20, '\0');
  std::string carry;
  while (in) {
    in.read(&chunk[0], static_cast<std::streamsize>(chunk.size()));
    std::string window = carry + chunk.substr(0, static_cast<size_t>(in.gcount()));
    if (window.find(needle) != std::string::npos) return true;
    carry = window.size() > needle.size() ? window.substr(window.size() - needle.size()) : window;
  }
  return false;
}

}  // namespace

bool isTorchExportProgramRecord(const std::string& record) {
  return record.rfind("models/", 0) == 0 && record.size() > 12 && record.compare(record.size() - 5, 5, ".json") == 0;
}

bool startsAsZip(const std::string& path) { return startsWith(readHead(path, 4), "PK\x03\x04", 4); }

ModelFileFormat sniffModelFile(const std::string& path) {
  const ArchiveRecords records = readArchiveRecords(path);
  if (!records.archive) return ModelFileFormat::kOther;
  if (records.hasModel) return ModelFileFormat::kTorchExport;
  if (records.hasCode) return ModelFileFormat::kTorchScript;
  return ModelFileFormat::kOther;
}

NonModelFileKind nonModelFileKind(const std::string& path) {
  const auto head = readHead(path, 8);
  if (head.empty()) return NonModelFileKind::kEmpty;
  if (startsWith(head, "PK\x03\x04", 4)) {
    if (!fileContains(path, "/code/") && fileContains(path, "data.pkl")) return NonModelFileKind::kTorchSaveCheckpoint;
    if (!fileContains(path, "PK\x05\x06")) return NonModelFileKind::kTruncatedZip;
    if (!fileContains(path, "/code/")) return NonModelFileKind::kZipWithoutCode;
    return NonModelFileKind::kTorchScriptLike;
  }
  if (static_cast<unsigned char>(head[0]) == 0x80) return NonModelFileKind::kPickle;
  if (startsWith(head, "\x08", 1) || startsWith(head, "ONNX", 4)) return NonModelFileKind::kProtobuf;
  return NonModelFileKind::kNotZip;
}

}  // namespace modelexport

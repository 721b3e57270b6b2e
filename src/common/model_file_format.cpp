#include "modelexport/model_file_format.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <vector>

namespace modelexport {
namespace {

uint16_t le16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t le64(const unsigned char* p) { return static_cast<uint64_t>(le32(p)) | (static_cast<uint64_t>(le32(p + 4)) << 32); }

// `n` bytes at `offset`, or false when the file has fewer.
bool readAt(std::ifstream& in, uint64_t offset, unsigned char* out, size_t n) {
  in.clear();
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(reinterpret_cast<char*>(out), static_cast<std::streamsize>(n));
  return static_cast<size_t>(in.gcount()) == n;
}

struct CentralDirectory {
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t entries = 0;
};

// The end-of-central-directory record (APPNOTE 4.3.16), and its zip64 form (4.3.14-15)
// when the plain one's fields are saturated. Every value comes from the file, so each
// is checked against the file's size before it is used.
bool findCentralDirectory(std::ifstream& in, uint64_t fileSize, CentralDirectory& dir) {
  if (fileSize < 22) return false;
  const uint64_t tailSize = std::min<uint64_t>(fileSize, 22 + 65535);
  const uint64_t tailStart = fileSize - tailSize;
  std::vector<unsigned char> tail(tailSize);
  if (!readAt(in, tailStart, tail.data(), tail.size())) return false;
  uint64_t eocd = UINT64_MAX;
  for (uint64_t at = tailSize - 22 + 1; at-- > 0;)
    if (le32(&tail[at]) == 0x06054b50) {
      eocd = at;
      break;
    }
  if (eocd == UINT64_MAX) return false;
  dir.entries = le16(&tail[eocd + 10]);
  dir.size = le32(&tail[eocd + 12]);
  dir.offset = le32(&tail[eocd + 16]);
  const bool saturated = dir.entries == 0xFFFF || dir.size == 0xFFFFFFFF || dir.offset == 0xFFFFFFFF;
  const uint64_t eocdInFile = tailStart + eocd;
  unsigned char locator[20];
  if (saturated && eocdInFile >= 20 && readAt(in, eocdInFile - 20, locator, 20) && le32(locator) == 0x07064b50) {
    unsigned char record[56];
    const uint64_t zip64 = le64(locator + 8);
    if (zip64 > fileSize || !readAt(in, zip64, record, 56) || le32(record) != 0x06064b50) return false;
    dir.entries = le64(record + 32);
    dir.size = le64(record + 40);
    dir.offset = le64(record + 48);
  }
  return dir.offset <= fileSize && dir.size <= fileSize - dir.offset;
}

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
  std::ifstream in(path, std::ios::binary);
  unsigned char magic[4];
  if (!in || !readAt(in, 0, magic, 4) || std::memcmp(magic, "PK\x03\x04", 4) != 0) return found;
  in.clear();
  in.seekg(0, std::ios::end);
  const auto end = in.tellg();
  if (end < 0) return found;
  CentralDirectory dir;
  if (!findCentralDirectory(in, static_cast<uint64_t>(end), dir) || dir.entries == 0) return found;

  std::string folder;  // "archive/"
  bool hasVersion = false;
  uint64_t at = dir.offset;
  const uint64_t dirEnd = dir.offset + dir.size;
  std::string name;
  for (uint64_t i = 0; i < dir.entries; ++i) {
    unsigned char header[46];
    if (at > dirEnd || dirEnd - at < 46 || !readAt(in, at, header, 46) || le32(header) != 0x02014b50) return found;
    const uint16_t nameLength = le16(header + 28);
    name.assign(nameLength, '\0');
    if (dirEnd - at - 46 < nameLength ||
        !readAt(in, at + 46, reinterpret_cast<unsigned char*>(&name[0]), nameLength))
      return found;
    at += 46 + uint64_t{nameLength} + le16(header + 30) + le16(header + 32);
    if (i == 0) {
      const auto slash = name.find('/');
      if (slash == std::string::npos) return found;
      folder = name.substr(0, slash + 1);
    }
    if (name.compare(0, folder.size(), folder) != 0) return found;
    const std::string record = name.substr(folder.size());
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

#include "modelexport/zip_directory.h"

#include <algorithm>
#include <cstring>

namespace modelexport {
namespace {

constexpr uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint32_t kZip64EndSignature = 0x06064b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint64_t kEndSize = 22;
constexpr uint64_t kMaxCommentSize = 65535;
constexpr uint64_t kLocatorSize = 20;
constexpr uint64_t kZip64EndSize = 56;
constexpr uint64_t kCentralHeaderSize = 46;
constexpr uint64_t kLocalHeaderSize = 30;

uint16_t le16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t le64(const unsigned char* p) { return static_cast<uint64_t>(le32(p)) | (static_cast<uint64_t>(le32(p + 4)) << 32); }

// Whether [offset, offset + length) lies in `size` bytes; no sum can wrap.
bool within(uint64_t offset, uint64_t length, uint64_t size) { return offset <= size && length <= size - offset; }

struct DirectoryPlace {
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t entries = 0;
};

// The end-of-central-directory record (4.3.16): the last one in the file's tail, where
// its comment (at most 64 KiB) allows it to be. Its zip64 form (4.3.14-15) counts when a
// plain field is saturated and a locator stands right before it.
std::optional<DirectoryPlace> findDirectory(const ZipBytes& bytes) {
  const uint64_t fileSize = bytes.size();
  if (fileSize < kEndSize) return std::nullopt;
  const uint64_t tailSize = std::min(fileSize, kEndSize + kMaxCommentSize);
  const uint64_t tailStart = fileSize - tailSize;
  std::vector<unsigned char> tail(tailSize);
  if (!bytes.read(tailStart, tail.data(), tail.size())) return std::nullopt;
  uint64_t end = UINT64_MAX;
  for (uint64_t at = tailSize - kEndSize + 1; at-- > 0;)
    if (le32(&tail[at]) == kEndSignature) {
      end = at;
      break;
    }
  if (end == UINT64_MAX) return std::nullopt;
  DirectoryPlace place;
  place.entries = le16(&tail[end + 10]);
  place.size = le32(&tail[end + 12]);
  place.offset = le32(&tail[end + 16]);
  const bool saturated = place.entries == 0xFFFF || place.size == 0xFFFFFFFF || place.offset == 0xFFFFFFFF;
  const uint64_t endInFile = tailStart + end;
  unsigned char locator[kLocatorSize];
  if (saturated && endInFile >= kLocatorSize && bytes.read(endInFile - kLocatorSize, locator, kLocatorSize) &&
      le32(locator) == kZip64LocatorSignature) {
    unsigned char record[kZip64EndSize];
    if (!bytes.read(le64(locator + 8), record, kZip64EndSize) || le32(record) != kZip64EndSignature)
      return std::nullopt;
    place.entries = le64(record + 32);
    place.size = le64(record + 40);
    place.offset = le64(record + 48);
  }
  if (!within(place.offset, place.size, fileSize)) return std::nullopt;
  return place;
}

// The zip64 extended information field (4.5.3): 64-bit values for the fields the header
// saturated, in the order original size, compressed size, local header offset.
void readZip64Extra(const unsigned char* extra, size_t length, ZipEntry& entry) {
  for (size_t at = 0; at + 4 <= length;) {
    const uint16_t id = le16(extra + at);
    const size_t fieldEnd = std::min<size_t>(at + 4 + le16(extra + at + 2), length);
    if (id == kZip64ExtraId) {
      size_t field = at + 4;
      auto widen = [&](uint64_t& value) {
        if (value == 0xFFFFFFFF && field + 8 <= fieldEnd) value = le64(extra + field), field += 8;
      };
      widen(entry.uncompressedSize);
      widen(entry.compressedSize);
      widen(entry.localHeaderOffset);
    }
    at = fieldEnd;
  }
}

}  // namespace

ZipFileBytes::ZipFileBytes(const std::string& path) : in_(path, std::ios::binary) {
  if (!in_) return;
  in_.seekg(0, std::ios::end);
  const auto end = in_.tellg();
  if (end > 0) size_ = static_cast<uint64_t>(end);
}

bool ZipFileBytes::read(uint64_t offset, void* out, size_t n) const {
  if (!within(offset, n, size_)) return false;
  in_.clear();
  in_.seekg(static_cast<std::streamoff>(offset));
  in_.read(static_cast<char*>(out), static_cast<std::streamsize>(n));
  return static_cast<size_t>(in_.gcount()) == n;
}

bool ZipMemoryBytes::read(uint64_t offset, void* out, size_t n) const {
  if (!within(offset, n, size_)) return false;
  std::memcpy(out, data_ + offset, n);
  return true;
}

std::optional<std::vector<ZipEntry>> readZipDirectory(const ZipBytes& bytes) {
  const std::optional<DirectoryPlace> place = findDirectory(bytes);
  if (!place) return std::nullopt;
  std::vector<ZipEntry> entries;
  const uint64_t directoryEnd = place->offset + place->size;
  std::vector<unsigned char> nameAndExtra;
  for (uint64_t i = 0, at = place->offset; i < place->entries; ++i) {
    unsigned char header[kCentralHeaderSize];
    if (!within(at, kCentralHeaderSize, directoryEnd) || !bytes.read(at, header, kCentralHeaderSize) ||
        le32(header) != kCentralHeaderSignature)
      return std::nullopt;
    const uint16_t nameLength = le16(header + 28);
    const uint16_t extraLength = le16(header + 30);
    const uint16_t commentLength = le16(header + 32);
    const uint64_t variableLength = uint64_t{nameLength} + extraLength + commentLength;
    nameAndExtra.resize(size_t{nameLength} + extraLength);
    if (!within(at + kCentralHeaderSize, variableLength, directoryEnd) ||
        !bytes.read(at + kCentralHeaderSize, nameAndExtra.data(), nameAndExtra.size()))
      return std::nullopt;
    ZipEntry entry;
    entry.name.assign(reinterpret_cast<const char*>(nameAndExtra.data()), nameLength);
    entry.method = le16(header + 10);
    entry.compressedSize = le32(header + 20);
    entry.uncompressedSize = le32(header + 24);
    entry.localHeaderOffset = le32(header + 42);
    readZip64Extra(nameAndExtra.data() + nameLength, extraLength, entry);
    entries.push_back(std::move(entry));
    at += kCentralHeaderSize + variableLength;
  }
  return entries;
}

std::optional<uint64_t> zipEntryDataOffset(const ZipBytes& bytes, const ZipEntry& entry) {
  unsigned char header[kLocalHeaderSize];
  if (!bytes.read(entry.localHeaderOffset, header, kLocalHeaderSize) || le32(header) != kLocalHeaderSignature)
    return std::nullopt;
  const uint16_t nameLength = le16(header + 26);
  if (nameLength != entry.name.size()) return std::nullopt;
  std::string name(nameLength, '\0');
  if (!bytes.read(entry.localHeaderOffset + kLocalHeaderSize, &name[0], nameLength) || name != entry.name)
    return std::nullopt;
  const uint64_t data = entry.localHeaderOffset + kLocalHeaderSize + nameLength + le16(header + 28);
  if (!within(data, entry.compressedSize, bytes.size())) return std::nullopt;
  return data;
}

}  // namespace modelexport

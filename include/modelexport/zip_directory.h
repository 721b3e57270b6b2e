#pragma once
// The central directory of a zip file (APPNOTE.TXT 4.3.12-16; zip64 4.3.14-15, 4.5.3):
// the one reader of it, for the sniffer (which records an archive holds,
// model_file_format.h) and MappedArchive (where stored records' bytes lie, to lend them).
// No LibTorch, so every layer may use it. Every offset and length comes from the file,
// so each is checked against the file's size before it is read.
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace modelexport {

// The bytes of a zip file, read at any offset: a file on disk or a mapping of one.
class ZipBytes {
 public:
  virtual ~ZipBytes() = default;
  virtual uint64_t size() const = 0;
  // Copies the n bytes at `offset` into `out`; false when the file has fewer.
  virtual bool read(uint64_t offset, void* out, size_t n) const = 0;
};

// A file read piece by piece, so only the directory's bytes are read. A file that cannot
// be opened has no bytes.
class ZipFileBytes final : public ZipBytes {
 public:
  explicit ZipFileBytes(const std::string& path);
  uint64_t size() const override { return size_; }
  bool read(uint64_t offset, void* out, size_t n) const override;

 private:
  mutable std::ifstream in_;
  uint64_t size_ = 0;
};

// Bytes already in memory (a mapped file); they must outlive this view.
class ZipMemoryBytes final : public ZipBytes {
 public:
  ZipMemoryBytes(const unsigned char* data, uint64_t size) : data_(data), size_(size) {}
  uint64_t size() const override { return size_; }
  bool read(uint64_t offset, void* out, size_t n) const override;

 private:
  const unsigned char* data_;
  uint64_t size_;
};

// One record as the central directory describes it; sizes and the offset are the zip64
// extra field's where the directory saturates the 32-bit ones.
struct ZipEntry {
  std::string name;
  uint16_t method = 0;  // 0: stored, 8: deflated
  uint64_t compressedSize = 0;
  uint64_t uncompressedSize = 0;
  uint64_t localHeaderOffset = 0;
  bool stored() const { return method == 0 && compressedSize == uncompressedSize; }
};

// The directory's entries in its order. Nothing when the file has no end-of-central-
// directory record in its last 64 KiB, a zip64 locator points at no zip64 record, the
// directory does not lie in the file, or an entry does not lie whole in the directory
// (as PyTorch's zip reader, miniz, refuses it).
std::optional<std::vector<ZipEntry>> readZipDirectory(const ZipBytes& bytes);

// Where an entry's data starts: past its local header, whose name and extra field have
// lengths of their own (4.3.7). Nothing when no local header is there, it names another
// record, or the data (compressedSize bytes) runs past the end of the file.
std::optional<uint64_t> zipEntryDataOffset(const ZipBytes& bytes, const ZipEntry& entry);

}  // namespace modelexport

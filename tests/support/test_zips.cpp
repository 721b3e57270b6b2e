#include "test_zips.h"

namespace modelexport::testing {

void putLittleEndian(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

void setLittleEndian(std::string& zip, size_t at, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) zip[at + static_cast<size_t>(i)] = static_cast<char>((value >> (8 * i)) & 0xFF);
}

uint64_t getLittleEndian(const std::string& zip, size_t at, int bytes) {
  uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(zip[at + static_cast<size_t>(i)]);
  return value;
}

namespace {

// The fields a local header and a central-directory entry share, in the same order
// (4.3.7, 4.3.12): version needed to extract through the extra field's length.
void putSharedHeaderFields(std::string& out, size_t dataSize, size_t nameLength, size_t extraLength) {
  putLittleEndian(out, 20, 2);  // version needed
  putLittleEndian(out, 0, 2);   // flags
  putLittleEndian(out, 0, 2);   // method: stored
  putLittleEndian(out, 0, 4);   // time, date
  putLittleEndian(out, 0, 4);   // CRC
  putLittleEndian(out, dataSize, 4);
  putLittleEndian(out, dataSize, 4);
  putLittleEndian(out, nameLength, 2);
  putLittleEndian(out, extraLength, 2);
}

}  // namespace

std::string storedZip(const std::vector<std::pair<std::string, std::string>>& records, const std::string& localExtra) {
  std::string out, directory;
  for (const auto& [name, data] : records) {
    const size_t local = out.size();
    putLittleEndian(out, 0x04034b50, 4);
    putSharedHeaderFields(out, data.size(), name.size(), localExtra.size());
    out += name + localExtra + data;
    putLittleEndian(directory, 0x02014b50, 4);
    putLittleEndian(directory, 20, 2);  // version made by
    putSharedHeaderFields(directory, data.size(), name.size(), 0);
    putLittleEndian(directory, 0, 2);  // comment
    putLittleEndian(directory, 0, 2);  // disk
    putLittleEndian(directory, 0, 2);  // internal attributes
    putLittleEndian(directory, 0, 4);  // external attributes
    putLittleEndian(directory, local, 4);
    directory += name;
  }
  const size_t directoryOffset = out.size();
  out += directory;
  putLittleEndian(out, 0x06054b50, 4);
  putLittleEndian(out, 0, 4);  // disks
  putLittleEndian(out, records.size(), 2);
  putLittleEndian(out, records.size(), 2);
  putLittleEndian(out, directory.size(), 4);
  putLittleEndian(out, directoryOffset, 4);
  putLittleEndian(out, 0, 2);  // comment
  return out;
}

std::string withZip64Directory(const std::string& zip) {
  const size_t eocd = zip.rfind(std::string("PK\x05\x06", 4));
  const uint64_t entries = getLittleEndian(zip, eocd + 10, 2);
  const size_t dirOffset = getLittleEndian(zip, eocd + 16, 4);
  std::string out = zip.substr(0, dirOffset), directory;
  for (size_t at = dirOffset, i = 0; i < entries; ++i) {
    std::string header = zip.substr(at, 46);
    const size_t nameLength = getLittleEndian(header, 28, 2), extraLength = getLittleEndian(header, 30, 2),
                 commentLength = getLittleEndian(header, 32, 2);
    const uint64_t compressed = getLittleEndian(header, 20, 4), uncompressed = getLittleEndian(header, 24, 4),
                   local = getLittleEndian(header, 42, 4);
    setLittleEndian(header, 20, 0xFFFFFFFF, 4);
    setLittleEndian(header, 24, 0xFFFFFFFF, 4);
    setLittleEndian(header, 42, 0xFFFFFFFF, 4);
    setLittleEndian(header, 30, extraLength + 28u, 2);
    std::string zip64Extra;
    putLittleEndian(zip64Extra, 0x0001, 2);
    putLittleEndian(zip64Extra, 24, 2);
    putLittleEndian(zip64Extra, uncompressed, 8);
    putLittleEndian(zip64Extra, compressed, 8);
    putLittleEndian(zip64Extra, local, 8);
    directory += header + zip.substr(at + 46, nameLength) + zip64Extra +
                 zip.substr(at + 46 + nameLength, extraLength + commentLength);
    at += 46 + nameLength + extraLength + commentLength;
  }
  const size_t directoryStart = out.size();
  out += directory;
  const size_t zip64End = out.size();
  putLittleEndian(out, 0x06064b50, 4);
  putLittleEndian(out, 44, 8);  // size of the rest of this record
  putLittleEndian(out, 45, 2);
  putLittleEndian(out, 45, 2);
  putLittleEndian(out, 0, 4);
  putLittleEndian(out, 0, 4);
  putLittleEndian(out, entries, 8);
  putLittleEndian(out, entries, 8);
  putLittleEndian(out, directory.size(), 8);
  putLittleEndian(out, directoryStart, 8);
  putLittleEndian(out, 0x07064b50, 4);  // locator
  putLittleEndian(out, 0, 4);
  putLittleEndian(out, zip64End, 8);
  putLittleEndian(out, 1, 4);
  putLittleEndian(out, 0x06054b50, 4);  // end record, every field saturated
  putLittleEndian(out, 0, 4);
  putLittleEndian(out, 0xFFFF, 2);
  putLittleEndian(out, 0xFFFF, 2);
  putLittleEndian(out, 0xFFFFFFFF, 4);
  putLittleEndian(out, 0xFFFFFFFF, 4);
  putLittleEndian(out, 0, 2);
  return out;
}

}  // namespace modelexport::testing

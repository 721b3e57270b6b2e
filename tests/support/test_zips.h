#pragma once
// Zip files written byte by byte for the tests of the zip directory reader and its users
// (the sniffer, MappedArchive), so each rule of the format can be tried alone.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace modelexport::testing {

// `value`'s low `bytes` bytes, little-endian, appended to `out` / written at `at`.
void putLittleEndian(std::string& out, uint64_t value, int bytes);
void setLittleEndian(std::string& zip, size_t at, uint64_t value, int bytes);
uint64_t getLittleEndian(const std::string& zip, size_t at, int bytes);

// A zip of stored records (APPNOTE 4.3.7, 4.3.12, 4.3.16), CRCs left 0 (no reader here
// checks them). `localExtra` is put in every local header's extra field, as PyTorch's
// writer pads its local headers so that the data is aligned.
std::string storedZip(const std::vector<std::pair<std::string, std::string>>& records,
                      const std::string& localExtra = "");

// The same archive with a zip64 directory, as a writer emits it for archives over 4 GiB:
// every entry's sizes and local-header offset saturated to 0xFFFFFFFF with the real
// values in a zip64 extra field, and the end record pointing through the zip64 locator
// (APPNOTE 4.3.14-15, 4.5.3). Records and data stay where they were.
std::string withZip64Directory(const std::string& zip);

}  // namespace modelexport::testing

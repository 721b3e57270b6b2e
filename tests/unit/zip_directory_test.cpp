// The one zip central-directory reader (zip_directory.h) that the sniffer and
// MappedArchive share: entries, zip64 values, data offsets past local headers of their
// own length, and the directories it refuses, on zips written here byte by byte.
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "modelexport/zip_directory.h"
#include "test_support.h"
#include "test_zips.h"

namespace modelexport {
namespace {

using testing::getLittleEndian;
using testing::setLittleEndian;
using testing::storedZip;
using testing::withZip64Directory;

std::optional<std::vector<ZipEntry>> entriesOf(const std::string& zip) {
  return readZipDirectory(ZipMemoryBytes(reinterpret_cast<const unsigned char*>(zip.data()), zip.size()));
}

std::optional<uint64_t> dataOffset(const std::string& zip, const ZipEntry& entry) {
  return zipEntryDataOffset(ZipMemoryBytes(reinterpret_cast<const unsigned char*>(zip.data()), zip.size()), entry);
}

// Where the end record says the directory starts, and its first entry.
size_t endRecord(const std::string& zip) { return zip.rfind(std::string("PK\x05\x06", 4)); }
size_t directoryStart(const std::string& zip) { return getLittleEndian(zip, endRecord(zip) + 16, 4); }

const std::vector<std::pair<std::string, std::string>> kRecords = {
    {"m/version", "3"}, {"m/data.pkl", "pickle bytes"}, {"m/data/0", std::string(100, 'w')}};

// PyTorch's writer pads each local header with an extra field of its own ("FB" and zeros)
// so that the data is 64-byte aligned: the data starts past it, not past the name.
TEST(ZipDirectory, EntriesAndTheirDataPastLocalHeadersOfTheirOwnLength) {
  const std::string zip = storedZip(kRecords, std::string("FB\x05\x00", 4) + "12345");
  const auto entries = entriesOf(zip);
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), kRecords.size());
  for (size_t i = 0; i < kRecords.size(); ++i) {
    const ZipEntry& entry = (*entries)[i];
    EXPECT_EQ(entry.name, kRecords[i].first);
    EXPECT_TRUE(entry.stored());
    EXPECT_EQ(entry.uncompressedSize, kRecords[i].second.size());
    const auto data = dataOffset(zip, entry);
    ASSERT_TRUE(data) << entry.name;
    EXPECT_EQ(zip.substr(*data, entry.uncompressedSize), kRecords[i].second) << entry.name;
  }
}

TEST(ZipDirectory, AFileReadPieceByPieceGivesWhatTheMappingGives) {
  const std::string zip = storedZip(kRecords);
  const std::string path = testing::freshWorkDir("zip_directory_file") + "/archive.zip";
  std::ofstream(path, std::ios::binary) << zip;
  const ZipFileBytes file(path);
  EXPECT_EQ(file.size(), zip.size());
  const auto fromFile = readZipDirectory(file);
  const auto fromMemory = entriesOf(zip);
  ASSERT_TRUE(fromFile && fromMemory);
  ASSERT_EQ(fromFile->size(), fromMemory->size());
  for (size_t i = 0; i < fromFile->size(); ++i) {
    EXPECT_EQ((*fromFile)[i].name, (*fromMemory)[i].name);
    EXPECT_EQ(zipEntryDataOffset(file, (*fromFile)[i]), dataOffset(zip, (*fromMemory)[i]));
  }
  EXPECT_EQ(ZipFileBytes(path + ".missing").size(), 0u);
  EXPECT_FALSE(readZipDirectory(ZipFileBytes(path + ".missing")));
}

// Archives over 4 GiB: the end record's fields saturated, the directory found through the
// zip64 locator, and each entry's sizes and offset in its zip64 extra field.
TEST(ZipDirectory, Zip64ValuesReplaceSaturatedFields) {
  const std::string plain = storedZip(kRecords);
  const std::string zip = withZip64Directory(plain);
  const auto entries = entriesOf(zip);
  const auto plainEntries = entriesOf(plain);
  ASSERT_TRUE(entries && plainEntries);
  ASSERT_EQ(entries->size(), plainEntries->size());
  for (size_t i = 0; i < entries->size(); ++i) {
    EXPECT_EQ((*entries)[i].name, (*plainEntries)[i].name);
    EXPECT_EQ((*entries)[i].compressedSize, (*plainEntries)[i].compressedSize);
    EXPECT_EQ((*entries)[i].uncompressedSize, (*plainEntries)[i].uncompressedSize);
    EXPECT_EQ((*entries)[i].localHeaderOffset, (*plainEntries)[i].localHeaderOffset);
    EXPECT_EQ(dataOffset(zip, (*entries)[i]), dataOffset(plain, (*plainEntries)[i]));
  }
  // A locator that points at no zip64 end record: no directory.
  std::string lost = zip;
  const size_t locator = endRecord(lost) - 20;
  setLittleEndian(lost, locator + 8, lost.size() - 10, 8);
  EXPECT_FALSE(entriesOf(lost));
}

// What PyTorch's zip reader (miniz) refuses as a directory, this reader refuses too.
TEST(ZipDirectory, DirectoriesThatDoNotHoldTogetherAreNone) {
  const std::string zip = storedZip(kRecords);
  EXPECT_FALSE(entriesOf(""));
  EXPECT_FALSE(entriesOf(zip.substr(0, zip.size() - 1)));  // the end record cut
  std::string pastTheFile = zip;
  setLittleEndian(pastTheFile, endRecord(zip) + 16, zip.size(), 4);
  EXPECT_FALSE(entriesOf(pastTheFile));
  std::string tooMany = zip;
  setLittleEndian(tooMany, endRecord(zip) + 10, kRecords.size() + 1, 2);
  EXPECT_FALSE(entriesOf(tooMany));
  // The last entry's name runs past the directory's stated size.
  std::string overrun = zip;
  setLittleEndian(overrun, endRecord(zip) + 12, getLittleEndian(zip, endRecord(zip) + 12, 4) - 1, 4);
  EXPECT_FALSE(entriesOf(overrun));
  std::string notAnEntry = zip;
  notAnEntry[directoryStart(zip)] = 'X';
  EXPECT_FALSE(entriesOf(notAnEntry));
}

TEST(ZipDirectory, NoDataOffsetWhereTheLocalHeaderDoesNotMatch) {
  const std::string zip = storedZip(kRecords);
  const auto entries = entriesOf(zip);
  ASSERT_TRUE(entries);
  ZipEntry entry = (*entries)[1];
  ASSERT_TRUE(dataOffset(zip, entry));
  ZipEntry otherName = entry;
  otherName.name = "m/data.pkx";
  EXPECT_FALSE(dataOffset(zip, otherName));
  ZipEntry notAHeader = entry;
  notAHeader.localHeaderOffset += 1;
  EXPECT_FALSE(dataOffset(zip, notAHeader));
  ZipEntry pastTheFile = entry;
  pastTheFile.compressedSize = zip.size();
  EXPECT_FALSE(dataOffset(zip, pastTheFile));
}

}  // namespace
}  // namespace modelexport

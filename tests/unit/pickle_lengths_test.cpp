// pickleLengthError: the stated lengths of a pickle's strings and bytes checked against
// the bytes that follow, before LibTorch's unpickler allocates them.
#include <gtest/gtest.h>

#include <string>

#include "modelexport/pickle_lengths.h"

namespace modelexport {
namespace {

std::optional<std::string> check(const std::string& pickle) {
  return pickleLengthError(reinterpret_cast<const unsigned char*>(pickle.data()), pickle.size());
}

TEST(PickleLengths, APickleThatFitsPasses) {
  // PROTO 2, GLOBAL "torch._utils\n_rebuild\n", MARK, BINUNICODE "ab", SHORT_BINBYTES,
  // BININT1, LONG1, BINFLOAT, TUPLE, BINPUT, STOP, then bytes after STOP.
  const std::string pickle = std::string("\x80\x02", 2) + "ctorch._utils\n_rebuild\n(" + std::string("X\x02\x00\x00\x00", 5) +
                             "ab" + std::string("C\x01", 2) + "z" + std::string("K\x07", 2) +
                             std::string("\x8a\x02\x01\x02", 4) + "G" + std::string(8, '\0') + "tq" + std::string(1, '\0') +
                             ".garbage";
  EXPECT_EQ(check(pickle), std::nullopt);
}

TEST(PickleLengths, AStringLongerThanTheRestIsNamed) {
  const auto error = check(std::string("\x80\x02X\xf0\xff\xff\xff", 7) + "abc.");
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->find("4294967280 bytes at byte 2 runs past the end (4 bytes follow)"), std::string::npos) << *error;
  EXPECT_TRUE(check(std::string("\x8e\x00\x00\x00\x00\x01\x00\x00\x00", 9)).has_value());  // BINBYTES8, 4 GiB
  EXPECT_TRUE(check(std::string("U\x05", 2) + "abc").has_value());                     // SHORT_BINSTRING
}

TEST(PickleLengths, CutOffArgumentsAndNegativeCounts) {
  EXPECT_TRUE(check(std::string("X\x01\x00", 3)).has_value());          // the count itself cut off
  EXPECT_TRUE(check("J\x01").has_value());                               // BININT needs 4 bytes
  EXPECT_TRUE(check("cmodule\nname").has_value());                       // GLOBAL's second line
  EXPECT_TRUE(check(std::string("T\xff\xff\xff\xff", 5)).has_value());  // BINSTRING's count is signed
}

// A fuzz finding: LONG_BINPUT 0x65707062 made the unpickler allocate a 27 GB memo table.
TEST(PickleLengths, AMemoIndexBeyondThePicklesSizeIsNamed) {
  const auto error = check(std::string("\x80\x02N", 3) + std::string("r\x62\x70\x70\x65", 5) + ".");
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->find("a memo index of 1701867618 at byte 3"), std::string::npos) << *error;
  EXPECT_EQ(check(std::string("\x80\x02N", 3) + std::string("r\x02\x00\x00\x00", 5) + "."), std::nullopt);
}

TEST(PickleLengths, UnknownOpcodesAreLeftToTheUnpickler) {
  EXPECT_EQ(check(std::string("\xff", 1) + std::string("X\xf0\xff\xff\xff", 5)), std::nullopt);
  EXPECT_EQ(check(""), std::nullopt);
}

}  // namespace
}  // namespace modelexport

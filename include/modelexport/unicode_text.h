#pragma once
// UTF-8 code points and the Unicode properties the tokenizers need (through ICU).
#include <string>
#include <vector>

namespace modelexport {

// Invalid UTF-8 bytes decode to U+FFFD, as Python's errors="replace" does.
std::vector<char32_t> decodeUtf8(const std::string& text);
std::string encodeUtf8(char32_t codePoint);
std::string encodeUtf8(const std::vector<char32_t>& codePoints);

bool isLetter(char32_t c);            // general category L*
bool isNumber(char32_t c);            // general category N*
bool isUnicodeWhitespace(char32_t c); // Python's str.isspace() (what \s matches)
bool isSpaceSeparator(char32_t c);    // category Zs
bool isOtherCategory(char32_t c);     // category C* (control, format, unassigned, ...)
bool isPunctuationCategory(char32_t c);  // category P*
bool isNonSpacingMark(char32_t c);    // category Mn

// Full Unicode lower-casing (context-sensitive, like Python's str.lower()).
std::string toLowerUtf8(const std::string& text);
// Canonical decomposition (NFD).
std::string toNfdUtf8(const std::string& text);

}  // namespace modelexport

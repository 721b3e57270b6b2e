#include "modelexport/unicode_text.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include "modelexport/errors.h"

namespace modelexport {

std::vector<char32_t> decodeUtf8(const std::string& text) {
  std::vector<char32_t> out;
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char lead = bytes[i];
    size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
    char32_t cp = length == 1 ? lead : length == 2 ? (lead & 0x1F) : length == 3 ? (lead & 0x0F) : (lead & 0x07);
    bool valid = length != 0 && i + length <= n;
    for (size_t k = 1; valid && k < length; ++k) {
      if ((bytes[i + k] & 0xC0) != 0x80) valid = false;
      cp = (cp << 6) | (bytes[i + k] & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid too.
    static const char32_t minimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (valid && (cp < minimum[length] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) valid = false;
    if (!valid) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += length;
  }
  return out;
}

std::string encodeUtf8(char32_t c) {
  std::string out;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
  return out;
}

std::string encodeUtf8(const std::vector<char32_t>& codePoints) {
  std::string out;
  for (char32_t c : codePoints) out += encodeUtf8(c);
  return out;
}

namespace {
uint32_t categoryMask(char32_t c) { return U_GET_GC_MASK(static_cast<UChar32>(c)); }
}  // namespace

bool isLetter(char32_t c) { return (categoryMask(c) & U_GC_L_MASK) != 0; }
bool isNumber(char32_t c) { return (categoryMask(c) & U_GC_N_MASK) != 0; }
bool isSpaceSeparator(char32_t c) { return (categoryMask(c) & U_GC_ZS_MASK) != 0; }
bool isOtherCategory(char32_t c) { return (categoryMask(c) & U_GC_C_MASK) != 0; }
bool isPunctuationCategory(char32_t c) { return (categoryMask(c) & U_GC_P_MASK) != 0; }
bool isNonSpacingMark(char32_t c) { return (categoryMask(c) & U_GC_MN_MASK) != 0; }

bool isUnicodeWhitespace(char32_t c) {
  // Python's str.isspace(): bidi class WS/B/S or category Zs; this includes the ASCII
  // separators 0x1C-0x1F that ICU's White_Space property leaves out.
  if ((c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20)) return true;
  if (c < 0x80) return false;
  return u_isUWhiteSpace(static_cast<UChar32>(c)) != 0;
}

std::string toLowerUtf8(const std::string& text) {
  icu::UnicodeString s = icu::UnicodeString::fromUTF8(text);
  s.toLower(icu::Locale::getRoot());
  std::string out;
  s.toUTF8String(out);
  return out;
}

std::string toNfdUtf8(const std::string& text) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(status);
  if (U_FAILURE(status)) throw UserError(std::string("ICU: NFD normalizer unavailable: ") + u_errorName(status));
  icu::UnicodeString s = nfd->normalize(icu::UnicodeString::fromUTF8(text), status);
  if (U_FAILURE(status)) throw UserError(std::string("ICU: NFD normalization failed: ") + u_errorName(status));
  std::string out;
  s.toUTF8String(out);
  return out;
}

}  // namespace modelexport

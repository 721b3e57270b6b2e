#include "modelexport/wordpiece_tokenizer.h"

#include <fstream>

#include "modelexport/errors.h"
#include "modelexport/unicode_text.h"

namespace modelexport {
namespace {

// BERT treats these blocks as ideographs and gives each its own token.
bool isCjkIdeograph(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

bool isBertWhitespace(char32_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || isSpaceSeparator(c); }

bool isBertControl(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  return isOtherCategory(c);
}

// All non-letter, non-digit ASCII counts as punctuation for BERT ("$", "^", "`"), plus
// Unicode category P*.
bool isBertPunctuation(char32_t c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  return isPunctuationCategory(c);
}

std::string stripAccents(const std::string& text) {
  std::vector<char32_t> kept;
  for (char32_t c : decodeUtf8(toNfdUtf8(text)))
    if (!isNonSpacingMark(c)) kept.push_back(c);
  return encodeUtf8(kept);
}

std::vector<std::string> splitOnWhitespace(const std::vector<char32_t>& text) {
  std::vector<std::string> words;
  std::vector<char32_t> current;
  for (char32_t c : text) {
    if (isBertWhitespace(c)) {
      if (!current.empty()) words.push_back(encodeUtf8(current));
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (!current.empty()) words.push_back(encodeUtf8(current));
  return words;
}

}  // namespace

WordPieceTokenizer::WordPieceTokenizer(std::unordered_map<std::string, int64_t> vocab, WordPieceSettings settings)
    : vocab_(std::move(vocab)), settings_(std::move(settings)) {
  if (!vocab_.count(settings_.unkToken))
    throw UserError("the WordPiece vocabulary has no unknown token '" + settings_.unkToken + "'");
}

std::unordered_map<std::string, int64_t> WordPieceTokenizer::readVocabTxt(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(path + ": cannot be read");
  std::unordered_map<std::string, int64_t> vocab;
  std::string line;
  int64_t id = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    vocab.emplace(line, id++);  // a repeated line keeps its first id
  }
  if (vocab.empty()) throw UserError(path + ": the vocabulary is empty");
  return vocab;
}

int64_t WordPieceTokenizer::idOf(const std::string& token) const {
  auto it = vocab_.find(token);
  return it != vocab_.end() ? it->second : vocab_.at(settings_.unkToken);
}

std::vector<std::string> WordPieceTokenizer::basicTokens(const std::string& text) const {
  std::vector<char32_t> cleaned;
  for (char32_t c : decodeUtf8(text)) {
    if (c == 0 || c == 0xFFFD || isBertControl(c)) continue;
    if (isBertWhitespace(c)) {
      cleaned.push_back(' ');
    } else if (settings_.splitCjk && isCjkIdeograph(c)) {
      cleaned.insert(cleaned.end(), {U' ', c, U' '});
    } else {
      cleaned.push_back(c);
    }
  }
  const bool strip = settings_.stripAccents < 0 ? settings_.lowercase : settings_.stripAccents == 1;
  std::vector<std::string> tokens;
  for (std::string word : splitOnWhitespace(cleaned)) {
    if (settings_.lowercase) word = toLowerUtf8(word);
    if (strip) word = stripAccents(word);
    std::vector<char32_t> current;
    for (char32_t c : decodeUtf8(word)) {
      if (isBertPunctuation(c)) {
        if (!current.empty()) tokens.push_back(encodeUtf8(current));
        current.clear();
        tokens.push_back(encodeUtf8(c));
      } else {
        current.push_back(c);
      }
    }
    if (!current.empty()) tokens.push_back(encodeUtf8(current));
  }
  return tokens;
}

void WordPieceTokenizer::wordPieces(const std::string& word, std::vector<std::string>& out) const {
  const std::vector<char32_t> chars = decodeUtf8(word);
  if (chars.size() > settings_.maxCharsPerWord) {
    out.push_back(settings_.unkToken);
    return;
  }
  std::vector<std::string> pieces;
  size_t start = 0;
  while (start < chars.size()) {
    size_t end = chars.size();
    std::string match;
    while (end > start) {
      std::string candidate = encodeUtf8(std::vector<char32_t>(chars.begin() + start, chars.begin() + end));
      if (start > 0) candidate = settings_.continuationPrefix + candidate;
      if (vocab_.count(candidate)) {
        match = candidate;
        break;
      }
      --end;
    }
    if (match.empty()) {  // one piece that matches nothing makes the whole word unknown
      out.push_back(settings_.unkToken);
      return;
    }
    pieces.push_back(match);
    start = end;
  }
  out.insert(out.end(), pieces.begin(), pieces.end());
}

std::vector<std::string> WordPieceTokenizer::tokenize(const std::string& text) const {
  // Special tokens written in the text stay whole (matched before any normalization).
  std::vector<std::string> specials;
  for (const auto* s : {&settings_.clsToken, &settings_.sepToken, &settings_.padToken, &settings_.unkToken,
                        &settings_.maskToken})
    if (!s->empty() && vocab_.count(*s)) specials.push_back(*s);
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t hit = std::string::npos;
    const std::string* special = nullptr;
    for (const auto& s : specials) {
      size_t at = text.find(s, pos);
      if (at < hit || (at == hit && at != std::string::npos && s.size() > special->size())) {
        hit = at;
        special = &s;
      }
    }
    for (const auto& word : basicTokens(text.substr(pos, hit == std::string::npos ? std::string::npos : hit - pos)))
      wordPieces(word, out);
    if (hit == std::string::npos) break;
    out.push_back(*special);
    pos = hit + special->size();
  }
  return out;
}

std::vector<int64_t> WordPieceTokenizer::tokenIds(const std::string& text) const {
  std::vector<int64_t> ids;
  for (const auto& token : tokenize(text)) ids.push_back(idOf(token));
  return ids;
}

EncodedText WordPieceTokenizer::encode(const std::string& text, size_t maxLength) const {
  for (const auto* s : {&settings_.clsToken, &settings_.sepToken})
    if (!vocab_.count(*s)) throw UserError("the WordPiece vocabulary has no '" + *s + "' token");
  if (maxLength > 0 && maxLength < 2)
    throw UserError("a sequence length of " + std::to_string(maxLength) + " leaves no room for " +
                    settings_.clsToken + " and " + settings_.sepToken + "; use at least 2");
  std::vector<int64_t> body = tokenIds(text);
  EncodedText encoded;
  if (maxLength > 0 && body.size() + 2 > maxLength) {
    body.resize(maxLength - 2);
    encoded.truncated = true;
  }
  encoded.ids.push_back(vocab_.at(settings_.clsToken));
  encoded.ids.insert(encoded.ids.end(), body.begin(), body.end());
  encoded.ids.push_back(vocab_.at(settings_.sepToken));
  encoded.tokenCount = encoded.ids.size();
  encoded.attentionMask.assign(encoded.ids.size(), 1);
  if (maxLength > encoded.ids.size()) {
    if (!vocab_.count(settings_.padToken))
      throw UserError("the WordPiece vocabulary has no padding token '" + settings_.padToken + "'");
    const size_t pad = maxLength - encoded.ids.size();
    encoded.ids.insert(encoded.ids.end(), pad, vocab_.at(settings_.padToken));
    encoded.attentionMask.insert(encoded.attentionMask.end(), pad, 0);
  }
  encoded.tokenTypeIds.assign(encoded.ids.size(), 0);
  return encoded;
}

}  // namespace modelexport

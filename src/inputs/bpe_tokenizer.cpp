#include "modelexport/bpe_tokenizer.h"

#include <array>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "modelexport/errors.h"
#include "modelexport/unicode_text.h"

namespace modelexport {
namespace {

bool isOtherSymbol(char32_t c) { return !isUnicodeWhitespace(c) && !isLetter(c) && !isNumber(c); }

// Length of the run of code points from `start` satisfying `pred`.
template <typename Pred>
size_t runLength(const std::vector<char32_t>& text, size_t start, Pred pred) {
  size_t end = start;
  while (end < text.size() && pred(text[end])) ++end;
  return end - start;
}

// Length of the GPT-2 contraction ('s 't 're 've 'm 'll 'd, lower case only) at `i`, or 0.
size_t contractionLength(const std::vector<char32_t>& text, size_t i) {
  if (text[i] != '\'' || i + 1 >= text.size()) return 0;
  const char32_t a = text[i + 1];
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  const char32_t b = i + 2 < text.size() ? text[i + 2] : 0;
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

}  // namespace

const std::string& byteToUnicode(unsigned char byte) {
  // Printable Latin-1 bytes stand for themselves; the rest (controls, space, 0x7F-0xA0,
  // soft hyphen) take the code points from U+0100 upwards, in byte order.
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    char32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      t[static_cast<size_t>(b)] = encodeUtf8(printable ? static_cast<char32_t>(b) : next++);
    }
    return t;
  }();
  return table[byte];
}

std::vector<std::string> gpt2PreTokenize(const std::string& utf8) {
  const std::vector<char32_t> text = decodeUtf8(utf8);
  std::vector<std::string> pieces;
  size_t i = 0;
  while (i < text.size()) {
    size_t length = contractionLength(text, i);
    if (length == 0) {
      // " ?X+" for each class in the pattern's order: letters, numbers, other symbols.
      const size_t space = text[i] == ' ' && i + 1 < text.size() ? 1 : 0;
      for (auto* inClass : {&isLetter, &isNumber, &isOtherSymbol}) {
        const size_t run = runLength(text, i + space, *inClass);
        if (run > 0) {
          length = space + run;
          break;
        }
      }
    }
    if (length == 0) {
      // Whitespace: \s+(?!\S) leaves the last space to the word that follows; when only
      // one space precedes a non-space, \s+ takes it alone.
      const size_t run = runLength(text, i, isUnicodeWhitespace);
      const bool atEnd = i + run == text.size();
      length = atEnd || run == 1 ? run : run - 1;
    }
    pieces.push_back(encodeUtf8(std::vector<char32_t>(text.begin() + i, text.begin() + i + length)));
    i += length;
  }
  return pieces;
}

BpeTokenizer::BpeTokenizer(std::unordered_map<std::string, int64_t> vocab,
                           std::vector<std::pair<std::string, std::string>> merges, BpeSettings settings)
    : vocab_(std::move(vocab)), settings_(std::move(settings)) {
  for (size_t rank = 0; rank < merges.size(); ++rank) ranks_.emplace(merges[rank], rank);
}

std::unordered_map<std::string, int64_t> BpeTokenizer::readVocabJson(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(path + ": cannot be read");
  nlohmann::json json = nlohmann::json::parse(in, nullptr, false);
  if (!json.is_object()) throw UserError(path + ": expected a JSON object of token -> id");
  std::unordered_map<std::string, int64_t> vocab;
  for (const auto& [token, id] : json.items()) {
    if (!id.is_number_integer()) throw UserError(path + ": the id of '" + token + "' is not an integer");
    vocab.emplace(token, id.get<int64_t>());
  }
  return vocab;
}

std::vector<std::pair<std::string, std::string>> BpeTokenizer::readMergesTxt(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(path + ": cannot be read");
  std::vector<std::pair<std::string, std::string>> merges;
  std::string line;
  size_t lineNumber = 0;
  while (std::getline(in, line)) {
    ++lineNumber;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (lineNumber == 1 && line.rfind("#version", 0) == 0)) continue;
    const size_t space = line.find(' ');
    if (space == std::string::npos || space == 0 || line.find(' ', space + 1) != std::string::npos)
      throw UserError(path + ":" + std::to_string(lineNumber) + ": expected two symbols separated by one space");
    merges.emplace_back(line.substr(0, space), line.substr(space + 1));
  }
  return merges;
}

void BpeTokenizer::bpe(const std::string& piece, std::vector<std::string>& out) const {
  std::vector<std::string> word;
  for (unsigned char byte : piece) word.push_back(byteToUnicode(byte));
  while (word.size() > 1) {
    size_t bestRank = std::numeric_limits<size_t>::max();
    const std::pair<std::string, std::string>* best = nullptr;
    for (size_t k = 0; k + 1 < word.size(); ++k) {
      auto it = ranks_.find({word[k], word[k + 1]});
      if (it != ranks_.end() && it->second < bestRank) {
        bestRank = it->second;
        best = &it->first;
      }
    }
    if (!best) break;
    // Merge every occurrence of the best pair, left to right, without overlaps.
    std::vector<std::string> merged;
    for (size_t k = 0; k < word.size(); ++k) {
      if (k + 1 < word.size() && word[k] == best->first && word[k + 1] == best->second) {
        merged.push_back(word[k] + word[k + 1]);
        ++k;
      } else {
        merged.push_back(word[k]);
      }
    }
    word = std::move(merged);
  }
  out.insert(out.end(), word.begin(), word.end());
}

std::vector<std::string> BpeTokenizer::tokenize(const std::string& input) const {
  std::vector<std::string> out;
  const std::string& eos = settings_.eosToken;
  const bool keepEos = !eos.empty() && vocab_.count(eos);
  size_t pos = 0;
  bool first = true;
  while (pos <= input.size()) {
    const size_t hit = keepEos ? input.find(eos, pos) : std::string::npos;
    std::string segment = input.substr(pos, hit == std::string::npos ? std::string::npos : hit - pos);
    if (first && settings_.addPrefixSpace && !segment.empty() && segment[0] != ' ') segment = " " + segment;
    first = false;
    for (const auto& piece : gpt2PreTokenize(segment)) bpe(piece, out);
    if (hit == std::string::npos) break;
    out.push_back(eos);
    pos = hit + eos.size();
  }
  return out;
}

std::vector<int64_t> BpeTokenizer::tokenIds(const std::string& text) const {
  std::vector<int64_t> ids;
  for (const auto& token : tokenize(text)) {
    auto it = vocab_.find(token);
    if (it == vocab_.end()) it = vocab_.find(settings_.unkToken);
    if (it == vocab_.end())
      throw UserError("the BPE vocabulary has no token '" + token + "' and no unknown token");
    ids.push_back(it->second);
  }
  return ids;
}

EncodedText BpeTokenizer::encode(const std::string& text, size_t maxLength) const {
  EncodedText encoded;
  encoded.ids = tokenIds(text);
  if (maxLength > 0 && encoded.ids.size() > maxLength) {
    encoded.ids.resize(maxLength);
    encoded.truncated = true;
  }
  encoded.tokenCount = encoded.ids.size();
  encoded.attentionMask.assign(encoded.ids.size(), 1);
  if (maxLength > encoded.ids.size()) {
    const std::string& pad = settings_.padToken.empty() ? settings_.eosToken : settings_.padToken;
    auto it = vocab_.find(pad);
    if (it == vocab_.end())
      throw UserError("cannot pad to " + std::to_string(maxLength) + " tokens: the BPE vocabulary has no '" + pad +
                      "' token");
    const size_t count = maxLength - encoded.ids.size();
    encoded.ids.insert(encoded.ids.end(), count, it->second);
    encoded.attentionMask.insert(encoded.attentionMask.end(), count, 0);
  }
  encoded.tokenTypeIds.assign(encoded.ids.size(), 0);
  return encoded;
}

}  // namespace modelexport

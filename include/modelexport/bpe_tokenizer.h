#pragma once
// GPT-2's byte-level BPE: split the text with GPT-2's pre-tokenization pattern, map each
// piece's UTF-8 bytes to printable characters, then merge adjacent symbols by rank.
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "modelexport/wordpiece_tokenizer.h"  // EncodedText

namespace modelexport {

struct BpeSettings {
  bool addPrefixSpace = false;            // GPT-2's default
  std::string eosToken = "<|endoftext|>"; // special token kept whole when written in the text
  std::string padToken;                   // empty: pad with the end-of-text token
  std::string unkToken;                   // GPT-2 has none: every byte is in its vocabulary
};

// The printable character GPT-2 uses for each byte (UTF-8 encoded).
const std::string& byteToUnicode(unsigned char byte);

// GPT-2's pattern 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// applied by hand (std::regex knows no Unicode categories).
std::vector<std::string> gpt2PreTokenize(const std::string& text);

class BpeTokenizer {
 public:
  BpeTokenizer(std::unordered_map<std::string, int64_t> vocab, std::vector<std::pair<std::string, std::string>> merges,
               BpeSettings settings);

  static std::unordered_map<std::string, int64_t> readVocabJson(const std::string& path);
  // merges.txt: "#version" header, then one "left right" pair per line, best rank first.
  static std::vector<std::pair<std::string, std::string>> readMergesTxt(const std::string& path);

  std::vector<std::string> tokenize(const std::string& text) const;
  std::vector<int64_t> tokenIds(const std::string& text) const;
  // No special tokens are added (GPT-2 adds none); maxLength > 0 truncates and pads.
  EncodedText encode(const std::string& text, size_t maxLength = 0) const;

 private:
  void bpe(const std::string& piece, std::vector<std::string>& out) const;

  std::unordered_map<std::string, int64_t> vocab_;
  std::map<std::pair<std::string, std::string>, size_t> ranks_;
  BpeSettings settings_;
};

}  // namespace modelexport

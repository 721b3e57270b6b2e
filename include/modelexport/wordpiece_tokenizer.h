#pragma once
// BERT's tokenizer: basic tokenization (clean-up, CJK spacing, optional lower-casing and
// accent stripping, punctuation splitting) followed by greedy longest-match WordPiece.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace modelexport {

struct WordPieceSettings {
  bool lowercase = true;
  int stripAccents = -1;  // -1: follow lowercase (Hugging Face's strip_accents=None), 0 no, 1 yes
  bool splitCjk = true;
  std::string unkToken = "[UNK]";
  std::string clsToken = "[CLS]";
  std::string sepToken = "[SEP]";
  std::string padToken = "[PAD]";
  std::string maskToken = "[MASK]";
  std::string continuationPrefix = "##";
  size_t maxCharsPerWord = 100;
};

struct EncodedText {
  std::vector<int64_t> ids;
  std::vector<int64_t> attentionMask;
  std::vector<int64_t> tokenTypeIds;
  size_t tokenCount = 0;  // tokens before padding (special tokens included)
  bool truncated = false;
};

class WordPieceTokenizer {
 public:
  WordPieceTokenizer(std::unordered_map<std::string, int64_t> vocab, WordPieceSettings settings);

  // vocab.txt: one token per line, the id is the line number from 0.
  static std::unordered_map<std::string, int64_t> readVocabTxt(const std::string& path);

  // Word pieces of the text, without special tokens.
  std::vector<std::string> tokenize(const std::string& text) const;
  std::vector<int64_t> tokenIds(const std::string& text) const;

  // [CLS] tokens [SEP]; maxLength > 0 truncates to and pads up to that many ids.
  EncodedText encode(const std::string& text, size_t maxLength = 0) const;

  const WordPieceSettings& settings() const { return settings_; }

 private:
  std::vector<std::string> basicTokens(const std::string& text) const;
  void wordPieces(const std::string& word, std::vector<std::string>& out) const;
  int64_t idOf(const std::string& token) const;

  std::unordered_map<std::string, int64_t> vocab_;
  WordPieceSettings settings_;
};

}  // namespace modelexport

#pragma once
// The tokenizer of a model directory: vocab.txt (WordPiece), vocab.json + merges.txt
// (byte-level BPE) or tokenizer.json, with settings from tokenizer.json,
// tokenizer_config.json and config.json (in that order of precedence).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "modelexport/bpe_tokenizer.h"
#include "modelexport/wordpiece_tokenizer.h"

namespace modelexport {

struct DirectoryTokenizer {
  std::string kind;          // "wordpiece" or "bpe"
  std::string files;         // which files it came from, for messages
  size_t maxPositions = 0;   // config.json's max_position_embeddings / n_positions (0: unknown)
  std::shared_ptr<WordPieceTokenizer> wordpiece;
  std::shared_ptr<BpeTokenizer> bpe;

  EncodedText encode(const std::string& text, size_t maxLength) const;
};

// The tokenizer and config files of `directory` that exist (what the tokenizer may read).
std::vector<std::string> tokenizerFilesIn(const std::string& directory);

// nullopt when the directory holds no tokenizer files; UserError when they are unreadable.
std::optional<DirectoryTokenizer> loadDirectoryTokenizer(const std::string& directory);

}  // namespace modelexport

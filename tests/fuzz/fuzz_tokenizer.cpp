// The tokenizer files of a model directory (vocab.txt, vocab.json + merges.txt,
// tokenizer.json, tokenizer_config.json, config.json), then encoding a text with them.
// An input is a bundle (fuzz_files.h); its file text.txt, if any, is the text encoded.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "fuzz_files.h"
#include "fuzz_policy.h"
#include "modelexport/tokenizer_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace modelexport;
  const std::string dir = fuzz::writeScratchBundle(data, size, "vocab.txt");
  std::string text = "Hello, World! naïve café 東京 tokens\t[MASK] ünïcödé";
  if (std::ifstream in(std::filesystem::path(dir) / "text.txt", std::ios::binary); in)
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  fuzz::expectOnlyUserErrors("tokenizer", [&] {
    if (auto tokenizer = loadDirectoryTokenizer(dir)) {
      tokenizer->encode(text, 0);
      tokenizer->encode(text, 8);
    }
  });
  return 0;
}

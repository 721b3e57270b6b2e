// Tokenizers against ids worked out by hand from the small vocabularies in
// tests/data/tokenizers (wordpiece/vocab.txt: id = line number from 0; bpe/vocab.json:
// every byte's symbol has the byte value as id, merged tokens 256.. in merges.txt order).
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "modelexport/bpe_tokenizer.h"
#include "modelexport/errors.h"
#include "modelexport/tokenizer_files.h"
#include "modelexport/wordpiece_tokenizer.h"
#include "test_support.h"

namespace modelexport {
namespace {

using Ids = std::vector<int64_t>;
const std::string kData = std::string(MODELEXPORT_SOURCE_DIR) + "/tests/data/tokenizers";

WordPieceTokenizer bert(WordPieceSettings settings = {}) {
  return WordPieceTokenizer(WordPieceTokenizer::readVocabTxt(kData + "/wordpiece/vocab.txt"), settings);
}

BpeTokenizer gpt2(BpeSettings settings = {}) {
  return BpeTokenizer(BpeTokenizer::readVocabJson(kData + "/bpe/vocab.json"),
                      BpeTokenizer::readMergesTxt(kData + "/bpe/merges.txt"), settings);
}

TEST(WordPieceTokenizer, SplitsWordsAndPunctuation) {
  auto t = bert();
  EXPECT_EQ(t.tokenIds("Hello world"), (Ids{5, 6}));
  EXPECT_EQ(t.tokenIds("Hello, world!"), (Ids{5, 8, 6, 7}));
  EXPECT_EQ(t.tokenIds("don't"), (Ids{28, 21, 29}));
  EXPECT_EQ(t.tokenIds("$(2)-a."), (Ids{40, 33, 36, 34, 35, 18, 9}));  // ASCII symbols are punctuation
}

TEST(WordPieceTokenizer, GreedyLongestMatchSubwords) {
  auto t = bert();
  EXPECT_EQ(t.tokenize("unaffable"), (std::vector<std::string>{"un", "##aff", "##able"}));
  EXPECT_EQ(t.tokenIds("PLAYING plays"), (Ids{15, 16, 15, 17}));
  EXPECT_EQ(t.tokenIds("ab abb"), (Ids{18, 19, 18, 19, 19}));
  EXPECT_EQ(t.tokenIds("2024"), (Ids{36, 37, 38, 39}));
}

TEST(WordPieceTokenizer, UnknownWordsBecomeOneUnk) {
  auto t = bert();
  // "au": "a" matches but "##u" does not, so the whole word is [UNK].
  EXPECT_EQ(t.tokenIds("Café au lait"), (Ids{11, 1, 1}));
  EXPECT_EQ(t.tokenIds("hello \xF0\x9F\x98\x80"), (Ids{5, 1}));  // emoji U+1F600
  EXPECT_EQ(t.tokenIds(std::string(101, 'a')), (Ids{1}));      // longer than 100 characters
}

TEST(WordPieceTokenizer, LowerCasesAndStripsAccents) {
  auto t = bert();
  EXPECT_EQ(t.tokenIds("NA\xC3\x8FVE?"), (Ids{23, 20}));  // "NAÏVE?"
  EXPECT_EQ(t.tokenIds("CAF\xC3\x89"), (Ids{11}));        // "CAFÉ"
  EXPECT_EQ(t.tokenIds("Cafe\xCC\x81"), (Ids{11}));       // "Café" with a combining acute
}

TEST(WordPieceTokenizer, CasedSettings) {
  WordPieceSettings cased;
  cased.lowercase = false;
  EXPECT_EQ(bert(cased).tokenIds("Hello r\xC3\xA9sum\xC3\xA9"), (Ids{32, 31}));  // accents kept
  EXPECT_EQ(bert(cased).tokenIds("hello World"), (Ids{5, 1}));
  EXPECT_EQ(bert(cased).tokenIds("Caf\xC3\xA9"), (Ids{1}));
  cased.stripAccents = 1;
  EXPECT_EQ(bert(cased).tokenIds("Caf\xC3\xA9"), (Ids{41}));  // "Cafe"
  WordPieceSettings lowerKeepAccents;
  lowerKeepAccents.stripAccents = 0;
  EXPECT_EQ(bert(lowerKeepAccents).tokenIds("CAF\xC3\x89"), (Ids{1}));  // "café" is not in the vocab
}

TEST(WordPieceTokenizer, CjkControlAndWhitespace) {
  auto t = bert();
  EXPECT_EQ(t.tokenIds("\xE4\xB8\xAD\xE6\x96\x87is"), (Ids{24, 25, 26}));  // "中文is": one token per ideograph
  EXPECT_EQ(t.tokenIds(std::string("hello\tworld\0", 12)), (Ids{5, 6}));
  EXPECT_EQ(t.tokenIds("hello\xC2\xA0world"), (Ids{5, 6}));  // no-break space separates
  EXPECT_EQ(t.tokenIds("hel\xC2\xADlo"), (Ids{5}));          // soft hyphen (format char) dropped
}

TEST(WordPieceTokenizer, SpecialTokensInTextStayWhole) {
  EXPECT_EQ(bert().tokenIds("hello [SEP] world"), (Ids{5, 3, 6}));
}

TEST(WordPieceTokenizer, EncodeAddsSpecialTokensPadsAndTruncates) {
  auto t = bert();
  auto plain = t.encode("Hello world");
  EXPECT_EQ(plain.ids, (Ids{2, 5, 6, 3}));
  EXPECT_EQ(plain.attentionMask, (Ids{1, 1, 1, 1}));
  auto padded = t.encode("hello", 6);
  EXPECT_EQ(padded.ids, (Ids{2, 5, 3, 0, 0, 0}));
  EXPECT_EQ(padded.attentionMask, (Ids{1, 1, 1, 0, 0, 0}));
  EXPECT_EQ(padded.tokenTypeIds, (Ids{0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(padded.tokenCount, 3u);
  auto cut = t.encode("hello world hello world", 4);
  EXPECT_EQ(cut.ids, (Ids{2, 5, 6, 3}));
  EXPECT_TRUE(cut.truncated);
  EXPECT_THROW(t.encode("hello", 1), UserError);
}

TEST(BpeTokenizer, ByteTable) {
  EXPECT_EQ(byteToUnicode(' '), "\xC4\xA0");   // U+0120 Ġ
  EXPECT_EQ(byteToUnicode('\n'), "\xC4\x8A");  // U+010A Ċ
  EXPECT_EQ(byteToUnicode(0), "\xC4\x80");     // U+0100 Ā
  EXPECT_EQ(byteToUnicode(0x7F), "\xC4\xA1");  // U+0121 ġ
  EXPECT_EQ(byteToUnicode(0xA0), "\xC5\x82");  // U+0142 ł
  EXPECT_EQ(byteToUnicode(0xAD), "\xC5\x83");  // U+0143 Ń
  EXPECT_EQ(byteToUnicode('A'), "A");
  EXPECT_EQ(byteToUnicode(0xE9), "\xC3\xA9");  // é stands for itself
}

TEST(BpeTokenizer, PreTokenizerFollowsGpt2Pattern) {
  using Pieces = std::vector<std::string>;
  EXPECT_EQ(gpt2PreTokenize("Hello  world's 123!?\n"),
            (Pieces{"Hello", " ", " world", "'s", " 123", "!?", "\n"}));
  EXPECT_EQ(gpt2PreTokenize("IT'S"), (Pieces{"IT", "'", "S"}));  // contractions are lower case only
  EXPECT_EQ(gpt2PreTokenize("a   b  "), (Pieces{"a", "  ", " b", "  "}));
  EXPECT_EQ(gpt2PreTokenize("na\xC3\xAFve 2\xC2\xBD"), (Pieces{"na\xC3\xAFve", " 2\xC2\xBD"}));  // ï letter, ½ number
}

TEST(BpeTokenizer, MergesByRank) {
  auto t = gpt2();
  EXPECT_EQ(t.tokenIds("Hello world"), (Ids{264, 260}));
  EXPECT_EQ(t.tokenIds("Hello world!"), (Ids{264, 260, 33}));
  EXPECT_EQ(t.tokenIds("the lower"), (Ids{116, 266, 273}));
  EXPECT_EQ(t.tokenIds(" the"), (Ids{267}));
  EXPECT_EQ(t.tokenIds("abc"), (Ids{97, 279}));  // "b c" ranks above "a b"
}

TEST(BpeTokenizer, ContractionsNumbersSpacesPunctuation) {
  auto t = gpt2();
  EXPECT_EQ(t.tokenIds("it's"), (Ids{105, 116, 268}));
  EXPECT_EQ(t.tokenIds("IT'S"), (Ids{73, 84, 39, 83}));
  EXPECT_EQ(t.tokenIds("a 123"), (Ids{97, 275, 276}));
  EXPECT_EQ(t.tokenIds("a  b"), (Ids{97, 32, 32, 98}));
  EXPECT_EQ(t.tokenIds("a   b"), (Ids{97, 277, 32, 98}));
  EXPECT_EQ(t.tokenIds("a  "), (Ids{97, 277}));
  EXPECT_EQ(t.tokenIds("a\nb"), (Ids{97, 10, 98}));
  EXPECT_EQ(t.tokenIds("hi!!?"), (Ids{104, 105, 33, 33, 63}));
  EXPECT_EQ(t.tokenIds(" ?x"), (Ids{32, 63, 120}));
}

TEST(BpeTokenizer, AccentsEmojiAndSpecialTokens) {
  auto t = gpt2();
  EXPECT_EQ(t.tokenIds("caf\xC3\xA9"), (Ids{99, 97, 102, 274}));
  EXPECT_EQ(t.tokenIds("\xC3\xA9" "2"), (Ids{274, 50}));
  EXPECT_EQ(t.tokenIds("hi \xF0\x9F\x98\x80"), (Ids{104, 105, 32, 240, 159, 152, 128}));
  EXPECT_EQ(t.tokenIds("hi<|endoftext|>"), (Ids{104, 105, 278}));
}

TEST(BpeTokenizer, EncodePadsWithEndOfTextAndTruncates) {
  auto t = gpt2();
  auto padded = t.encode("hi", 4);
  EXPECT_EQ(padded.ids, (Ids{104, 105, 278, 278}));
  EXPECT_EQ(padded.attentionMask, (Ids{1, 1, 0, 0}));
  auto cut = t.encode("Hello world", 1);
  EXPECT_EQ(cut.ids, (Ids{264}));
  EXPECT_TRUE(cut.truncated);
  BpeSettings prefix;
  prefix.addPrefixSpace = true;
  EXPECT_EQ(gpt2(prefix).tokenIds("the"), (Ids{267}));
}

// Settings come from the directory's files: tokenizer.json over tokenizer_config.json.
TEST(DirectoryTokenizer, ReadsSettingsFromFiles) {
  namespace fs = std::filesystem;
  auto dir = fs::path(testing::freshWorkDir("tokenizer_files"));
  fs::copy_file(kData + "/wordpiece/vocab.txt", dir / "vocab.txt");
  auto lowercase = loadDirectoryTokenizer(dir.string());
  ASSERT_TRUE(lowercase);
  EXPECT_EQ(lowercase->kind, "wordpiece");
  EXPECT_EQ(lowercase->encode("Hello world", 0).ids, (Ids{2, 5, 6, 3}));
  std::ofstream(dir / "tokenizer_config.json") << R"({"do_lower_case": false})";
  EXPECT_EQ(loadDirectoryTokenizer(dir.string())->encode("Hello world", 0).ids, (Ids{2, 32, 6, 3}));
  std::ofstream(dir / "tokenizer.json")
      << R"({"normalizer": {"type": "BertNormalizer", "lowercase": true, "strip_accents": null},)"
      << R"( "model": {"type": "WordPiece", "vocab": {}}})";
  EXPECT_EQ(loadDirectoryTokenizer(dir.string())->encode("Hello world", 0).ids, (Ids{2, 5, 6, 3}));

  auto bpeDir = fs::path(testing::freshWorkDir("tokenizer_files_bpe"));
  EXPECT_FALSE(loadDirectoryTokenizer(bpeDir.string()));
  fs::copy_file(kData + "/bpe/vocab.json", bpeDir / "vocab.json");
  fs::copy_file(kData + "/bpe/merges.txt", bpeDir / "merges.txt");
  auto bpe = loadDirectoryTokenizer(bpeDir.string());
  ASSERT_TRUE(bpe);
  EXPECT_EQ(bpe->kind, "bpe");
  EXPECT_EQ(bpe->encode("Hello world", 3).ids, (Ids{264, 260, 278}));
}

}  // namespace
}  // namespace modelexport

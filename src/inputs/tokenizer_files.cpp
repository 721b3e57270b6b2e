#include "modelexport/tokenizer_files.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "modelexport/errors.h"

namespace modelexport {
namespace fs = std::filesystem;
namespace {

using nlohmann::json;

// A vocab id must be an integer: nlohmann's conversion of a float beyond int64 is undefined.
int64_t vocabId(const json& id, const fs::path& file, const std::string& token) {
  if (!id.is_number_integer()) throw UserError(file.string() + ": the id of '" + token + "' is not an integer");
  return id.get<int64_t>();
}

json readJsonIfPresent(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return json::object();
  std::ifstream in(path, std::ios::binary);
  json value = json::parse(in, nullptr, false);
  if (value.is_discarded() || !value.is_object()) throw UserError(path.string() + ": not a JSON object");
  return value;
}

// Special tokens are saved as "[CLS]" or as {"content": "[CLS]", ...}.
std::optional<std::string> tokenText(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string())
    return value["content"].get<std::string>();
  return std::nullopt;
}

// The first of `key` found in the documents, most authoritative first.
std::optional<json> setting(std::initializer_list<const json*> documents, const char* key) {
  for (const json* doc : documents)
    if (doc->is_object() && doc->contains(key) && !(*doc)[key].is_null()) return (*doc)[key];
  return std::nullopt;
}

// tokenizer.json's normalizer: BertNormalizer, or a Sequence holding Lowercase/StripAccents.
void readNormalizer(const json& normalizer, json& out) {
  if (!normalizer.is_object()) return;
  const std::string type = normalizer.value("type", "");
  if (type == "BertNormalizer") {
    if (normalizer.contains("lowercase")) out["do_lower_case"] = normalizer["lowercase"];
    if (normalizer.contains("strip_accents")) out["strip_accents"] = normalizer["strip_accents"];
    if (normalizer.contains("handle_chinese_chars")) out["tokenize_chinese_chars"] = normalizer["handle_chinese_chars"];
  } else if (type == "Lowercase") {
    out["do_lower_case"] = true;
  } else if (type == "StripAccents") {
    out["strip_accents"] = true;
  } else if (type == "Sequence" && normalizer.contains("normalizers")) {
    for (const auto& n : normalizer["normalizers"]) readNormalizer(n, out);
  }
}

}  // namespace

EncodedText DirectoryTokenizer::encode(const std::string& text, size_t maxLength) const {
  return wordpiece ? wordpiece->encode(text, maxLength) : bpe->encode(text, maxLength);
}

std::vector<std::string> tokenizerFilesIn(const std::string& directory) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const char* name : {"vocab.txt", "vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json", "config.json"})
    if (fs::is_regular_file(fs::path(directory) / name, ec)) found.push_back((fs::path(directory) / name).string());
  return found;
}

namespace {

std::optional<DirectoryTokenizer> readDirectoryTokenizer(const std::string& directory) {
  const fs::path dir(directory);
  std::error_code ec;
  auto has = [&](const char* name) { return fs::is_regular_file(dir / name, ec); };
  const bool vocabTxt = has("vocab.txt"), bpeFiles = has("vocab.json") && has("merges.txt"),
             tokenizerJson = has("tokenizer.json");
  if (!vocabTxt && !bpeFiles && !tokenizerJson) return std::nullopt;

  const json config = readJsonIfPresent(dir / "config.json");
  const json tokenizerConfig = readJsonIfPresent(dir / "tokenizer_config.json");
  const json fast = tokenizerJson ? readJsonIfPresent(dir / "tokenizer.json") : json::object();
  json fastSettings = json::object();
  if (fast.contains("normalizer")) readNormalizer(fast["normalizer"], fastSettings);
  if (fast.contains("pre_tokenizer") && fast["pre_tokenizer"].is_object() &&
      fast["pre_tokenizer"].value("type", "") == "ByteLevel" && fast["pre_tokenizer"].contains("add_prefix_space"))
    fastSettings["add_prefix_space"] = fast["pre_tokenizer"]["add_prefix_space"];
  const json& model = fast.contains("model") ? fast["model"] : json::object();
  const std::string fastType = model.is_object() ? model.value("type", "") : "";
  const std::initializer_list<const json*> sources = {&fastSettings, &tokenizerConfig, &config};

  DirectoryTokenizer tokenizer;
  for (const char* key : {"max_position_embeddings", "n_positions"})
    if (config.contains(key) && config[key].is_number_integer()) {
      tokenizer.maxPositions = config[key].get<size_t>();
      break;
    }

  auto specialToken = [&](const char* key, std::string& target) {
    for (const json* doc : {&tokenizerConfig, &config})
      if (doc->contains(key))
        if (auto text = tokenText((*doc)[key])) {
          target = *text;
          return;
        }
  };

  if (vocabTxt || (!bpeFiles && fastType == "WordPiece")) {
    std::unordered_map<std::string, int64_t> vocab;
    WordPieceSettings settings;
    if (vocabTxt) {
      vocab = WordPieceTokenizer::readVocabTxt((dir / "vocab.txt").string());
      tokenizer.files = "vocab.txt";
    } else {
      if (!model.contains("vocab") || !model["vocab"].is_object())
        throw UserError((dir / "tokenizer.json").string() + ": the WordPiece model has no vocab");
      for (const auto& [token, id] : model["vocab"].items()) vocab.emplace(token, vocabId(id, dir / "tokenizer.json", token));
      tokenizer.files = "tokenizer.json";
      if (auto unk = tokenText(model.value("unk_token", json()))) settings.unkToken = *unk;
      settings.continuationPrefix = model.value("continuing_subword_prefix", settings.continuationPrefix);
      if (model.contains("max_input_chars_per_word") && model["max_input_chars_per_word"].is_number_unsigned())
        settings.maxCharsPerWord = model["max_input_chars_per_word"].get<size_t>();
    }
    if (auto lower = setting(sources, "do_lower_case")) settings.lowercase = lower->get<bool>();
    if (auto strip = setting(sources, "strip_accents")) settings.stripAccents = strip->get<bool>() ? 1 : 0;
    if (auto cjk = setting(sources, "tokenize_chinese_chars")) settings.splitCjk = cjk->get<bool>();
    specialToken("unk_token", settings.unkToken);
    specialToken("cls_token", settings.clsToken);
    specialToken("sep_token", settings.sepToken);
    specialToken("pad_token", settings.padToken);
    specialToken("mask_token", settings.maskToken);
    tokenizer.kind = "wordpiece";
    tokenizer.wordpiece = std::make_shared<WordPieceTokenizer>(std::move(vocab), settings);
    return tokenizer;
  }

  std::unordered_map<std::string, int64_t> vocab;
  std::vector<std::pair<std::string, std::string>> merges;
  BpeSettings settings;
  if (bpeFiles) {
    vocab = BpeTokenizer::readVocabJson((dir / "vocab.json").string());
    merges = BpeTokenizer::readMergesTxt((dir / "merges.txt").string());
    tokenizer.files = "vocab.json + merges.txt";
  } else if (fastType == "BPE") {
    if (!model.contains("vocab") || !model["vocab"].is_object() || !model.contains("merges"))
      throw UserError((dir / "tokenizer.json").string() + ": the BPE model has no vocab or merges");
    for (const auto& [token, id] : model["vocab"].items()) vocab.emplace(token, vocabId(id, dir / "tokenizer.json", token));
    // Merges are saved as "a b" strings or, by newer tokenizers, as ["a", "b"] pairs.
    for (const auto& merge : model["merges"]) {
      if (merge.is_array() && merge.size() == 2) {
        merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
      } else if (merge.is_string()) {
        const std::string text = merge.get<std::string>();
        const size_t space = text.find(' ');
        if (space == std::string::npos) throw UserError((dir / "tokenizer.json").string() + ": bad merge '" + text + "'");
        merges.emplace_back(text.substr(0, space), text.substr(space + 1));
      }
    }
    tokenizer.files = "tokenizer.json";
  } else {
    throw UserError((dir / "tokenizer.json").string() + ": tokenizer model '" + fastType +
                    "' is not supported (WordPiece and byte-level BPE are); give vocab.txt or vocab.json + merges.txt");
  }
  if (auto prefix = setting(sources, "add_prefix_space")) settings.addPrefixSpace = prefix->get<bool>();
  specialToken("eos_token", settings.eosToken);
  specialToken("pad_token", settings.padToken);
  specialToken("unk_token", settings.unkToken);
  tokenizer.kind = "bpe";
  tokenizer.bpe = std::make_shared<BpeTokenizer>(std::move(vocab), std::move(merges), settings);
  return tokenizer;
}

}  // namespace

std::optional<DirectoryTokenizer> loadDirectoryTokenizer(const std::string& directory) {
  try {
    return readDirectoryTokenizer(directory);
  } catch (const json::exception& e) {
    // A setting or vocab entry of the wrong JSON type ("do_lower_case": "yes", an id
    // that is not a number).
    std::string files;
    for (const auto& file : tokenizerFilesIn(directory)) files += (files.empty() ? "" : ", ") + file;
    throw UserError(files + ": a tokenizer setting or vocab entry has the wrong type: " + firstLine(e.what()));
  }
}

}  // namespace modelexport

#include "modelexport/input_spec_parser.h"

#include <cctype>
#include <set>

#include "modelexport/errors.h"
#include "modelexport/dtype_names.h"

namespace modelexport {
namespace {

const char* kSyntax = "expected name:dtype:shape[,...], e.g. input_ids:int64:1x128 (dtypes float32, float16, "
                      "bfloat16, int64, int32, bool)";

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

std::string trim(const std::string& text) {
  size_t b = 0, e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  return text.substr(b, e - b);
}

at::ScalarType parseDtype(const std::string& name, const std::string& spec) {
  static const std::pair<const char*, at::ScalarType> known[] = {
      {"float32", at::kFloat}, {"float16", at::kHalf}, {"bfloat16", at::kBFloat16},
      {"int64", at::kLong},    {"int32", at::kInt},    {"bool", at::kBool}};
  for (const auto& [text, type] : known)
    if (name == text) return type;
  throw UserError("--input-spec '" + spec + "': unknown dtype '" + name +
                  "' (use float32, float16, bfloat16, int64, int32 or bool)");
}

std::vector<int64_t> parseDims(const std::string& text, const std::string& spec) {
  if (text == "scalar") return {};
  std::vector<int64_t> dims;
  for (const auto& part : split(text, 'x')) {
    bool digits = !part.empty() && part.size() <= 12;
    for (char c : part) digits = digits && std::isdigit(static_cast<unsigned char>(c));
    if (!digits || std::stoll(part) <= 0)
      throw UserError("--input-spec '" + spec + "': shape '" + text +
                      "' must be positive integers joined by 'x', e.g. 1x128 (or 'scalar')");
    dims.push_back(std::stoll(part));
  }
  return dims;
}

}  // namespace

std::vector<InputSpec> parseInputSpecs(const std::string& text) {
  if (trim(text).empty()) throw UserError(std::string("--input-spec is empty; ") + kSyntax);
  std::vector<InputSpec> specs;
  std::set<std::string> names;
  for (const auto& raw : split(text, ',')) {
    const std::string spec = trim(raw);
    const auto fields = split(spec, ':');
    if (fields.size() != 3) throw UserError("--input-spec '" + spec + "': " + kSyntax);
    InputSpec parsed;
    parsed.name = trim(fields[0]);
    if (parsed.name.empty()) throw UserError("--input-spec '" + spec + "': the input name is empty; " + kSyntax);
    if (!names.insert(parsed.name).second)
      throw UserError("--input-spec: input '" + parsed.name + "' is given twice");
    parsed.dtype = parseDtype(trim(fields[1]), spec);
    parsed.shape = parseDims(trim(fields[2]), spec);
    specs.push_back(parsed);
  }
  return specs;
}

std::string formatInputSpecs(const std::vector<InputSpec>& specs) {
  std::string out;
  for (const auto& s : specs) {
    if (!out.empty()) out += ",";
    out += s.name + ":" + dtypeName(s.dtype) + ":";
    if (s.shape.empty()) out += "scalar";
    for (size_t k = 0; k < s.shape.size(); ++k) out += (k ? "x" : "") + std::to_string(s.shape[k]);
  }
  return out;
}

}  // namespace modelexport

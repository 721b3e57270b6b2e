#include "modelexport/derived_node_names.h"

namespace modelexport {

std::optional<std::string> longestDerivedKey(const std::string& name, const std::unordered_map<std::string, int>& byName) {
  static const std::string kFusedPrefix = "fused ";
  const std::string base = name.compare(0, kFusedPrefix.size(), kFusedPrefix) == 0 ? name.substr(kFusedPrefix.size()) : name;
  if (byName.count(base)) return base;
  for (size_t end = base.size(); end-- > 1;) {
    if (base[end] != '/' && base[end] != '_') continue;
    if (byName.count(base.substr(0, end))) return base.substr(0, end);
  }
  return std::nullopt;
}

std::optional<int> findNodeByDerivedName(const std::string& name, const std::unordered_map<std::string, int>& byName) {
  auto key = longestDerivedKey(name, byName);
  return key ? std::optional<int>(byName.at(*key)) : std::nullopt;
}

}  // namespace modelexport

#include "modelexport/hierarchy_stamps.h"

#include <nlohmann/json.hpp>

namespace modelexport {

bool tagHasPrefix(const std::string& tag, const std::string& prefix) {
  if (prefix.empty() || prefix == "/") return true;
  std::string p = prefix.back() == '/' ? prefix.substr(0, prefix.size() - 1) : prefix;
  if (tag.compare(0, p.size(), p) != 0) return false;
  return tag.size() == p.size() || tag[p.size()] == '/';
}


std::string pythonListRepr(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    out += '\'';
    for (char c : items[i]) {
      if (c == '\\' || c == '\'') out += '\\';
      out += c;
    }
    out += '\'';
  }
  return out + "]";
}

MetadataEntries hierarchyEntries(const std::string& path, const std::vector<std::string>& tags,
                                 const std::string& method, const std::string& module) {
  // ONNX strings need not be UTF-8; bytes that are not come out as U+FFFD rather than
  // failing the dump.
  const std::string tagsJson = nlohmann::json(tags).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return {
      {"hierarchy_path", path},
      {"hierarchy_tags", tagsJson},
      {"hierarchy_count", std::to_string(tags.size())},
      {"hierarchy_method", method},
      {"hierarchy_module", module},
      {"namespace", path.size() > 1 ? path.substr(1) : path},
  };
}

MetadataEntries stampEntries(const HierarchyStamp& stamp) {
  MetadataEntries entries = hierarchyEntries(stamp.path, stamp.tags, stamp.method, stamp.module);
  entries.emplace_back("pkg.torch.onnx.name_scopes", pythonListRepr(stamp.scopeModules));
  entries.emplace_back("pkg.torch.onnx.class_hierarchy", pythonListRepr(stamp.scopeClasses));
  return entries;
}

}  // namespace modelexport

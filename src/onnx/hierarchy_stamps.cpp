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

MetadataEntries stampEntries(const HierarchyStamp& stamp) {
  const std::string ns = stamp.path.size() > 1 ? stamp.path.substr(1) : stamp.path;
  return {
      {"hierarchy_path", stamp.path},
      {"hierarchy_tags", nlohmann::json(stamp.tags).dump()},
      {"hierarchy_count", std::to_string(stamp.tags.size())},
      {"hierarchy_method", stamp.method},
      {"hierarchy_module", stamp.module},
      {"namespace", ns},
      {"pkg.torch.onnx.name_scopes", pythonListRepr(stamp.scopeModules)},
      {"pkg.torch.onnx.class_hierarchy", pythonListRepr(stamp.scopeClasses)},
  };
}

}  // namespace modelexport

#pragma once
// The per-node stamps (docs/STAMPS.md) and their text forms.
#include <string>
#include <vector>

#include "modelexport/node_metadata.h"

namespace modelexport {

struct HierarchyStamp {
  std::string path;               // primary tag
  std::vector<std::string> tags;  // all tags, primary first
  std::string method;             // trace | project | usage
  std::string module;             // attribute path of the primary module
  // For PyTorch 2.x's keys: attribute paths and qualified classes from the root down.
  std::vector<std::string> scopeModules;
  std::vector<std::string> scopeClasses;
};

// The hierarchy_* keys and `namespace` of one node: what validate --repair writes.
MetadataEntries hierarchyEntries(const std::string& path, const std::vector<std::string>& tags,
                                 const std::string& method, const std::string& module);
// Those plus PyTorch 2.x's scope keys: what the export writes.
MetadataEntries stampEntries(const HierarchyStamp& stamp);

// Prefix match segment by segment: "/M/L.1" matches "/M/L.1/X", not "/M/L.10".
bool tagHasPrefix(const std::string& tag, const std::string& prefix);
std::string pythonListRepr(const std::vector<std::string>& items);

}  // namespace modelexport

#include "modelexport/hierarchy_reader.h"

#include <map>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "modelexport/node_metadata.h"

namespace modelexport {
namespace {

std::vector<std::string> splitAtoms(const std::string& path, char sep) {
  std::vector<std::string> atoms;
  std::string current;
  for (char c : path) {
    if (c == sep) {
      atoms.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  atoms.push_back(current);
  return atoms;
}

std::string joinAtoms(const std::vector<std::string>& atoms, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end; ++i) out += (i > begin ? "." : "") + atoms[i];
  return out;
}

bool allDigits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// torch 1.13 names a module scope by its last non-numeric attribute atom plus the numeric
// atoms after it ("layer.0"), and a Sequential element repeats its parent's name
// ("/layer1/layer1.0"): append only what the current path does not already end with.
std::string syntacticChild(const std::string& current, const std::string& segment) {
  std::vector<std::string> cur = current.empty() ? std::vector<std::string>{} : splitAtoms(current, '.');
  std::vector<std::string> seg = splitAtoms(segment, '.');
  bool numeric = true;
  for (const auto& a : seg) numeric = numeric && allDigits(a);
  if (numeric) return segment;  // children of a root Sequential keep their full path
  for (size_t j = seg.size() - 1; j > 0; --j) {
    if (cur.size() < j) continue;
    bool endsWith = true;
    for (size_t k = 0; k < j; ++k) endsWith = endsWith && cur[cur.size() - j + k] == seg[k];
    if (endsWith) return joinAtoms(cur, 0, cur.size()) + "." + joinAtoms(seg, j, seg.size());
  }
  return current.empty() ? segment : current + "." + segment;
}

std::vector<std::string> scopeSegments(const std::string& nodeName) {
  std::vector<std::string> segments;
  if (nodeName.empty() || nodeName[0] != '/') return segments;
  auto parts = splitAtoms(nodeName.substr(1), '/');
  for (size_t i = 0; i + 1 < parts.size(); ++i)
    if (!parts[i].empty()) segments.push_back(parts[i]);
  return segments;
}

// The stamps of one node from key/value text, wherever they were stored.
NodeHierarchy fromStampText(const std::map<std::string, std::string>& values) {
  NodeHierarchy h;
  auto get = [&](const char* key) {
    auto it = values.find(key);
    return it == values.end() ? std::string() : it->second;
  };
  h.tag = get("hierarchy_path");
  h.method = get("hierarchy_method");
  h.module = get("hierarchy_module");
  if (values.count("hierarchy_tags")) {
    auto parsed = nlohmann::json::parse(get("hierarchy_tags"), nullptr, false);
    h.tagsParsed = parsed.is_array();
    if (h.tagsParsed)
      for (const auto& t : parsed) {
        if (t.is_string()) h.tags.push_back(t.get<std::string>());
        else h.tagsParsed = false;
      }
  } else if (!h.tag.empty()) {
    h.tags.push_back(h.tag);
  }
  if (values.count("hierarchy_count")) {
    try {
      size_t used = 0;
      const std::string text = get("hierarchy_count");
      long long count = std::stoll(text, &used);
      if (used == text.size()) h.count = count;
    } catch (const std::exception&) {
    }
  }
  return h;
}

void buildTree(ModelHierarchy& hierarchy) {
  std::vector<std::string> allTags;
  for (const auto& n : hierarchy.nodes) {
    if (!n.tag.empty()) allTags.push_back(n.tag);
    for (const auto& t : n.tags) allTags.push_back(t);
  }
  if (allTags.empty()) return;
  std::set<std::string> firsts;
  for (const auto& t : allTags) {
    auto segs = tagSegments(t);
    firsts.insert(segs.empty() ? "" : segs[0]);
  }
  const bool classRoot = firsts.size() == 1 && !firsts.begin()->empty();
  std::map<std::string, int> index;
  auto& modules = hierarchy.modules;
  modules.push_back(HierarchyModule{classRoot ? "/" + *firsts.begin() : "/", "", -1, {}, 0, 0});
  index[modules[0].tag] = 0;
  auto ensure = [&](const std::string& tag) {
    auto segs = tagSegments(tag);
    int parent = 0;
    for (size_t k = classRoot ? 2 : 1; k <= segs.size(); ++k) {
      std::string prefix = joinTag(segs, k);
      auto it = index.find(prefix);
      if (it == index.end()) {
        int id = static_cast<int>(modules.size());
        modules.push_back(HierarchyModule{prefix, "", parent, {}, 0, 0});
        modules[parent].children.push_back(id);
        it = index.emplace(prefix, id).first;
      }
      parent = it->second;
    }
    return parent;
  };
  for (const auto& t : allTags) ensure(t);
  for (const auto& n : hierarchy.nodes) {
    if (n.tag.empty()) continue;
    auto& m = modules[index.at(joinTag(tagSegments(n.tag), tagSegments(n.tag).size()))];
    m.ownNodes++;
    if (m.path.empty() && !n.module.empty()) m.path = n.module;
  }
  for (size_t i = modules.size(); i-- > 0;) {
    modules[i].totalNodes += modules[i].ownNodes;
    if (modules[i].parent >= 0) modules[modules[i].parent].totalNodes += modules[i].totalNodes;
  }
}

}  // namespace

const char* hierarchySourceName(HierarchySource source) {
  switch (source) {
    case HierarchySource::Metadata: return "metadata_props";
    case HierarchySource::Attributes: return "node_attributes";
    case HierarchySource::ScopedNames: return "scoped_names";
    case HierarchySource::None: return "none";
  }
  return "none";
}

std::vector<std::string> tagSegments(const std::string& tag) {
  std::vector<std::string> segments;
  if (tag.empty()) return segments;
  auto parts = splitAtoms(tag[0] == '/' ? tag.substr(1) : tag, '/');
  for (auto& p : parts)
    if (!p.empty()) segments.push_back(p);
  return segments;
}

std::string joinTag(const std::vector<std::string>& segments, size_t count) {
  std::string out;
  for (size_t i = 0; i < count && i < segments.size(); ++i) out += "/" + segments[i];
  return out.empty() ? "/" : out;
}

ScopedName resolveScopedName(const std::string& nodeName, const std::vector<std::string>* knownPaths) {
  static const std::regex repeatedCall(R"(^(.*[^_])_(\d+)$)");
  ScopedName result;
  std::vector<std::string> normalized;
  for (const auto& segment : scopeSegments(nodeName)) {
    std::string seg = segment;
    std::smatch m;
    // The 2nd, 3rd... call of one module instance gets "name_N" (resnet's relu_1).
    if (knownPaths && std::regex_match(segment, m, repeatedCall)) {
      std::string base = syntacticChild(result.path, m[1].str());
      for (const auto& known : *knownPaths)
        if (known == base) seg = m[1].str();
    }
    result.path = syntacticChild(result.path, seg);
    normalized.push_back(seg);
  }
  result.tag = joinTag(normalized, normalized.size());
  return result;
}

std::optional<int> ModelHierarchy::findModule(const std::string& tag) const {
  const std::string wanted = joinTag(tagSegments(tag), tagSegments(tag).size());
  for (size_t i = 0; i < modules.size(); ++i)
    if (modules[i].tag == wanted) return static_cast<int>(i);
  return std::nullopt;
}

size_t ModelHierarchy::taggedNodes() const {
  size_t n = 0;
  for (const auto& node : nodes) n += node.tag.empty() ? 0 : 1;
  return n;
}

ModelHierarchy readHierarchy(const onnx::GraphProto& graph) {
  ModelHierarchy hierarchy;
  std::vector<std::map<std::string, std::string>> metadata(graph.node_size()), attributes(graph.node_size());
  bool anyMetadata = false, anyAttributes = false, anyScope = false;
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& node = graph.node(i);
    for (const auto& [key, value] : getNodeMetadata(node)) {
      metadata[i][key] = value;
      anyMetadata = anyMetadata || key == "hierarchy_path";
    }
    for (const auto& a : node.attribute()) {
      if (a.name().rfind("hierarchy_", 0) != 0) continue;
      attributes[i][a.name()] = a.type() == onnx::AttributeProto::INT ? std::to_string(a.i()) : a.s();
      anyAttributes = anyAttributes || a.name() == "hierarchy_path";
    }
    anyScope = anyScope || !scopeSegments(node.name()).empty();
  }
  if (anyMetadata || anyAttributes) {
    hierarchy.source = anyMetadata ? HierarchySource::Metadata : HierarchySource::Attributes;
    for (int i = 0; i < graph.node_size(); ++i)
      hierarchy.nodes.push_back(fromStampText(anyMetadata ? metadata[i] : attributes[i]));
  } else if (anyScope) {
    hierarchy.source = HierarchySource::ScopedNames;
    std::vector<std::string> firstPass;
    for (const auto& node : graph.node()) firstPass.push_back(resolveScopedName(node.name(), nullptr).path);
    for (const auto& node : graph.node()) {
      ScopedName scoped = resolveScopedName(node.name(), &firstPass);
      NodeHierarchy h;
      h.tag = scoped.tag;
      h.tags = {scoped.tag};
      h.method = "scope";
      h.module = scoped.path;
      hierarchy.nodes.push_back(h);
    }
  } else {
    hierarchy.nodes.resize(static_cast<size_t>(graph.node_size()));
  }
  buildTree(hierarchy);
  return hierarchy;
}

}  // namespace modelexport

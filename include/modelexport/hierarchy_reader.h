#pragma once
// Reads the module hierarchy back from any ONNX file: our metadata_props stamps, else
// `hierarchy_*` node attributes (export --hierarchy-attrs), else the scoped node names
// PyTorch's own exporter writes ("/encoder/layer.0/attention/self/query/MatMul").
// analyze, validate and compare all read through here.
#include <optional>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

namespace modelexport {

enum class HierarchySource { Metadata, Attributes, ScopedNames, None };
const char* hierarchySourceName(HierarchySource source);  // "metadata_props", ...

struct NodeHierarchy {
  std::string tag;                // primary tag; empty when the node carries none
  std::vector<std::string> tags;  // all tags as written (primary first for our files)
  std::string method;             // trace | project | usage; "scope" for scoped names
  std::string module;             // attribute path of the primary module, if known
  // Raw facts for consistency checks.
  bool tagsParsed = true;              // hierarchy_tags was a JSON array of strings
  std::optional<long long> count;      // hierarchy_count as written
};

struct HierarchyModule {
  std::string tag;
  std::string path;  // attribute path when some node names it, else empty
  int parent = -1;
  std::vector<int> children;  // in order of first appearance
  size_t ownNodes = 0;        // nodes whose primary tag is this module
  size_t totalNodes = 0;      // own plus all descendants'
};

struct ModelHierarchy {
  HierarchySource source = HierarchySource::None;
  std::vector<NodeHierarchy> nodes;      // parallel to graph.node()
  // modules[0] is the root: "/Class" when every tag starts with that segment, else "/".
  std::vector<HierarchyModule> modules;

  std::optional<int> findModule(const std::string& tag) const;
  size_t taggedNodes() const;
};

ModelHierarchy readHierarchy(const onnx::GraphProto& graph);

// "/A/B.1/C" -> {"A", "B.1", "C"}; "/" -> {}.
std::vector<std::string> tagSegments(const std::string& tag);
std::string joinTag(const std::vector<std::string>& segments, size_t count);

// Module attribute path and normalized tag for a torch.onnx scoped node name; the
// second call of a module ("relu_1") is resolved against `knownPaths` when given.
struct ScopedName {
  std::string tag;   // "/encoder/layer.0/attention/self/query"; "/" for the root
  std::string path;  // "encoder.layer.0.attention.self.query"
};
ScopedName resolveScopedName(const std::string& nodeName, const std::vector<std::string>* knownPaths);

}  // namespace modelexport

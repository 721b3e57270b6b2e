#pragma once
// The module an emitted node belongs to, and how that was decided. Plain data, shared by
// the tagging (hierarchy/) and the graph builder (onnx/) without either including the other.
namespace modelexport {

enum class TagMethod { Trace, Project, Usage };

inline const char* tagMethodName(TagMethod method) {
  switch (method) {
    case TagMethod::Trace: return "trace";
    case TagMethod::Project: return "project";
    case TagMethod::Usage: return "usage";
  }
  return "trace";
}

struct NodeTag {
  int module = -1;  // index into ModuleTree; -1: to be projected from consumers
  TagMethod method = TagMethod::Project;
};

}  // namespace modelexport

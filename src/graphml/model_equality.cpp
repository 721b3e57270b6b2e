#include "modelexport/model_equality.h"

#include "modelexport/node_metadata.h"

namespace modelexport {
namespace {

class DifferenceList {
 public:
  explicit DifferenceList(size_t limit) : limit_(limit) {}
  void add(const std::string& line) {
    if (lines_.size() < limit_) lines_.push_back(line);
    ++total_;
  }
  template <typename T>
  void compare(const std::string& field, const T& expected, const T& actual) {
    if (!(expected == actual)) add(field + ": " + text(expected) + " vs " + text(actual));
  }
  void compareMessages(const std::string& field, const google::protobuf::Message& expected,
                       const google::protobuf::Message& actual) {
    if (expected.SerializeAsString() != actual.SerializeAsString()) add(field + " differs");
  }
  size_t total() const { return total_; }
  std::vector<std::string> finish() {
    if (total_ > lines_.size()) lines_.push_back("... " + std::to_string(total_ - lines_.size()) + " more");
    return lines_;
  }

 private:
  static std::string text(const std::string& s) { return "'" + s + "'"; }
  template <typename T>
  static std::string text(const T& v) { return std::to_string(v); }
  size_t limit_;
  size_t total_ = 0;
  std::vector<std::string> lines_;
};

template <typename Repeated>
void compareRepeatedMessages(DifferenceList& diffs, const std::string& field, const Repeated& expected,
                             const Repeated& actual) {
  diffs.compare(field + " count", expected.size(), actual.size());
  for (int i = 0; i < std::min(expected.size(), actual.size()); ++i)
    diffs.compareMessages(field + " " + std::to_string(i) + " (" + expected.Get(i).name() + ")", expected.Get(i),
                          actual.Get(i));
}

void compareNodes(DifferenceList& diffs, const onnx::GraphProto& expected, const onnx::GraphProto& actual) {
  diffs.compare("node count", expected.node_size(), actual.node_size());
  for (int i = 0; i < std::min(expected.node_size(), actual.node_size()); ++i) {
    const auto& a = expected.node(i);
    const auto& b = actual.node(i);
    if (a.SerializeAsString() == b.SerializeAsString()) continue;
    const std::string where = "node " + std::to_string(i) + " (" + a.name() + ")";
    const size_t before = diffs.total();
    diffs.compare(where + ": op_type", a.op_type(), b.op_type());
    diffs.compare(where + ": domain", a.domain(), b.domain());
    diffs.compare(where + ": name", a.name(), b.name());
    diffs.compare(where + ": input count", a.input_size(), b.input_size());
    for (int k = 0; k < std::min(a.input_size(), b.input_size()); ++k)
      diffs.compare(where + ": input " + std::to_string(k), a.input(k), b.input(k));
    diffs.compare(where + ": output count", a.output_size(), b.output_size());
    for (int k = 0; k < std::min(a.output_size(), b.output_size()); ++k)
      diffs.compare(where + ": output " + std::to_string(k), a.output(k), b.output(k));
    compareRepeatedMessages(diffs, where + ": attribute", a.attribute(), b.attribute());
    if (getNodeMetadata(a) != getNodeMetadata(b)) diffs.add(where + ": metadata_props differ");
    if (diffs.total() == before) diffs.add(where + ": other fields differ (doc_string, field presence or unknown fields)");
  }
}

}  // namespace

std::vector<std::string> modelDifferences(const onnx::ModelProto& expected, const onnx::ModelProto& actual,
                                          size_t limit) {
  DifferenceList diffs(limit);
  diffs.compare("ir_version", expected.ir_version(), actual.ir_version());
  diffs.compare("opset_import count", expected.opset_import_size(), actual.opset_import_size());
  for (int i = 0; i < std::min(expected.opset_import_size(), actual.opset_import_size()); ++i)
    diffs.compareMessages("opset_import " + std::to_string(i), expected.opset_import(i), actual.opset_import(i));
  diffs.compare("producer_name", expected.producer_name(), actual.producer_name());
  diffs.compare("producer_version", expected.producer_version(), actual.producer_version());
  diffs.compare("model metadata_props count", expected.metadata_props_size(), actual.metadata_props_size());
  for (int i = 0; i < std::min(expected.metadata_props_size(), actual.metadata_props_size()); ++i)
    diffs.compareMessages("model metadata_props " + std::to_string(i), expected.metadata_props(i),
                          actual.metadata_props(i));

  const auto& a = expected.graph();
  const auto& b = actual.graph();
  const size_t beforeGraph = diffs.total();
  diffs.compare("graph name", a.name(), b.name());
  compareNodes(diffs, a, b);
  diffs.compare("initializer count", a.initializer_size(), b.initializer_size());
  for (int i = 0; i < std::min(a.initializer_size(), b.initializer_size()); ++i) {
    const auto& x = a.initializer(i);
    const auto& y = b.initializer(i);
    const std::string where = "initializer " + std::to_string(i) + " (" + x.name() + ")";
    diffs.compare(where + ": name", x.name(), y.name());
    diffs.compare(where + ": data_type", x.data_type(), y.data_type());
    if (x.raw_data() != y.raw_data()) diffs.add(where + ": raw_data bytes differ");
    diffs.compareMessages(where, x, y);
  }
  compareRepeatedMessages(diffs, "graph input", a.input(), b.input());
  compareRepeatedMessages(diffs, "graph output", a.output(), b.output());
  compareRepeatedMessages(diffs, "value_info", a.value_info(), b.value_info());
  if (diffs.total() == beforeGraph && a.SerializeAsString() != b.SerializeAsString())
    diffs.add("graph: serialized bytes differ in fields not listed above");
  if (expected.SerializeAsString() != actual.SerializeAsString() && diffs.total() == 0)
    diffs.add("model: serialized bytes differ in model-level fields not listed above");
  return diffs.finish();
}

}  // namespace modelexport

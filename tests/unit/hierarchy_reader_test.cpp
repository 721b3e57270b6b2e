// The hierarchy reader (stamps, attributes, scoped names) and tag-prefix filtering.
#include <gtest/gtest.h>

#include "modelexport/hierarchy_reader.h"
#include "modelexport/hierarchy_stamps.h"
#include "modelexport/hierarchy_tags.h"
#include "modelexport/model_analysis.h"

namespace modelexport {
namespace {

onnx::NodeProto& addNode(onnx::GraphProto& graph, const std::string& name, const std::string& op) {
  auto* node = graph.add_node();
  node->set_name(name);
  node->set_op_type(op);
  return *node;
}

HierarchyStamp stamp(const std::string& tag, const std::string& method, const std::string& module) {
  HierarchyStamp s;
  s.path = tag;
  s.tags = {tag};
  s.method = method;
  s.module = module;
  return s;
}

TEST(TagPrefix, MatchesWholeSegmentsOnly) {
  EXPECT_TRUE(tagHasPrefix("/M/BertLayer.1", "/M/BertLayer.1"));
  EXPECT_TRUE(tagHasPrefix("/M/BertLayer.1/Attention", "/M/BertLayer.1"));
  EXPECT_TRUE(tagHasPrefix("/M/BertLayer.1/Attention", "/M/BertLayer.1/"));
  EXPECT_FALSE(tagHasPrefix("/M/BertLayer.10", "/M/BertLayer.1"));
  EXPECT_FALSE(tagHasPrefix("/M/BertLayer.10/Attention", "/M/BertLayer.1"));
  EXPECT_FALSE(tagHasPrefix("/M", "/M/BertLayer.1"));
  EXPECT_TRUE(tagHasPrefix("/M/X", "/"));
}

TEST(TagPrefix, FilterSelectsModuleAndDescendantsOrProjectedNodes) {
  NodeHierarchy inLayer1{"/M/BertLayer.1/Attention", {"/M/BertLayer.1/Attention"}, "trace", "", true, 1};
  NodeHierarchy inLayer10{"/M/BertLayer.10", {"/M/BertLayer.10"}, "project", "", true, 1};
  EXPECT_TRUE(nodeMatchesFilter(inLayer1, "/M/BertLayer.1"));
  EXPECT_FALSE(nodeMatchesFilter(inLayer10, "/M/BertLayer.1"));
  EXPECT_TRUE(nodeMatchesFilter(inLayer10, "/M/BertLayer.10"));
  EXPECT_TRUE(nodeMatchesFilter(inLayer10, "auxiliary"));
  EXPECT_FALSE(nodeMatchesFilter(inLayer1, "auxiliary"));
  EXPECT_TRUE(nodeMatchesFilter(inLayer1, ""));
}

TEST(HierarchyReader, MetadataStampsBuildTreeWithOwnAndTotalCounts) {
  onnx::GraphProto graph;
  setNodeMetadata(addNode(graph, "a", "Gather"), stampEntries(stamp("/M/Emb", "trace", "emb")));
  setNodeMetadata(addNode(graph, "b", "MatMul"), stampEntries(stamp("/M/Layer.0/Linear.q", "trace", "layer.0.q")));
  setNodeMetadata(addNode(graph, "c", "Add"), stampEntries(stamp("/M/Layer.0", "project", "layer.0")));
  setNodeMetadata(addNode(graph, "d", "Tanh"), stampEntries(stamp("/M", "trace", "")));
  ModelHierarchy h = readHierarchy(graph);
  EXPECT_EQ(h.source, HierarchySource::Metadata);
  EXPECT_EQ(h.taggedNodes(), 4u);
  ASSERT_FALSE(h.modules.empty());
  EXPECT_EQ(h.modules[0].tag, "/M");
  EXPECT_EQ(h.modules[0].ownNodes, 1u);
  EXPECT_EQ(h.modules[0].totalNodes, 4u);
  auto layer = h.findModule("/M/Layer.0");
  ASSERT_TRUE(layer);
  EXPECT_EQ(h.modules[*layer].ownNodes, 1u);
  EXPECT_EQ(h.modules[*layer].totalNodes, 2u);
  EXPECT_EQ(h.modules[*layer].path, "layer.0");
  EXPECT_EQ(h.nodes[2].method, "project");
  EXPECT_EQ(h.nodes[1].count.value_or(-1), 1);
  EXPECT_FALSE(h.findModule("/M/Layer"));
}

TEST(HierarchyReader, FallsBackToHierarchyAttributes) {
  onnx::GraphProto graph;
  auto& node = addNode(graph, "n", "Relu");
  for (const auto& [key, value] : stampEntries(stamp("/M/Block.1", "trace", "blocks.1"))) {
    if (key.rfind("hierarchy_", 0) != 0) continue;
    auto* a = node.add_attribute();
    a->set_name(key);
    if (key == "hierarchy_count") {
      a->set_type(onnx::AttributeProto::INT);
      a->set_i(1);
    } else {
      a->set_type(onnx::AttributeProto::STRING);
      a->set_s(value);
    }
  }
  ModelHierarchy h = readHierarchy(graph);
  EXPECT_EQ(h.source, HierarchySource::Attributes);
  EXPECT_EQ(h.nodes[0].tag, "/M/Block.1");
  EXPECT_EQ(h.nodes[0].module, "blocks.1");
  EXPECT_EQ(h.nodes[0].count.value_or(-1), 1);
}

TEST(HierarchyReader, MetadataWinsOverAttributesAndNames) {
  onnx::GraphProto graph;
  auto& node = addNode(graph, "/encoder/layer.0/MatMul", "MatMul");
  setNodeMetadata(node, stampEntries(stamp("/M/Enc", "trace", "encoder")));
  auto* a = node.add_attribute();
  a->set_name("hierarchy_path");
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s("/Other");
  ModelHierarchy h = readHierarchy(graph);
  EXPECT_EQ(h.source, HierarchySource::Metadata);
  EXPECT_EQ(h.nodes[0].tag, "/M/Enc");
}

TEST(HierarchyReader, ScopedNamesAsTorchOnnxWritesThem) {
  onnx::GraphProto graph;
  addNode(graph, "/encoder/layer.0/attention/self/query/MatMul", "MatMul");
  addNode(graph, "/layer1/layer1.0/conv1/Conv", "Conv");
  addNode(graph, "/layer1/layer1.0/relu/Relu", "Relu");
  addNode(graph, "/layer1/layer1.0/relu_1/Relu", "Relu");
  addNode(graph, "/features/features.1/conv/conv.0/conv.0.0/Conv", "Conv");
  addNode(graph, "/Constant_1", "Constant");
  addNode(graph, "Identity_0", "Identity");
  ModelHierarchy h = readHierarchy(graph);
  EXPECT_EQ(h.source, HierarchySource::ScopedNames);
  EXPECT_EQ(h.nodes[0].module, "encoder.layer.0.attention.self.query");
  EXPECT_EQ(h.nodes[0].tag, "/encoder/layer.0/attention/self/query");
  EXPECT_EQ(h.nodes[1].module, "layer1.0.conv1");
  EXPECT_EQ(h.nodes[3].module, "layer1.0.relu");  // second call of the same module
  EXPECT_EQ(h.nodes[3].tag, "/layer1/layer1.0/relu");
  EXPECT_EQ(h.nodes[4].module, "features.1.conv.0.0");
  EXPECT_EQ(h.nodes[5].tag, "/");
  EXPECT_EQ(h.nodes[5].module, "");
  EXPECT_EQ(h.nodes[6].tag, "/");
  EXPECT_EQ(h.modules[0].tag, "/");
  EXPECT_EQ(h.modules[0].totalNodes, 7u);
  auto layer10 = h.findModule("/layer1/layer1.0");
  ASSERT_TRUE(layer10);
  EXPECT_EQ(h.modules[*layer10].totalNodes, 3u);
  EXPECT_EQ(h.modules[*layer10].ownNodes, 0u);
}

TEST(HierarchyReader, RepeatedCallSuffixKeptWhenNoSuchModule) {
  // "conv_1" is a module name of its own when no "conv" scope exists.
  onnx::GraphProto graph;
  addNode(graph, "/block/conv_1/Conv", "Conv");
  ModelHierarchy h = readHierarchy(graph);
  EXPECT_EQ(h.nodes[0].module, "block.conv_1");
}

TEST(HierarchyReader, NoHierarchy) {
  onnx::GraphProto graph;
  addNode(graph, "Add_0", "Add");
  ModelHierarchy h = readHierarchy(graph);
  EXPECT_EQ(h.source, HierarchySource::None);
  EXPECT_EQ(h.taggedNodes(), 0u);
  EXPECT_TRUE(h.modules.empty());
}

}  // namespace
}  // namespace modelexport

// GraphML writer and reader on a hand-built model holding every attribute type, subgraphs,
// typed and raw tensors, stamps and unknown fields: the rebuilt model must serialize to
// the same bytes.
#include <cmath>
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <pugixml.hpp>

#include "modelexport/graphml_reader.h"
#include "modelexport/graphml_writer.h"
#include "modelexport/model_equality.h"
#include "modelexport/node_metadata.h"
#include "test_support.h"

namespace modelexport {
namespace {

onnx::ValueInfoProto tensorInfo(const std::string& name, int elemType, std::vector<int64_t> dims) {
  onnx::ValueInfoProto info;
  info.set_name(name);
  auto* tensor = info.mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(elemType);
  auto* shape = tensor->mutable_shape();
  for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
  shape->add_dim()->set_dim_param("batch");
  return info;
}

onnx::NodeProto stampedNode(const std::string& tag, const std::string& op, std::vector<std::string> inputs,
                            std::vector<std::string> outputs) {
  onnx::NodeProto node;
  node.set_name(tag + "/" + op);
  node.set_op_type(op);
  for (auto& i : inputs) node.add_input(i);
  for (auto& o : outputs) node.add_output(o);
  setNodeMetadata(node, {{"hierarchy_path", tag}, {"hierarchy_tags", "[\"" + tag + "\"]"}, {"hierarchy_module", "m"}});
  return node;
}

onnx::GraphProto branch(const std::string& name, float value) {
  onnx::GraphProto g;
  g.set_name(name);
  auto* init = g.add_initializer();
  init->set_name(name + "_c");
  init->set_data_type(onnx::TensorProto::FLOAT);
  init->add_float_data(value);  // typed field, not raw_data
  *g.add_node() = stampedNode("/Net/Branch", "Identity", {name + "_c"}, {name + "_out"});
  *g.add_output() = tensorInfo(name + "_out", onnx::TensorProto::FLOAT, {});
  return g;
}

onnx::ModelProto everythingModel() {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name("test");
  model.set_model_version(0);  // present with a default value: presence must survive
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(14);
  auto* meta = model.add_metadata_props();
  meta->set_key("k");
  meta->set_value("v");
  auto* g = model.mutable_graph();
  g->set_name("Net");
  *g->add_input() = tensorInfo("x", onnx::TensorProto::FLOAT, {2, 3});
  *g->add_input() = tensorInfo("flag", onnx::TensorProto::BOOL, {});

  auto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(2);
  w->add_dims(3);
  std::vector<float> values{1.5f, -0.0f, NAN, INFINITY, 1e-30f, 3.0f};
  w->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
  auto* shape = g->add_initializer();
  shape->set_name("shape");
  shape->set_data_type(onnx::TensorProto::INT64);
  shape->add_dims(2);
  shape->add_int64_data(3);
  shape->add_int64_data(2);
  shape->set_doc_string("typed int64 data");

  auto add = stampedNode("/Net/Block.0/Linear", "Add", {"x", "w"}, {"a"});
  add.set_doc_string("doc");
  auto* f = add.add_attribute();
  f->set_name("f");
  f->set_type(onnx::AttributeProto::FLOAT);
  f->set_f(NAN);
  auto* i = add.add_attribute();
  i->set_name("i");
  i->set_type(onnx::AttributeProto::INT);
  i->set_i(-9007199254740993LL);
  auto* s = add.add_attribute();
  s->set_name("s");
  s->set_type(onnx::AttributeProto::STRING);
  s->set_s(std::string("\xff\x00\x01 not utf8", 12));
  auto* fs = add.add_attribute();
  fs->set_name("floats");
  fs->set_type(onnx::AttributeProto::FLOATS);
  for (float v : {0.1f, -INFINITY, 3.4028235e38f}) fs->add_floats(v);
  auto* is = add.add_attribute();
  is->set_name("ints");
  is->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : {0LL, -1LL, 1LL << 62}) is->add_ints(v);
  auto* ss = add.add_attribute();
  ss->set_name("strings");
  ss->set_type(onnx::AttributeProto::STRINGS);
  ss->add_strings("a\"<&>");
  ss->add_strings("");
  auto* t = add.add_attribute();
  t->set_name("t");
  t->set_type(onnx::AttributeProto::TENSOR);
  *t->mutable_t() = *w;
  auto* ts = add.add_attribute();
  ts->set_name("tensors");
  ts->set_type(onnx::AttributeProto::TENSORS);
  *ts->add_tensors() = *shape;
  *ts->add_tensors() = *w;
  auto* sparse = add.add_attribute();
  sparse->set_name("sparse");
  sparse->set_type(onnx::AttributeProto::SPARSE_TENSOR);
  *sparse->mutable_sparse_tensor()->mutable_values() = *w;
  auto* tp = add.add_attribute();
  tp->set_name("tp");
  tp->set_type(onnx::AttributeProto::TYPE_PROTO);
  tp->mutable_tp()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::INT8);
  *g->add_node() = add;

  auto reshape = stampedNode("/Net/Block.0", "Reshape", {"a", "shape"}, {"r"});
  *g->add_node() = reshape;

  onnx::NodeProto ifNode = stampedNode("/Net/Branch", "If", {"flag"}, {"y"});
  auto* thenBranch = ifNode.add_attribute();
  thenBranch->set_name("then_branch");
  thenBranch->set_type(onnx::AttributeProto::GRAPH);
  *thenBranch->mutable_g() = branch("then", 1.0f);
  auto* elseBranch = ifNode.add_attribute();
  elseBranch->set_name("else_branch");
  elseBranch->set_type(onnx::AttributeProto::GRAPH);
  *elseBranch->mutable_g() = branch("else", 2.0f);
  auto* graphs = ifNode.add_attribute();
  graphs->set_name("graphs");
  graphs->set_type(onnx::AttributeProto::GRAPHS);
  *graphs->add_graphs() = branch("loop_body", 3.0f);
  // An unknown field other than metadata_props must ride along.
  ifNode.GetReflection()->MutableUnknownFields(&ifNode)->AddVarint(99, 7);
  *g->add_node() = ifNode;

  onnx::NodeProto bare;  // no name, no stamps, empty optional input
  bare.set_op_type("Clip");
  bare.add_input("r");
  bare.add_input("");
  bare.add_input("w");
  bare.add_output("z");
  *g->add_node() = bare;

  *g->add_output() = tensorInfo("z", onnx::TensorProto::FLOAT, {3, 2});
  *g->add_output() = tensorInfo("y", onnx::TensorProto::FLOAT, {});
  *g->add_value_info() = tensorInfo("a", onnx::TensorProto::FLOAT, {2, 3});
  return model;
}

TEST(GraphmlRoundTrip, RebuildsEveryFieldExactly) {
  const std::string dir = testing::freshWorkDir("graphml_roundtrip_every_field");
  const onnx::ModelProto model = everythingModel();
  writeHierarchicalGraphml(model, dir + "/m.onnx");
  onnx::ModelProto rebuilt = readHierarchicalGraphml(dir + "/m_hierarchical_graph.graphml");
  EXPECT_EQ(rebuilt.graph().SerializeAsString(), model.graph().SerializeAsString());
  EXPECT_EQ(rebuilt.SerializeAsString(), model.SerializeAsString());
  EXPECT_TRUE(modelDifferences(model, rebuilt).empty());
  EXPECT_EQ(getNodeMetadata(rebuilt.graph().node(2).attribute(0).g().node(0)),
            getNodeMetadata(model.graph().node(2).attribute(0).g().node(0)));
}

TEST(GraphmlRoundTrip, DifferencesNameTheField) {
  onnx::ModelProto a = everythingModel();
  onnx::ModelProto b = a;
  b.mutable_graph()->mutable_node(1)->set_input(1, "other");
  b.mutable_graph()->mutable_initializer(0)->mutable_raw_data()->at(0) ^= 1;
  auto diffs = modelDifferences(a, b);
  ASSERT_GE(diffs.size(), 2u);
  EXPECT_NE(diffs[0].find("node 1 (/Net/Block.0/Reshape): input 1: 'shape' vs 'other'"), std::string::npos) << diffs[0];
  bool rawReported = false;
  for (const auto& d : diffs) rawReported = rawReported || d.find("raw_data bytes differ") != std::string::npos;
  EXPECT_TRUE(rawReported);
}

TEST(GraphmlWriter, NestsModulesAndPlacesEdgesInTheInnermostCommonGraph) {
  const auto model = everythingModel();
  auto document = buildHierarchicalGraphml(model, "d.onnxdata", "m.json");
  pugi::xml_document xml;
  ASSERT_TRUE(xml.load_string(document.xml.c_str()));
  auto root = xml.child("graphml");
  EXPECT_STREQ(root.attribute("xmlns:y").value(), "http://www.yworks.com/xml/graphml");
  std::set<std::string> declared;
  for (auto key : root.children("key")) declared.insert(key.attribute("id").value());
  std::set<std::string> ids;
  size_t groups = 0;
  for (auto node : xml.select_nodes("//node")) {
    auto element = node.node();
    EXPECT_TRUE(ids.insert(element.attribute("id").value()).second) << element.attribute("id").value();
    for (auto data : element.children("data")) EXPECT_TRUE(declared.count(data.attribute("key").value()));
    if (std::string(element.attribute("yfiles.foldertype").value()) == "group") {
      ++groups;
      EXPECT_TRUE(element.select_node("data/y:ProxyAutoBoundsNode/y:Realizers/y:GroupNode/y:NodeLabel"));
      EXPECT_TRUE(element.child("graph"));
    }
  }
  EXPECT_EQ(groups, 4u);  // /Net, /Net/Block.0, /Net/Block.0/Linear, /Net/Branch
  EXPECT_EQ(document.moduleNodes, 4u);
  // Add (in /Net/Block.0/Linear) -> Reshape (in /Net/Block.0): declared in /Net/Block.0's graph.
  auto edge = xml.select_node("//edge[@source='op:/Net/Block.0/Linear/Add']").node();
  ASSERT_TRUE(edge);
  EXPECT_STREQ(edge.parent().parent().attribute("id").value(), "module:/Net/Block.0");
  // x is used only by the Linear's Add, so it sits inside it; w is also read by the
  // untagged Clip, so it goes to the top graph.
  auto x = xml.select_node("//node[@id='input:x']").node();
  EXPECT_STREQ(x.parent().parent().attribute("id").value(), "module:/Net/Block.0/Linear");
  auto weight = xml.select_node("//node[@id='initializer:w']").node();
  EXPECT_STREQ(weight.parent().attribute("id").value(), "G");
  auto add = xml.select_node("//node[@id='op:/Net/Block.0/Linear/Add']").node();
  ASSERT_TRUE(add);
  EXPECT_STREQ(add.select_node("data[@key='hierarchy_tag']").node().child_value(), "/Net/Block.0/Linear");
  // Edge count: one per non-empty tensor use with a producer here, plus one per graph output.
  EXPECT_EQ(document.edges, 2u + 2u + 1u + 2u + 2u);
}

TEST(GraphmlWriter, IsDeterministic) {
  // The documents' data views the models' bytes: the models must outlive them.
  const auto modelA = everythingModel(), modelB = everythingModel();
  auto a = buildHierarchicalGraphml(modelA, "d", "m");
  auto b = buildHierarchicalGraphml(modelB, "d", "m");
  EXPECT_EQ(a.xml, b.xml);
  EXPECT_EQ(a.data.bytes(), b.data.bytes());
  EXPECT_EQ(a.metadata.dump(), b.metadata.dump());
}

}  // namespace
}  // namespace modelexport

// computeBfloat16InFloat: an op the model's opset has no bfloat16 form of computes in
// float between Casts stamped with its module; the model passes the checker.
#include <gtest/gtest.h>

#include <onnx/onnx_pb.h>

#include "modelexport/model_assembly.h"
#include "modelexport/model_writer.h"
#include "modelexport/node_metadata.h"

namespace modelexport {
namespace {

onnx::ValueInfoProto tensorInfo(const std::string& name, int type, std::vector<int64_t> dims) {
  onnx::ValueInfoProto info;
  info.set_name(name);
  auto* tensor = info.mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(type);
  for (int64_t d : dims) tensor->mutable_shape()->add_dim()->set_dim_value(d);
  return info;
}

onnx::NodeProto node(const std::string& op, const std::string& name, std::vector<std::string> in, std::string out) {
  onnx::NodeProto n;
  n.set_op_type(op);
  n.set_name(name);
  for (const auto& i : in) n.add_input(i);
  n.add_output(out);
  setNodeMetadata(n, {{"hierarchy_path", "/Net/" + name}});
  return n;
}

// x -> Conv(W) -> Relu -> y, all in `type`, at `opset`.
AssembledModel convRelu(int type, int opset) {
  AssembledModel assembled;
  onnx::ModelProto& model = assembled.model;
  model.set_ir_version(8);
  auto* import = model.add_opset_import();
  import->set_domain("");
  import->set_version(opset);
  auto* graph = model.mutable_graph();
  graph->set_name("g");
  *graph->add_input() = tensorInfo("x", type, {1, 3, 8, 8});
  *graph->add_output() = tensorInfo("y", type, {1, 4, 6, 6});
  auto* w = graph->add_initializer();
  w->set_name("W");
  w->set_data_type(type);
  for (int64_t d : {4, 3, 3, 3}) w->add_dims(d);
  w->set_raw_data(std::string(4 * 3 * 3 * 3 * 2, '\0'));
  *graph->add_node() = node("Conv", "Conv", {"x", "W"}, "c");
  *graph->add_node() = node("Relu", "Relu", {"c"}, "y");
  for (const char* path : {"/Net/Conv", "/Net/Relu"}) {
    HierarchyStamp stamp;
    stamp.path = path;
    assembled.stamps.push_back(stamp);
  }
  return assembled;
}

TEST(Bfloat16InFloat, ConvWithoutABfloat16FormComputesInFloatBetweenStampedCasts) {
  AssembledModel assembled = convRelu(onnx::TensorProto::BFLOAT16, 17);
  EXPECT_THROW(checkModelFull(assembled.model), std::exception);  // Conv has bfloat16 from opset 22
  EXPECT_EQ(computeBfloat16InFloat(assembled), 1);
  const auto& nodes = assembled.model.graph().node();
  std::vector<std::string> ops;
  for (const auto& n : nodes) ops.push_back(n.op_type());
  EXPECT_EQ(ops, (std::vector<std::string>{"Cast", "Cast", "Conv", "Cast", "Relu"}));
  ASSERT_EQ(assembled.stamps.size(), 5u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(assembled.stamps[static_cast<size_t>(i)].path, "/Net/Conv") << i;
    EXPECT_EQ(getNodeMetadata(nodes[i]).at(0).second, "/Net/Conv") << i;
  }
  EXPECT_EQ(assembled.stamps[4].path, "/Net/Relu");
  EXPECT_EQ(nodes[3].attribute(0).i(), onnx::TensorProto::BFLOAT16);
  EXPECT_EQ(nodes[3].output(0), "c");  // Relu still reads the bfloat16 value
  EXPECT_NO_THROW(checkModelFull(assembled.model));
}

TEST(Bfloat16InFloat, OtherModelsAreLeftAlone) {
  AssembledModel native = convRelu(onnx::TensorProto::BFLOAT16, 17);  // Relu alone: bfloat16 since 14
  native.model.mutable_graph()->mutable_node()->DeleteSubrange(0, 1);
  native.model.mutable_graph()->mutable_node(0)->set_input(0, "x");
  native.model.mutable_graph()->mutable_output(0)->CopyFrom(native.model.graph().input(0));
  native.model.mutable_graph()->mutable_output(0)->set_name("y");
  native.stamps.erase(native.stamps.begin());
  EXPECT_EQ(computeBfloat16InFloat(native), 0);
  ASSERT_EQ(native.model.graph().node_size(), 1);
  EXPECT_EQ(native.model.graph().node(0).op_type(), "Relu");
  EXPECT_NO_THROW(checkModelFull(native.model));
  AssembledModel floats = convRelu(onnx::TensorProto::FLOAT, 17);
  EXPECT_EQ(computeBfloat16InFloat(floats), 0);
  EXPECT_EQ(floats.model.graph().node_size(), 2);
  AssembledModel halves = convRelu(onnx::TensorProto::FLOAT16, 17);
  EXPECT_EQ(computeBfloat16InFloat(halves), 0);
  EXPECT_EQ(halves.model.graph().node_size(), 2);
}

}  // namespace
}  // namespace modelexport

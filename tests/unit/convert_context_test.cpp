// ConvertContext in process, on a hand-written TorchScript graph with hand-set facts:
// static values become initializers, shapes that change with the dynamic axes are
// refused, optional arguments, emission with the current tag, casts on setOutput.
#include <gtest/gtest.h>
#include <torch/csrc/jit/ir/irparser.h>
#include <torch/script.h>

#include "modelexport/convert_context.h"
#include "modelexport/converter_helpers.h"
#include "modelexport/onnx_tensor.h"

namespace modelexport {
namespace {

using torch::jit::Value;

class ConvertContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::jit::parseIR(R"IR(
graph(%x : Float(2, 3), %n : int):
  %none : NoneType = prim::Constant()
  %dim : int = prim::Constant[value=1]()
  %keep : bool = prim::Constant[value=0]()
  %w : Tensor = aten::neg(%x)
  %s : Tensor = aten::sum(%x, %none, %keep, %none)
  %m : Tensor = aten::mul(%x, %w)
  %c : Tensor = aten::cumsum(%x, %dim, %none)
  return (%s, %m, %c))IR",
                        &graph_, values_);
    setTensor("x", at::kFloat, {2, 3});
    facts_.set(values_.at("n")).value = c10::IValue(int64_t{5});
    setStatic("none", c10::IValue());
    setStatic("dim", c10::IValue(int64_t{1}));
    setStatic("keep", c10::IValue(false));
    ValueFact& w = setTensor("w", at::kFloat, {});  // known at export time
    w.isStatic = true;
    w.value = at::scalar_tensor(2.0);
    setTensor("s", at::kFloat, {});
    setTensor("m", at::kFloat, {2, 3});
    setTensor("c", at::kFloat, {2, 3});
  }

  ValueFact& setTensor(const std::string& name, at::ScalarType dtype, std::vector<int64_t> sizes) {
    ValueFact& f = facts_.set(values_.at(name));
    f.isTensor = true;
    f.dtype = dtype;
    f.sizes = std::move(sizes);
    return f;
  }
  void setStatic(const std::string& name, c10::IValue value) {
    ValueFact& f = facts_.set(values_.at(name));
    f.isStatic = true;
    f.value = std::move(value);
  }
  const Value* v(const std::string& name) { return values_.at(name); }
  const torch::jit::Node* producer(const std::string& name) { return values_.at(name)->node(); }

  torch::jit::Graph graph_;
  std::unordered_map<std::string, Value*> values_;
  ValueFacts facts_;
  OnnxGraphBuilder builder_;
};

TEST_F(ConvertContextTest, AStaticValueBecomesOneInitializerAndNoNode) {
  ConvertContext ctx(builder_, facts_, 14);
  const std::string w = ctx.input(v("w"));
  EXPECT_EQ(ctx.input(v("w")), w);  // bound once
  ASSERT_EQ(builder_.initializers().size(), 1u);
  EXPECT_EQ(builder_.initializers()[0].name(), w);
  EXPECT_EQ(builder_.initializers()[0].data_type(), onnxDataType(at::kFloat));
  EXPECT_TRUE(builder_.nodes().empty());
  const std::string dim = ctx.input(v("dim"));  // a number: a 0-d int64 initializer
  EXPECT_EQ(builder_.initializers()[1].name(), dim);
  EXPECT_EQ(builder_.initializers()[1].data_type(), onnxDataType(at::kLong));
  EXPECT_EQ(builder_.initializers()[1].dims_size(), 0);
}

TEST_F(ConvertContextTest, ConstantsOfTheSameContentAreOneInitializer) {
  ConvertContext ctx(builder_, facts_, 14);
  EXPECT_EQ(ctx.constInts({1, 2}), ctx.constInts({1, 2}));
  EXPECT_NE(ctx.constInts({1, 2}), ctx.constInts({2, 1}));
  EXPECT_EQ(builder_.initializers().size(), 2u);
}

TEST_F(ConvertContextTest, AValueNoConverterProducedIsAnUnproducedInput) {
  ConvertContext ctx(builder_, facts_, 14);
  EXPECT_THROW(ctx.input(v("x")), UnproducedInput);
  ctx.bind(v("x"), "x");
  EXPECT_EQ(ctx.input(v("x")), "x");
}

TEST_F(ConvertContextTest, SizesThrowOnDynamicDimsAndDimOnlyOnThatDim) {
  ConvertContext ctx(builder_, facts_, 14);
  EXPECT_EQ(ctx.sizes(v("x")), (std::vector<int64_t>{2, 3}));
  facts_.set(v("x")).dynamicDims = {0};
  EXPECT_THROW(ctx.sizes(v("x")), UnsupportedForm);
  EXPECT_THROW(ctx.dim(v("x"), 0), UnsupportedForm);
  EXPECT_EQ(ctx.dim(v("x"), 1), 3);
  EXPECT_EQ(ctx.dim(v("x"), -1), 3);
  EXPECT_TRUE(ctx.hasDynamicDims(v("x")));
}

TEST_F(ConvertContextTest, ValuesOfTheDataAreNotExportTimeValues) {
  ConvertContext ctx(builder_, facts_, 14);
  EXPECT_THROW(ctx.toTensor(v("x")), UnsupportedForm);
  EXPECT_EQ(ctx.toInt(v("n")), 5);  // a non-tensor that ran: known
  ctx.setDynamicAxes(true);
  EXPECT_THROW(ctx.toInt(v("n")), UnsupportedForm);  // may differ with the dynamic axes
  EXPECT_EQ(ctx.toInt(v("dim")), 1);                 // a constant stays known
}

TEST_F(ConvertContextTest, GivenIsPresentAndNotNone) {
  ConvertContext ctx(builder_, facts_, 14);
  ctx.setNode(producer("s"));  // sum(x, dim=None, keepdim=False, dtype=None)
  EXPECT_TRUE(ctx.given("self"));
  EXPECT_FALSE(ctx.given("dim"));  // None
  EXPECT_FALSE(ctx.given("dtype"));
  EXPECT_TRUE(ctx.given("keepdim"));
  EXPECT_EQ(ctx.arg("keepdim"), v("keep"));
  EXPECT_EQ(ctx.arg("no_such_argument"), nullptr);
  EXPECT_FALSE(ctx.given("no_such_argument"));
  ctx.setNode(producer("c"));  // cumsum(x, dim, dtype=None): dim at another position
  EXPECT_EQ(ctx.arg("dim"), v("dim"));
  EXPECT_FALSE(ctx.given("dtype"));
}

TEST_F(ConvertContextTest, ArgumentsByNameFollowTheSchemaAndRefuseToGuess) {
  ConvertContext ctx(builder_, facts_, 14);
  ctx.setNode(producer("c"));  // cumsum(Tensor self, int dim, *, ScalarType? dtype=None)
  EXPECT_EQ(ctx.in("self"), v("x"));
  EXPECT_EQ(ctx.in("dim"), v("dim"));
  EXPECT_THROW(ctx.in("keepdim"), std::logic_error);  // a name the schema lacks
  ctx.setNode(producer("dim"));                       // prim::Constant: no schema
  EXPECT_THROW(ctx.in("value"), std::logic_error);
  EXPECT_THROW(ctx.arg("value"), std::logic_error);
}

// Squeeze/Unsqueeze/ReduceSum take their axes as an input from opset 13, the other Reduce
// operators from 18; the helpers write the form declared for the export's opset.
TEST_F(ConvertContextTest, AxesFormsFollowTheDeclaredOpsets) {
  for (const char* opType : {"Squeeze", "Unsqueeze", "ReduceSum"}) {
    EXPECT_EQ(axesFormAt(opType, 12), AxesForm::Attribute) << opType;
    EXPECT_EQ(axesFormAt(opType, 13), AxesForm::Input) << opType;
  }
  for (const char* opType : {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                             "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"}) {
    EXPECT_EQ(axesFormAt(opType, 17), AxesForm::Attribute) << opType;
    EXPECT_EQ(axesFormAt(opType, 18), AxesForm::Input) << opType;
  }
  EXPECT_THROW(axesFormAt("Relu", 14), std::logic_error);  // no axes: not a helper's operator
  ConvertContext at12(builder_, facts_, 12), at13(builder_, facts_, 13);
  EXPECT_EQ(at12.axesForm("Unsqueeze"), AxesForm::Attribute);
  EXPECT_EQ(at13.axesForm("Unsqueeze"), AxesForm::Input);
  EXPECT_EQ(at13.axesForm("ReduceMean"), AxesForm::Attribute);
}

TEST_F(ConvertContextTest, EmittedNodesCarryTheCurrentTag) {
  ConvertContext ctx(builder_, facts_, 14);
  ctx.bind(v("x"), "x");
  ctx.setNode(producer("m"));
  builder_.setCurrentTag(NodeTag{3, TagMethod::Trace});
  const std::string out = ctx.op("Mul", {ctx.input(v("x")), ctx.input(v("w"))});
  ASSERT_EQ(builder_.nodes().size(), 1u);
  EXPECT_EQ(builder_.nodes()[0].tag.module, 3);
  EXPECT_EQ(builder_.nodes()[0].proto.op_type(), "Mul");
  EXPECT_EQ(builder_.nodes()[0].proto.output(0), out);
}

TEST_F(ConvertContextTest, SetOutputCastsWhenTheOnnxTypeDiffers) {
  ConvertContext ctx(builder_, facts_, 14);
  ctx.setNode(producer("m"));
  ctx.setOutput("as_float", at::kFloat);
  EXPECT_EQ(ctx.input(v("m")), "as_float");
  EXPECT_TRUE(builder_.nodes().empty());
  ctx.setOutput("as_double", at::kDouble);  // LibTorch produced float: cast back
  ASSERT_EQ(builder_.nodes().size(), 1u);
  const auto& cast = builder_.nodes()[0].proto;
  EXPECT_EQ(cast.op_type(), "Cast");
  EXPECT_EQ(cast.input(0), "as_double");
  EXPECT_EQ(cast.attribute(0).i(), onnxDataType(at::kFloat));
  EXPECT_EQ(ctx.input(v("m")), cast.output(0));
}

TEST_F(ConvertContextTest, InputAsMakesStaticValuesInTheTypeAndCastsOthers) {
  ConvertContext ctx(builder_, facts_, 14);
  ctx.setNode(producer("m"));
  ctx.inputAs(v("w"), at::kDouble);  // a constant made in that type, no Cast
  EXPECT_TRUE(builder_.nodes().empty());
  EXPECT_EQ(builder_.initializers().back().data_type(), onnxDataType(at::kDouble));
  ctx.bind(v("x"), "x");
  EXPECT_EQ(ctx.inputAs(v("x"), at::kFloat), "x");
  ctx.inputAs(v("x"), at::kHalf);
  ASSERT_EQ(builder_.nodes().size(), 1u);
  EXPECT_EQ(builder_.nodes()[0].proto.op_type(), "Cast");
}

}  // namespace
}  // namespace modelexport

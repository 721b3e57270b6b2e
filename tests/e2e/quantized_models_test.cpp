// End-to-end: quantized models made with torch 2.13's torch.ao (x86 engine; eager mode
// with fused conv-bn-relu and FloatFunctional, FX prepare_fx/convert_fx, quantize_dynamic),
// traced and saved (tests/tools/make_quantized_models.py, cached in the build tree). The
// binary loads them, the QDQ export is checker-valid and fully stamped, and onnxruntime's
// outputs on input sets other than the export's are within one quantization step (the
// output's scale) of PyTorch's quantized model; a dynamically quantized model's float
// output matches to float rounding. A dynamically quantized LSTM is refused with the op,
// its module and the reason.
#include <iostream>
#include <sstream>
#include <regex>
#include <set>

#include <gtest/gtest.h>

#include <ATen/Context.h>
#include <torch/script.h>

#include "e2e_support.h"
#include "modelexport/mapped_archive.h"
#include "script_made_models.h"

namespace modelexport::e2e {
namespace {

using testing::OrtMetric;
using testing::ortCheckSets;

class QuantizedModels : public ScriptMadeModels<QuantizedModels> {
 public:
  static MadeModels makeModels() {
    return runModelScripts(buildTreeModelDir("quantized"),
                           {{MODELEXPORT_VENV_PYTHON, "tests/tools/make_quantized_models.py"}});
  }

 protected:
  CommandResult exportModel(const std::string& name, const std::string& out, int opset) {
    return exportWithInputSpec(name, out, "--opset-version " + std::to_string(opset));
  }

  // Exports, checks and runs the model; returns the ONNX op types it holds.
  std::multiset<std::string> expectWithinOneStep(const std::string& name, int opset = 14) {
    EXPECT_TRUE(ok_) << log_;
    if (!ok_) return {};
    const std::string out = freshWorkDir("e2e/quantized/" + name + "_" + std::to_string(opset)) + "/" + name + ".onnx";
    auto run = exportModel(name, out, opset);
    EXPECT_EQ(run.exitCode, 0) << run.out << run.err;
    if (run.exitCode != 0) return {};
    std::smatch counts;
    EXPECT_TRUE(std::regex_search(run.out, counts, std::regex(R"((\d+) nodes, (\d+) stamped \(100%\))"))) << run.out;
    std::cout << name << " opset " << opset << ": " << run.out;
    auto check = pythonOnnxCheck(out);
    EXPECT_EQ(check.exitCode, 0) << check.output;
    const onnx::ModelProto model = loadModel(out);
    expectEveryNodeStamped(model, name);
    std::multiset<std::string> ops;
    for (const auto& node : model.graph().node()) ops.insert(node.op_type());
    const double step = entry(name).at("step").get<double>();
    std::vector<std::string> ioDirs;
    for (int k = 0; k < entry(name).at("sets").get<int>(); ++k)
      ioDirs.push_back(dir_ + "/" + name + "/io_" + std::to_string(k));
    // One step, plus float rounding of the step itself; float outputs (dynamic
    // quantization): relative 1e-4. Every set in one onnxruntime session.
    const auto verdicts = step > 0 ? ortCheckSets(out, ioDirs, step * (1 + 1e-5), OrtMetric::kAbsolute)
                                   : ortCheckSets(out, ioDirs, 1e-4);
    for (size_t k = 0; k < verdicts.size(); ++k) {
      EXPECT_EQ(verdicts[k].exitCode, 0) << name << " on input set " << k << " (step " << step << "): "
                                         << verdicts[k].output;
      std::cout << name << " set " << k << " (step " << step << "): " << verdicts[k].output;
    }
    return ops;
  }

  bool callsOp(const std::string& name, const std::string& op) {
    for (const auto& o : entry(name).at("ops"))
      if (o.get<std::string>() == op) return true;
    return false;
  }
};

// quantize_per_tensor, quantized::conv2d (1x1, depthwise groups, strided), conv2d_relu
// (fused conv-bn-relu), add (inverted residuals), mul (squeeze-excite), cat, hardswish,
// add_relu, linear, dequantize; float ops on quantized tensors between them:
// adaptive_avg_pool2d, relu, hardsigmoid, max_pool2d, flatten.
TEST_F(QuantizedModels, EagerMobileNetLike) {
  ASSERT_TRUE(ok_) << log_;
  for (const char* op : {"aten::quantize_per_tensor", "aten::dequantize", "quantized::conv2d", "quantized::conv2d_relu",
                         "quantized::add", "quantized::add_relu", "quantized::mul", "quantized::cat",
                         "quantized::hardswish", "quantized::linear"})
    EXPECT_TRUE(callsOp("q_eager_mobilenet", op)) << op;
  auto ops = expectWithinOneStep("q_eager_mobilenet");
  // Convolutions on the int8 levels, requantized as fbgemm does.
  EXPECT_GE(ops.count("ConvInteger"), 16u);
  EXPECT_EQ(ops.count("MatMulInteger"), 1u);
  EXPECT_GT(ops.count("QuantizeLinear"), 20u);
}

// torchvision.models.quantization.resnet18's structure (eager mode, x86 qconfig, per-channel
// weights): fused conv-bn-relu and conv-bn, FloatFunctional.add_relu on every residual,
// max pooling and adaptive average pooling on quantized tensors, flatten, fc. Twenty
// convolutions deep, a level moved by one near a rounding tie in one of them grows into
// several output steps; convolutions and Linear are computed as fbgemm does (ConvInteger /
// MatMulInteger on the levels, its float requantization), so the outputs agree exactly.
TEST_F(QuantizedModels, ResNet18) {
  ASSERT_TRUE(ok_) << log_;
  for (const char* op : {"quantized::conv2d", "quantized::conv2d_relu", "quantized::add_relu", "quantized::linear"})
    EXPECT_TRUE(callsOp("q_resnet18", op)) << op;
  for (int opset : {14, 11}) {
    auto ops = expectWithinOneStep("q_resnet18", opset);
    EXPECT_EQ(ops.count("ConvInteger"), 20u);
    EXPECT_EQ(ops.count("MatMulInteger"), 1u);
    EXPECT_EQ(ops.count("Conv"), 0u);
  }
}

// Opset 11: no per-channel DequantizeLinear (axis is opset 13's), so per-channel weights
// are written dequantized; activations stay QDQ. No HardSwish before 14.
TEST_F(QuantizedModels, EagerMobileNetLikeAtOpset11) {
  auto ops = expectWithinOneStep("q_eager_mobilenet", 11);
  EXPECT_EQ(ops.count("HardSwish"), 0u);
  EXPECT_GT(ops.count("QuantizeLinear"), 20u);
}

// FX: quantize_per_tensor.tensor_qparams (scale and zero point as buffers),
// quantized::conv2d_relu, conv2d, linear_relu, linear, add, relu and max pooling on a
// quantized tensor, dequantize.
TEST_F(QuantizedModels, FxSmallCnn) {
  ASSERT_TRUE(ok_) << log_;
  for (const char* op : {"quantized::conv2d_relu", "quantized::linear_relu", "quantized::add"})
    EXPECT_TRUE(callsOp("q_fx_cnn", op)) << op;
  auto ops = expectWithinOneStep("q_fx_cnn");
  EXPECT_EQ(ops.count("ConvInteger"), 2u);
  EXPECT_EQ(ops.count("MatMulInteger"), 2u);
}

// FX: a transformer-ish stack: quantized::linear, float gelu between dequantize and
// quantize, quantized::add, quantized::layer_norm.
TEST_F(QuantizedModels, FxLinearStack) {
  ASSERT_TRUE(ok_) << log_;
  EXPECT_TRUE(callsOp("q_fx_linear_stack", "quantized::layer_norm"));
  auto ops = expectWithinOneStep("q_fx_linear_stack");
  EXPECT_EQ(ops.count("MatMulInteger"), 5u);
}

// quantize_dynamic: quantized::linear_dynamic quantizes its input at run time; the
// export computes the same scale and zero point from the input's range in the graph and
// multiplies the integer levels (MatMulInteger).
TEST_F(QuantizedModels, DynamicLinearStack) {
  ASSERT_TRUE(ok_) << log_;
  EXPECT_TRUE(callsOp("q_dynamic_linear_stack", "quantized::linear_dynamic"));
  auto ops = expectWithinOneStep("q_dynamic_linear_stack");
  EXPECT_EQ(ops.count("MatMulInteger"), 5u);
  EXPECT_EQ(ops.count("ReduceMin"), 5u);
}

TEST_F(QuantizedModels, DynamicLstmLoadsButIsRefused) {
  ASSERT_TRUE(ok_) << log_;
  EXPECT_TRUE(callsOp("q_dynamic_lstm", "aten::quantized_lstm"));
  const std::string out = freshWorkDir("e2e/quantized/q_dynamic_lstm") + "/q_dynamic_lstm.onnx";
  auto run = exportModel("q_dynamic_lstm", out, 14);
  EXPECT_EQ(run.exitCode, 1) << run.out << run.err;
  for (const char* text : {"aten::quantized_lstm", "/LstmTagger/LSTM", "quantize only nn.Linear"})
    EXPECT_NE(run.err.find(text), std::string::npos) << run.err << "\nshould say " << text;
  EXPECT_EQ(run.err.find("cannot load"), std::string::npos) << run.err;
  // The list of packed cell parameters is no second cause.
  EXPECT_EQ(run.err.find("prim::ListConstruct"), std::string::npos) << run.err;
}

// Issue 23 item 7: torchvision's quantizable MobileNetV2 quantized with torch 1.13
// (Debian's: weights packed by its onednn engine, "fbgemm" qconfig) and traced, the
// q_mobilenet_v2 fixture (tools/fixture_models.py). Python's torch 2.13 loaded it; the
// binary's load failed in quantized::conv2d_prepack ("value cannot be converted to type int
// without overflow") where LibTorch prepacks for onednn (the x86 engine on a CPU with
// VNNI): the onednn weight reorder of one conv, allocated while the load ran, was lent
// the mapped bytes of a record not read yet (the zero points of a later conv) and wrote
// over them. Records are now copied from a read-only view of the file.
std::string quantizedFixture() { return fixturePath("q_mobilenet_v2"); }

// The same load as Python's under onednn, the engine that reorders weights while loading
// (the x86 engine's choice where VNNI is there; set here so that any CPU takes that path).
TEST(QuantizedTorch113, MappedLoadUnderOnednnIsPythonsLoad) {
  const auto& engines = at::globalContext().supportedQEngines();
  if (std::find(engines.begin(), engines.end(), at::kONEDNN) == engines.end()) GTEST_SKIP() << "no onednn engine";
  const at::QEngine before = at::globalContext().qEngine();
  at::globalContext().setQEngine(at::kONEDNN);
  torch::jit::Module reference = torch::jit::load(quantizedFixture());
  MappedArchive archive(quantizedFixture());
  torch::jit::Module mine = archive.load();
  torch::manual_seed(3);
  const at::Tensor x = torch::randn({1, 3, 224, 224});
  const at::Tensor theirs = reference.forward({x}).toTensor(), ours = mine.forward({x}).toTensor();
  at::globalContext().setQEngine(before);
  EXPECT_GT(archive.stats().mappedBytes, 1u << 20);
  EXPECT_TRUE(torch::equal(ours, theirs)) << (ours - theirs).abs().max();
  EXPECT_GT(theirs.abs().max().item<double>(), 0.1);  // not a network that outputs zeros
}

// Exported, checked, every node stamped, and onnxruntime within one output step (the
// classifier's scale) of LibTorch's run of the file.
TEST(QuantizedTorch113, MobileNetV2ExportsWithinOneStep) {
  const std::string dir = freshWorkDir("e2e/quantized/q_mobilenet_v2");
  const std::string out = dir + "/q_mobilenet_v2.onnx";
  auto run = runModelexportSplit("export " + shellQuote(quantizedFixture()) + " " + shellQuote(out) +
                                 cliArgs("q_mobilenet_v2") + " --dump-io " + shellQuote(dir + "/io"));
  ASSERT_EQ(run.exitCode, 0) << run.out << run.err;
  std::cout << run.out;
  EXPECT_TRUE(std::regex_search(run.out, std::regex(R"((\d+) nodes, \1 stamped \(100%\))"))) << run.out;
  auto check = pythonOnnxCheck(out);
  EXPECT_EQ(check.exitCode, 0) << check.output;
  const onnx::ModelProto model = loadModel(out);
  expectEveryNodeStamped(model, "q_mobilenet_v2");
  std::multiset<std::string> ops;
  for (const auto& node : model.graph().node()) ops.insert(node.op_type());
  EXPECT_EQ(ops.count("ConvInteger"), 52u);
  EXPECT_EQ(ops.count("MatMulInteger"), 1u);
  // The output step: the scale of the last DequantizeLinear (the classifier's).
  const auto& last = model.graph().node(model.graph().node_size() - 1);
  ASSERT_EQ(last.op_type(), "DequantizeLinear");
  double step = 0;
  for (const auto& init : model.graph().initializer())
    if (init.name() == last.input(1))
      step = init.float_data_size() ? init.float_data(0) : *reinterpret_cast<const float*>(init.raw_data().data());
  ASSERT_GT(step, 0);
  const auto r = ortCheckSets(out, {dir + "/io"}, step * (1 + 1e-5), OrtMetric::kAbsolute).front();
  EXPECT_EQ(r.exitCode, 0) << "step " << step << ": " << r.output;
  std::cout << "q_mobilenet_v2 (step " << step << "): " << r.output;
}

// A file that still cannot load, in Python either (its first conv's zero points set to
// 2**40: tests/tools/damage_quantized_zero_points.py): the one line says the operator,
// where, and LibTorch's own message, not the interpreter's generic first line.
TEST(QuantizedTorch113, AFileThatCannotLoadSaysTheFailingOperatorAndItsMessage) {
  const std::string dir = freshWorkDir("e2e/quantized/q_mobilenet_v2_damaged");
  const std::string damaged = dir + "/damaged.pt";
  auto made = runPython("tests/tools/damage_quantized_zero_points.py", shellQuote(quantizedFixture()) + " " + shellQuote(damaged));
  ASSERT_EQ(made.exitCode, 0) << made.out << made.err;
  auto run = runModelexportSplit("export " + shellQuote(damaged) + " " + shellQuote(dir + "/damaged.onnx") +
                                 cliArgs("q_mobilenet_v2"));
  EXPECT_EQ(run.exitCode, 1) << run.out << run.err;
  std::string line;
  for (std::istringstream in(run.err); std::getline(in, line);)
    if (line.rfind("modelexport: error:", 0) == 0) break;
  EXPECT_NE(line.find("cannot load: quantized::conv2d_prepack failed while restoring a module's state (__setstate__): "
                      "value cannot be converted to type int without overflow"),
            std::string::npos)
      << run.err;
  EXPECT_EQ(run.err.find("The following operation failed"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace modelexport::e2e

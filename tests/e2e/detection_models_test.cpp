// End-to-end: models calling torchvision.ops, traced with torch 1.13 + torchvision 0.14
// (tests/tools/make_detection_models.py), against torchvision's own results on four
// input sets that keep different numbers of boxes. The binary loads them without
// Python, our kernels in LibTorch match torchvision, and the export (checker-valid, every
// node stamped) matches torchvision in onnxruntime on every set; ops with no ONNX form
// fail with the op, its module and the reason.
#include <fstream>

#include <gtest/gtest.h>
#include <torch/script.h>

#include "e2e_support.h"
#include "modelexport/reference_io.h"
#include "modelexport/torchvision_ops.h"
#include "script_made_models.h"

namespace modelexport::e2e {
namespace {

using testing::ortCheckSets;

struct IoSet {
  std::vector<c10::IValue> inputs;
  std::vector<at::Tensor> outputs;
};

at::Tensor readTensor(const std::string& dir, const nlohmann::json& entry) {
  const std::string dtype = entry.at("dtype").get<std::string>();
  const at::ScalarType type = dtype == "float32" ? at::kFloat : dtype == "int64" ? at::kLong : at::kInt;
  std::vector<int64_t> shape = entry.at("shape").get<std::vector<int64_t>>();
  at::Tensor t = at::empty(shape, type);
  std::ifstream in(dir + "/" + entry.at("file").get<std::string>(), std::ios::binary);
  in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
  return t;
}

IoSet readIo(const std::string& dir) {
  const nlohmann::json io = readJson(dir + "/io.json");
  IoSet set;
  for (const auto& e : io.at("inputs")) set.inputs.emplace_back(readTensor(dir, e));
  for (const auto& e : io.at("outputs")) set.outputs.push_back(readTensor(dir, e));
  return set;
}

class DetectionModels : public ScriptMadeModels<DetectionModels> {
 public:
  static MadeModels makeModels() {
    return runKeptModelScripts("detection_models",
                               {{MODELEXPORT_PYTHON, "tests/tools/make_detection_models.py"}});
  }
  // torchvision's operators, for the models this process loads itself (expectKernelsMatchTorchvision).
  static void SetUpTestSuite() {
    ScriptMadeModels::SetUpTestSuite();
    ensureTorchvisionOperators();
  }

 protected:
  // Our kernels in LibTorch against torchvision, on every input set.
  void expectKernelsMatchTorchvision(const std::string& name) {
    torch::jit::Module module = torch::jit::load(dir_ + "/" + name + ".pt");
    torch::NoGradGuard noGrad;
    for (int k = 0; k < entry(name).at("sets").get<int>(); ++k) {
      IoSet set = readIo(dir_ + "/" + name + "/io_" + std::to_string(k));
      std::vector<at::Tensor> ours = flattenOutputs(module.forward(set.inputs));
      ASSERT_EQ(ours.size(), set.outputs.size()) << name;
      for (size_t i = 0; i < ours.size(); ++i) {
        ASSERT_EQ(ours[i].sizes(), set.outputs[i].sizes()) << name << " set " << k << " output " << i;
        EXPECT_TRUE(at::allclose(ours[i].to(at::kDouble), set.outputs[i].to(at::kDouble), 1e-5, 1e-5))
            << name << " set " << k << " output " << i << ": max difference "
            << (ours[i].to(at::kDouble) - set.outputs[i].to(at::kDouble)).abs().max().item<double>();
      }
    }
  }

  CommandResult exportModel(const std::string& name, const std::string& out) {
    return exportWithInputSpec(name, out, "--opset-version " + std::to_string(entry(name).at("opset").get<int>()));
  }

  void expectExportsAndMatches(const std::string& name) {
    ASSERT_TRUE(ok_) << log_;
    expectKernelsMatchTorchvision(name);
    const std::string out = freshWorkDir("e2e/detection/out/" + name) + "/" + name + ".onnx";
    auto run = exportModel(name, out);
    ASSERT_EQ(run.exitCode, 0) << run.out << run.err;
    auto check = pythonOnnxCheck(out);
    EXPECT_EQ(check.exitCode, 0) << check.output;
    const onnx::ModelProto model = loadModel(out);
    expectEveryNodeStamped(model, name);
    std::vector<std::string> ioDirs;
    for (int k = 0; k < entry(name).at("sets").get<int>(); ++k)
      ioDirs.push_back(dir_ + "/" + name + "/io_" + std::to_string(k));
    const auto ort = ortCheckSets(out, ioDirs, 1e-4);  // one onnxruntime session for every set
    for (size_t k = 0; k < ort.size(); ++k)
      EXPECT_EQ(ort[k].exitCode, 0) << name << " on input set " << k << " (kept " << entry(name).at("kept")[k]
                                    << "): " << ort[k].output;
  }

  void expectLoadsRunsAndIsRefused(const std::string& name, const std::vector<std::string>& mentions) {
    ASSERT_TRUE(ok_) << log_;
    expectKernelsMatchTorchvision(name);
    const std::string out = freshWorkDir("e2e/detection/out/" + name) + "/" + name + ".onnx";
    auto run = exportModel(name, out);
    EXPECT_EQ(run.exitCode, 1) << run.out << run.err;
    for (const auto& text : mentions) EXPECT_NE(run.err.find(text), std::string::npos) << run.err << "\nshould say " << text;
    EXPECT_EQ(run.err.find("cannot load"), std::string::npos) << run.err;
  }
};

TEST_F(DetectionModels, Nms) { expectExportsAndMatches("tv_nms"); }
TEST_F(DetectionModels, BatchedNms) { expectExportsAndMatches("tv_batched_nms"); }
TEST_F(DetectionModels, TinyDetectorHead) { expectExportsAndMatches("tv_tiny_detector"); }
TEST_F(DetectionModels, RoiAlign) { expectExportsAndMatches("tv_roi_align"); }
TEST_F(DetectionModels, RoiAlignWithBoxLists) { expectExportsAndMatches("tv_roi_align_list"); }
TEST_F(DetectionModels, RoiPool) { expectExportsAndMatches("tv_roi_pool"); }
TEST_F(DetectionModels, PsRoiAlign) { expectExportsAndMatches("tv_ps_roi_align"); }

TEST_F(DetectionModels, PsRoiPoolRunsButHasNoOnnxForm) {
  expectLoadsRunsAndIsRefused("tv_ps_roi_pool", {"torchvision::ps_roi_pool", "/RoiHead/Named", "ONNX has no average RoI pooling"});
}

TEST_F(DetectionModels, DeformConv2dRunsButNeedsOpset19) {
  expectLoadsRunsAndIsRefused("tv_deform_conv2d", {"torchvision::deform_conv2d", "/DeformHead/DeformConv2d", "opset 19"});
}

}  // namespace
}  // namespace modelexport::e2e

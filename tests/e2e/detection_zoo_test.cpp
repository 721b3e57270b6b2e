// End-to-end: torchvision's detection models as users build them (SSDlite, Faster R-CNN,
// RetinaNet, FCOS, Mask R-CNN, Keypoint R-CNN from torchvision 0.14's builders, random
// weights), traced with torch 1.13 as torchvision's own ONNX tests trace them
// (tests/tools/make_detection_zoo.py, cached in the build tree). Each export is
// valid under onnx's full check (strict shape inference, also inside Mask and Keypoint
// R-CNN's per-box Loop), every node is stamped, and onnxruntime gives
// torchvision's detections on four input sets that keep four different numbers of them
// (issue 23 item 6).
#include <iostream>
#include <regex>

#include <gtest/gtest.h>

#include "e2e_support.h"
#include "script_made_models.h"

namespace modelexport::e2e {
namespace {

using testing::ortCheckSets;

class DetectionZoo : public ScriptMadeModels<DetectionZoo, ::testing::TestWithParam<std::string>> {
 public:
  static MadeModels makeModels() {
    return runModelScripts(buildTreeModelDir("detection_zoo"), {{MODELEXPORT_PYTHON, "tests/tools/make_detection_zoo.py"}});
  }
};

TEST_P(DetectionZoo, ExportsAndMatchesTorchvisionOnInputsKeepingOtherCounts) {
  ASSERT_TRUE(ok_) << log_;
  const std::string name = GetParam();
  const nlohmann::json& entry = manifest_.at(name);
  const std::string out = freshWorkDir("e2e/detection_zoo/" + name) + "/" + name + ".onnx";
  auto run = exportWithInputSpec(name, out, "--opset-version " + std::to_string(entry.at("opset").get<int>()));
  ASSERT_EQ(run.exitCode, 0) << run.out << run.err;
  std::smatch counts;
  ASSERT_TRUE(std::regex_search(run.out, counts, std::regex(R"((\d+) nodes, (\d+) stamped \(100%\))"))) << run.out;
  EXPECT_EQ(counts[1], counts[2]) << run.out;
  std::cout << name << ": " << run.out;
  // full_check=True: for Mask and Keypoint R-CNN this covers the Resize inside the Loop
  // that pastes masks / decodes heatmaps per box, whose run-time `sizes` shape inference
  // must be able to count (it read 0 elements while the Slice bounds and Unsqueeze axes
  // were outer-scope initializers).
  auto check = pythonOnnxCheck(out);
  EXPECT_EQ(check.exitCode, 0) << check.output;
  const auto& kept = entry.at("kept");
  ASSERT_GE(kept.size(), 3u);
  std::vector<std::string> ioDirs;
  for (size_t k = 0; k < kept.size(); ++k) {
    for (size_t j = 0; j < k; ++j) EXPECT_NE(kept[k], kept[j]) << name << ": sets " << j << " and " << k;
    ioDirs.push_back(dir_ + "/" + name + "/io_" + std::to_string(k));
  }
  // One onnxruntime session for the four sets: loading the model costs more than a run.
  const auto ort = ortCheckSets(out, ioDirs, 1e-4);
  for (size_t k = 0; k < kept.size(); ++k)
    EXPECT_EQ(ort[k].exitCode, 0) << name << " on input set " << k << " (kept " << kept[k] << "): " << ort[k].output;
}

INSTANTIATE_TEST_SUITE_P(Torchvision014, DetectionZoo,
                         ::testing::Values("ssdlite320_mobilenet_v3_large", "fasterrcnn_mobilenet_v3_large_320_fpn",
                                           "retinanet_resnet50_fpn", "fcos_resnet50_fpn", "maskrcnn_resnet50_fpn",
                                           "keypointrcnn_resnet50_fpn"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace modelexport::e2e

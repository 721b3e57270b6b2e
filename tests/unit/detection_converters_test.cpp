// torchvision's detection operators: our kernels (torchvision_ops.h) and their
// converters. Each export runs in onnxruntime against LibTorch on the export's inputs
// and on other inputs, which keep another number of boxes: the kept count stays a
// run-time size in the file.
#include <fstream>

#include <gtest/gtest.h>
#include <torch/script.h>

#include "modelexport/reference_io.h"
#include "modelexport/torchvision_ops.h"
#include "test_support.h"

namespace modelexport::testing {
namespace {

class DetectionConverters : public ::testing::Test {
 protected:
  // Module::define resolves torchvision.* only once they are registered.
  static void SetUpTestSuite() { ensureTorchvisionOperators(); }
};

// Boxes (x1, y1, x2, y2) inside a 16 x 16 map and scores, from a [N, 5] input.
const char* kBoxesFromInput =
    "  xy = torch.sigmoid(x[:, 0:2]) * 12.0\n"
    "  wh = torch.sigmoid(x[:, 2:4]) * 6.0 + 0.5\n"
    "  boxes = torch.cat([xy, xy + wh], 1)\n"
    "  scores = torch.sigmoid(x[:, 4])\n";

// Runs the exported test model (expectOpMatches' files) on inputs scaled by each of
// `scales` in LibTorch and onnxruntime; returns the first output's dim 0 per run.
std::vector<int64_t> expectMatchesOnOtherInputs(const std::string& testName, const std::vector<InputSpec>& inputs,
                                                const std::vector<double>& scales, double tolerance = 1e-4) {
  const std::string dir = std::string(MODELEXPORT_TEST_WORK_DIR) + "/ops/" + testName;
  torch::jit::Module module = torch::jit::load(dir + "/model.pt");
  std::vector<std::string> inputNames, outputNames;
  const onnx::ModelProto model = [&] {
    onnx::ModelProto m;
    std::ifstream in(dir + "/model.onnx", std::ios::binary);
    m.ParseFromIstream(&in);
    return m;
  }();
  for (const auto& in : model.graph().input()) inputNames.push_back(in.name());
  for (const auto& out : model.graph().output()) outputNames.push_back(out.name());
  std::vector<int64_t> counts;
  for (size_t k = 0; k < scales.size(); ++k) {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(1000 + k);
    std::vector<c10::IValue> values;
    for (const auto& spec : inputs) values.emplace_back(at::randn(spec.shape, generator) * scales[k]);
    torch::NoGradGuard noGrad;
    std::vector<at::Tensor> outputs = flattenOutputs(module.forward(values));
    counts.push_back(outputs.at(0).size(0));
    const std::string ioDir = dir + "/io_other_" + std::to_string(k);
    writeReferenceIo(ioDir, inputNames, values, outputNames, outputs);
    ProcessResult ort = ortCheck(dir + "/model.onnx", ioDir, tolerance);
    EXPECT_EQ(ort.exitCode, 0) << testName << " on other inputs (scale " << scales[k] << "): " << ort.output;
  }
  return counts;
}

bool allEqual(const std::vector<int64_t>& xs) {
  for (int64_t x : xs)
    if (x != xs.front()) return false;
  return true;
}

TEST_F(DetectionConverters, NmsKernelKeepsByDecreasingScore) {
  // Box 1 overlaps box 0 by IoU 0.81 and goes; box 2 is apart; box 3 overlaps box 2 by 1/3.
  at::Tensor boxes = torch::tensor({{0.0, 0.0, 10.0, 10.0}, {1.0, 1.0, 10.0, 10.0}, {20.0, 20.0, 30.0, 30.0},
                                    {25.0, 20.0, 35.0, 30.0}});
  at::Tensor scores = torch::tensor({0.5, 0.9, 0.3, 0.8});
  EXPECT_TRUE(at::equal(torchvisionNms(boxes, scores, 0.5), torch::tensor({1, 3, 2}, at::kLong)));
  EXPECT_TRUE(at::equal(torchvisionNms(boxes, scores, 0.3), torch::tensor({1, 3}, at::kLong)));
  EXPECT_EQ(torchvisionNms(boxes.narrow(0, 0, 0), scores.narrow(0, 0, 0), 0.5).numel(), 0);
}

TEST_F(DetectionConverters, NmsKeepsADataDependentNumberOfBoxes) {
  const std::string source = std::string("def forward(self, x):\n") + kBoxesFromInput +
                             "  keep = torchvision.nms(boxes, scores, 0.45)\n"
                             "  return keep, boxes[keep], scores[keep]\n";
  for (int opset : {11, 17}) {
    const std::string name = "tv_nms_" + std::to_string(opset);
    auto model = expectOpMatches(name, source, {floatInput({40, 5})}, opts(opset, 1e-5, {"NonMaxSuppression"}));
    auto counts = expectMatchesOnOtherInputs(name, {floatInput({40, 5})}, {1.0, 3.0, 0.3});
    EXPECT_FALSE(allEqual(counts)) << "every input set kept " << counts.front() << " boxes";
    // The kept count is a symbolic dim of the outputs, not the example's number.
    ASSERT_GT(model.graph().output_size(), 0) << name;
    const auto& dim = model.graph().output(0).type().tensor_type().shape().dim(0);
    EXPECT_TRUE(dim.has_dim_param()) << name << ": output 0 has a fixed size " << dim.dim_value();
  }
}

TEST_F(DetectionConverters, TopKOverTheKeptCount) {
  // k = min(kept, 5) is known only at run time; the slice after it too.
  const std::string source = std::string("def forward(self, x):\n") + kBoxesFromInput +
                             "  keep = torchvision.nms(boxes, scores, 0.3)\n"
                             "  k = min(keep.size(0), 25)\n"
                             "  top, order = torch.topk(scores[keep], k)\n"
                             "  return boxes[keep[order]], top\n";
  expectOpMatches("tv_nms_topk", source, {floatInput({48, 5})}, opts(13, 1e-5, {"NonMaxSuppression", "TopK"}));
  auto counts = expectMatchesOnOtherInputs("tv_nms_topk", {floatInput({48, 5})}, {0.2, 1.0, 4.0});
  EXPECT_FALSE(allEqual(counts)) << "every input set kept " << counts.front() << " boxes";
}

// rois [K, 5] = (image 0 or 1, box) from a [K, 6] input.
const char* kRoisFromInput =
    "  xy = torch.sigmoid(r[:, 0:2]) * 24.0\n"
    "  wh = torch.sigmoid(r[:, 2:4]) * 12.0 + 0.2\n"
    "  rois = torch.cat([(r[:, 5:6] > 0).float(), xy, xy + wh], 1)\n";

TEST_F(DetectionConverters, RoiAlign) {
  const std::string aligned = std::string("def forward(self, f, r):\n") + kRoisFromInput +
                              "  return (torchvision.roi_align(f, rois, 0.5, 3, 3, 2, True),\n"
                              "          torchvision.roi_align(f, rois, 0.25, 2, 4, 0, True))\n";
  expectOpMatches("tv_roi_align_aligned", aligned, {floatInput({2, 3, 16, 16}), floatInput({7, 6})},
                  opts(16, 1e-5, {"RoiAlign"}));
  expectMatchesOnOtherInputs("tv_roi_align_aligned", {floatInput({2, 3, 16, 16}), floatInput({7, 6})}, {2.0, 0.5});
  const std::string legacy = std::string("def forward(self, f, r):\n") + kRoisFromInput +
                             "  return torchvision.roi_align(f, rois, 0.5, 2, 3, -1, False)\n";
  for (int opset : {11, 16})
    expectOpMatches("tv_roi_align_" + std::to_string(opset), legacy, {floatInput({2, 4, 16, 16}), floatInput({5, 6})},
                    opts(opset, 1e-5, {"RoiAlign"}));
}

TEST_F(DetectionConverters, RoiAlignAlignedNeedsOpset16) {
  const std::string error =
      exportError("tv_roi_align_opset15",
                  std::string("def forward(self, f, r):\n") + kRoisFromInput +
                      "  return torchvision.roi_align(f, rois, 0.5, 3, 3, 2, True)\n",
                  {floatInput({2, 3, 16, 16}), floatInput({7, 6})}, 15);
  EXPECT_NE(error.find("torchvision::roi_align"), std::string::npos) << error;
  EXPECT_NE(error.find("opset 16"), std::string::npos) << error;
}

TEST_F(DetectionConverters, RoiPool) {
  const std::string source = std::string("def forward(self, f, r):\n") + kRoisFromInput +
                             "  out, argmax = torchvision.roi_pool(f, rois, 0.5, 3, 2)\n"
                             "  return out\n";
  expectOpMatches("tv_roi_pool", source, {floatInput({2, 3, 16, 16}), floatInput({6, 6})},
                  opts(11, 1e-6, {"MaxRoiPool"}));
  expectMatchesOnOtherInputs("tv_roi_pool", {floatInput({2, 3, 16, 16}), floatInput({6, 6})}, {2.0, 0.5});
}

TEST_F(DetectionConverters, PsRoiAlign) {
  const std::string source = std::string("def forward(self, f, r):\n") + kRoisFromInput +
                             "  out, mapping = torchvision.ps_roi_align(f, rois, 0.5, 2, 3, 2)\n"
                             "  return out\n";
  expectOpMatches("tv_ps_roi_align", source, {floatInput({2, 12, 16, 16}), floatInput({6, 6})},
                  opts(16, 1e-5, {"RoiAlign", "Gather"}));
  expectMatchesOnOtherInputs("tv_ps_roi_align", {floatInput({2, 12, 16, 16}), floatInput({6, 6})}, {2.0, 0.5});
}

TEST_F(DetectionConverters, PsRoiPoolHasNoOnnxForm) {
  const std::string error = exportError("tv_ps_roi_pool",
                                        std::string("def forward(self, f, r):\n") + kRoisFromInput +
                                            "  out, mapping = torchvision.ps_roi_pool(f, rois, 0.5, 2, 2)\n"
                                            "  return out\n",
                                        {floatInput({2, 8, 16, 16}), floatInput({6, 6})}, 16);
  EXPECT_NE(error.find("torchvision::ps_roi_pool"), std::string::npos) << error;
  EXPECT_NE(error.find("ONNX has no average RoI pooling"), std::string::npos) << error;
}

TEST_F(DetectionConverters, DeformConvKernelWithoutOffsetsIsAConvolution) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(7);
  at::Tensor x = at::randn({2, 4, 9, 8}, generator), w = at::randn({6, 2, 3, 3}, generator);
  at::Tensor bias = at::randn({6}, generator);
  at::Tensor offset = at::zeros({2, 2 * 2 * 9, 5, 4});
  at::Tensor mask = at::ones({2, 2 * 9, 5, 4});
  at::Tensor ours = torchvisionDeformConv2d(x, w, offset, mask, bias, 2, 2, 1, 1, 1, 1, 2, 2, true);
  at::Tensor conv = at::conv2d(x, w, bias, at::IntArrayRef{2, 2}, at::IntArrayRef{1, 1}, at::IntArrayRef{1, 1}, 2);
  EXPECT_TRUE(at::allclose(ours, conv, 1e-5, 1e-5)) << (ours - conv).abs().max();
  // dy = 1 at every tap reads one row lower: with padding 1, output row y reads input rows
  // y .. y + 2, i.e. a convolution without padding over the input with two zero rows
  // below it and a zero column on each side.
  at::Tensor down = at::zeros({2, 2 * 2 * 9, 9, 8});
  for (int64_t c = 0; c < 2 * 2 * 9; c += 2) down.select(1, c).fill_(1.0);
  at::Tensor padded = at::constant_pad_nd(x, {1, 1, 0, 2});
  at::Tensor shifted = torchvisionDeformConv2d(x, w, down, mask, bias, 1, 1, 1, 1, 1, 1, 2, 2, false);
  at::Tensor expected = at::conv2d(padded, w, bias, at::IntArrayRef{1, 1}, at::IntArrayRef{0, 0}, at::IntArrayRef{1, 1}, 2);
  EXPECT_TRUE(at::allclose(shifted, expected, 1e-5, 1e-5)) << (shifted - expected).abs().max();
}

TEST_F(DetectionConverters, DeformConvNamesTheOpsetItNeeds) {
  const std::string error =
      exportError("tv_deform_conv2d",
                  "def forward(self, x, w, o, m, b):\n"
                  "  return torchvision.deform_conv2d(x, w, o, m, b, 1, 1, 1, 1, 1, 1, 1, 1, True)\n",
                  {floatInput({1, 2, 6, 6}), floatInput({3, 2, 3, 3}), floatInput({1, 18, 6, 6}),
                   floatInput({1, 9, 6, 6}), floatInput({3})},
                  17);
  EXPECT_NE(error.find("torchvision::deform_conv2d"), std::string::npos) << error;
  EXPECT_NE(error.find("opset 19 (DeformConv)"), std::string::npos) << error;
}

// The post-processing of torchvision's detectors (SSD, RetinaNet, FCOS, R-CNN), op by op,
// each on inputs keeping other counts than the export's.

// SSD: score[score > t] (aten::index with a mask computed from data), topk of
// min(60, count) (60 in both runs when both keep more: what follows the count stays
// computed), full_like of the kept scores, and where(mask) (a list of positions).
TEST_F(DetectionConverters, MaskIndexOfADataDependentCount) {
  const std::string source =
      "def forward(self, x):\n"
      "  s = torch.sigmoid(x[:, 4])\n"
      "  keep = s > 0.5\n"
      "  score = s[keep]\n"
      "  box = x[keep]\n"
      "  k = min(score.size(0), 6)\n"
      "  top, order = score.topk(k)\n"
      "  labels = torch.full_like(top, 2, dtype=4)\n"  // 4: torch.int64
      "  return box, box[order], top, labels, torch.where(keep)[0], x[:, 0:2][x[:, 0:2] > 1.0]\n";
  expectOpMatches("det_mask_index", source, {floatInput({40, 5})}, opts(11, 1e-6, {"NonZero", "TopK"}));
  auto counts = expectMatchesOnOtherInputs("det_mask_index", {floatInput({40, 5})}, {0.05, 1.0, 3.0});
  EXPECT_FALSE(allEqual(counts)) << "every input set kept " << counts.front() << " boxes";
}

// Faster R-CNN: the RoI pooler merges its levels with scatter(0, index, src), index as
// long as the boxes of a level (where(levels == l)); batched_nms asks boxes.numel() == 0
// (aten::numel in an if that follows the data); the boxes of one image are split by
// their own count; the RPN's offset += n after top_n_idx + offset.
TEST_F(DetectionConverters, ScatterNumelAndSplitOfADataDependentCount) {
  const std::string source =
      "def forward(self, x):\n"
      "  s = torch.sigmoid(x[:, 4] - 1.0)\n"
      "  idx = torch.where(s > 0.5)[0]\n"
      "  vals = x[idx] * 2.0\n"
      "  index = idx.view(-1, 1).expand(idx.size(0), 5)\n"
      "  merged = torch.zeros([x.size(0), 5]).scatter(0, index, vals)\n"
      "  if vals.numel() == 0:\n"
      "    total = torch.zeros([5])\n"
      "  else:\n"
      "    total = vals.sum(0)\n"
      "  parts = vals.split([vals.size(0)], 0)\n"
      "  offset = torch.tensor(x.size(1)) + 0\n"
      "  shifted = idx + offset\n"
      "  offset += 100\n"
      "  head = x[0:torch.sum(s > 0.5)]\n"  // a tensor as a slice bound: aten::IntImplicit
      "  return vals, merged, total, parts[0] + 1.0, shifted, idx + offset, head\n";
  expectOpMatches("det_scatter_numel", source, {floatInput({30, 5})}, opts(11, 1e-6, {"ScatterElements", "Size", "If"}));
  auto counts = expectMatchesOnOtherInputs("det_scatter_numel", {floatInput({30, 5})}, {0.05, 1.0, 3.0});
  EXPECT_FALSE(allEqual(counts)) << "every input set kept " << counts.front() << " boxes";
}

// index_put with indices known only at run time (issue 23 item 2): a mask computed from
// data (x[m] = v), positions from nonzero, and two such index tensors.
TEST_F(DetectionConverters, IndexPutWithDataDependentIndices) {
  const std::string source =
      "def forward(self, x):\n"
      "  y = x.clone()\n"
      "  y[x[:, 0] > 0.0] = -1.0\n"
      "  idx = torch.nonzero(x[:, 1] > 0.5).view(-1)\n"
      "  z = torch.index_put(x, [idx], torch.ones([1, 5]) * 3.0)\n"
      "  w = torch.index_put(x, [idx, torch.remainder(idx, 5)], x[idx, 2])\n"
      "  u = torch.index_put(x, [idx], x[idx] + 1.0, True)\n"
      "  return idx, y, z, w, u\n";
  expectOpMatches("det_index_put", source, {floatInput({30, 5})}, opts(16, 1e-6, {"ScatterND", "NonZero"}));
  auto counts = expectMatchesOnOtherInputs("det_index_put", {floatInput({30, 5})}, {0.05, 1.0, 3.0});
  EXPECT_FALSE(allEqual(counts)) << "every input set kept " << counts.front() << " boxes";
}

}  // namespace
}  // namespace modelexport::testing

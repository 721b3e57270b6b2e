// torchvision's detection operators (torchvision_ops.h): nms as NonMaxSuppression,
// roi_align as RoiAlign, roi_pool as MaxRoiPool, ps_roi_align as a RoiAlign of every
// channel and a gather of each bin's own channel. ps_roi_pool and deform_conv2d load
// and run but have no ONNX form at the opsets written here.
#include "modelexport/convert_context.h"
#include "modelexport/converter_helpers.h"

namespace modelexport {
namespace {

// onnxruntime's RoiAlign and MaxRoiPool run float and double; half runs as float.
at::ScalarType roiWorkType(at::ScalarType type) { return type == at::kDouble ? at::kDouble : at::kFloat; }

// torchvision's nms(boxes [N, 4], scores [N], iou_threshold) -> kept indices [K] by
// decreasing score. ONNX NonMaxSuppression is batched and per class: one batch, one
// class, every box may be kept, and the box column of its [K, 3] (batch, class, box)
// selection is the result. Its corner order is (y1, x1, y2, x2), but IoU does not change
// when x and y swap, so torchvision's (x1, y1, x2, y2) go in as they are.
void nms(ConvertContext& ctx) {
  const std::string boxes = ctx.inputAs(ctx.in("dets"), at::kFloat);
  const std::string batched = unsqueeze(ctx, boxes, {0});
  const std::string scores = unsqueeze(ctx, ctx.inputAs(ctx.in("scores"), at::kFloat), {0, 1});
  const std::string count = ctx.op("Gather", {ctx.op("Shape", {boxes}), ctx.scalar(0, at::kLong)});
  const std::string iou = ctx.isStatic(ctx.in("iou_threshold")) ? ctx.scalar(ctx.toDouble(ctx.in("iou_threshold")), at::kFloat)
                                                  : ctx.inputAs(ctx.in("iou_threshold"), at::kFloat);
  const std::string selected =
      ctx.op("NonMaxSuppression", {batched, scores, count, iou}, {attr::i("center_point_box", 0)});
  ctx.setOutput(ctx.op("Gather", {selected, ctx.scalar(2, at::kLong)}, {attr::i("axis", 1)}), at::kLong);
}

// rois [K, 5] rows (batch index, x1, y1, x2, y2) -> ONNX's boxes [K, 4] and batch_indices [K].
std::pair<std::string, std::string> splitRois(ConvertContext& ctx, at::ScalarType work) {
  const std::string rois = ctx.inputAs(ctx.in("rois"), work);
  const std::string boxes = ctx.op("Slice", {rois, ctx.constInts({1}), ctx.constInts({5}), ctx.constInts({1})});
  // The index is truncated, as torchvision reads it.
  const std::string index =
      ctx.cast(ctx.op("Gather", {rois, ctx.scalar(0, at::kLong)}, {attr::i("axis", 1)}), at::kLong);
  return {boxes, index};
}

// RoiAlign's "half_pixel" (opset 16) is torchvision's aligned=True: half a pixel shifted,
// no minimum region size; "output_half_pixel" (the only mode before 16) is aligned=False.
// `transformationModes`: RoiAlign has coordinate_transformation_mode (opset 16 on).
std::string roiAlignNode(ConvertContext& ctx, at::ScalarType work, bool halfPixel, bool transformationModes) {
  if (halfPixel)
    ctx.requireOpset(16, std::string(ctx.node()->kind().toQualString()) == "torchvision::roi_align"
                             ? "RoiAlign coordinate_transformation_mode half_pixel, for aligned=True"
                             : "RoiAlign coordinate_transformation_mode half_pixel, for sampling on half-pixel centers");
  auto [boxes, index] = splitRois(ctx, work);
  const torch::jit::Value* samplingArg = ctx.in("sampling_ratio");
  std::vector<onnx::AttributeProto> attrs{
      attr::s("mode", "avg"),
      attr::i("output_height", ctx.toInt(ctx.in("pooled_height"))),
      attr::i("output_width", ctx.toInt(ctx.in("pooled_width"))),
      // torchvision's ratio <= 0 and ONNX's 0 both mean ceil(region size / output size) samples.
      attr::i("sampling_ratio", std::max<int64_t>(ctx.toInt(samplingArg), 0)),
      attr::f("spatial_scale", static_cast<float>(ctx.toDouble(ctx.in("spatial_scale"))))};
  if (transformationModes)
    attrs.push_back(attr::s("coordinate_transformation_mode", halfPixel ? "half_pixel" : "output_half_pixel"));
  return ctx.op("RoiAlign", {ctx.inputAs(ctx.in("input"), work), boxes, index}, attrs);
}

void roiAlign(ConvertContext& ctx, bool transformationModes) {
  const at::ScalarType work = roiWorkType(ctx.dtype(ctx.in("input")));
  ctx.setOutput(roiAlignNode(ctx, work, ctx.toBool(ctx.in("aligned")), transformationModes), work);
}

// ONNX MaxRoiPool takes torchvision's [K, 5] rois as they are and pools the same way
// (rounded region, bins from floor/ceil). The argmax output serves only the backward pass.
void roiPool(ConvertContext& ctx) {
  if (!ctx.out(1)->uses().empty()) ctx.unsupported("use of roi_pool's argmax output (ONNX MaxRoiPool has none)");
  const at::ScalarType work = roiWorkType(ctx.dtype(ctx.in("input")));
  const std::string out = ctx.op("MaxRoiPool", {ctx.inputAs(ctx.in("input"), work), ctx.inputAs(ctx.in("rois"), work)},
                                 {attr::ints("pooled_shape", {ctx.toInt(ctx.in("pooled_height")),
                                                              ctx.toInt(ctx.in("pooled_width"))}),
                                  attr::f("spatial_scale", static_cast<float>(ctx.toDouble(ctx.in("spatial_scale"))))});
  ctx.setOutput(out, work, 0);
}

// Position-sensitive RoIAlign: output channel c's bin (i, j) reads input channel
// (c * ph + i) * pw + j. A RoiAlign of every channel gives [K, c * bins + b, bin]; as
// [K, C_out, bins * bins] each bin b's own channel is element b * bins + b.
void psRoiAlign(ConvertContext& ctx, bool transformationModes) {
  if (!ctx.out(1)->uses().empty()) ctx.unsupported("use of ps_roi_align's channel mapping output");
  const at::ScalarType work = roiWorkType(ctx.dtype(ctx.in("input")));
  const int64_t ph = ctx.toInt(ctx.in("pooled_height")), pw = ctx.toInt(ctx.in("pooled_width"));
  const int64_t bins = ph * pw, channels = ctx.dim(ctx.in("input"), 1);
  if (bins <= 0 || channels % bins != 0)
    ctx.unsupported("input channels not a multiple of pooled_height * pooled_width");
  const std::string all = roiAlignNode(ctx, work, true, transformationModes);
  const std::string flat = ctx.op("Reshape", {all, ctx.constInts({0, channels / bins, bins * bins})});
  std::vector<int64_t> own;
  for (int64_t b = 0; b < bins; ++b) own.push_back(b * bins + b);
  const std::string picked = ctx.op("Gather", {flat, ctx.constInts(own)}, {attr::i("axis", 2)});
  ctx.setOutput(ctx.op("Reshape", {picked, ctx.constInts({0, channels / bins, ph, pw})}), work, 0);
}

// torch._shape_as_tensor(x): torchvision's detection code (_topk_min) takes a size as a
// tensor so a trace keeps it a run-time value. Folded when the sizes are known at export time.
void shapeAsTensor(ConvertContext& ctx) { ctx.setOutput(ctx.op("Shape", {ctx.input(ctx.in("self"))}), at::kLong); }

}  // namespace

void registerDetectionConverters(ConverterRegistry& r) {
  r.add("aten::_shape_as_tensor", shapeAsTensor, shapeOnly() | flags(OpFacts::kReadsOnlySizes));
  r.add("torchvision::nms", nms, dataDependentSize());
  // RoiAlign's coordinate_transformation_mode from opset 16.
  r.add("torchvision::roi_align", OpsetForms{{kMinOpset, [](ConvertContext& c) { roiAlign(c, false); }},
                                            {16, [](ConvertContext& c) { roiAlign(c, true); }}});
  r.add("torchvision::roi_pool", roiPool);
  r.add("torchvision::ps_roi_align", OpsetForms{{kMinOpset, [](ConvertContext& c) { psRoiAlign(c, false); }},
                                               {16, [](ConvertContext& c) { psRoiAlign(c, true); }}});
  r.add("torchvision::ps_roi_pool", [](ConvertContext& c) {
    c.unsupported("ONNX has no average RoI pooling (MaxRoiPool takes the maximum; RoiAlign samples bilinearly)");
  });
  r.add("torchvision::deform_conv2d", [](ConvertContext& c) {
    c.requireOpset(19, "DeformConv");  // beyond kMaxOpset: a refusal that says so
    c.unsupported("DeformConv has no converter");
  });
}

}  // namespace modelexport

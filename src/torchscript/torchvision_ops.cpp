// The torchvision operator library in the binary: schemas as torchvision declares them,
// CPU kernels from torchvision_roi_kernels.cpp and torchvision_deform_conv.cpp.
#include "modelexport/torchvision_ops.h"

#include <mutex>

#include <torch/library.h>

namespace modelexport {
namespace {

// SymInt sizes as torchvision declares them; the kernels take them as int64_t.
void registerOperators() {
  // Held for the process: the registrations last as long as these objects.
  static torch::Library schemas(torch::Library::FRAGMENT, "torchvision", c10::nullopt, __FILE__, __LINE__);
  schemas.def("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor");
  schemas.def(
      "roi_align(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, SymInt pooled_width, "
      "int sampling_ratio, bool aligned) -> Tensor");
  schemas.def(
      "roi_pool(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, SymInt pooled_width) "
      "-> (Tensor, Tensor)");
  schemas.def(
      "ps_roi_align(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, SymInt pooled_width, "
      "int sampling_ratio) -> (Tensor, Tensor)");
  schemas.def(
      "ps_roi_pool(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, SymInt pooled_width) "
      "-> (Tensor, Tensor)");
  schemas.def(
      "deform_conv2d(Tensor input, Tensor weight, Tensor offset, Tensor mask, Tensor bias, SymInt stride_h, "
      "SymInt stride_w, SymInt pad_h, SymInt pad_w, SymInt dilation_h, SymInt dilation_w, SymInt groups, "
      "SymInt offset_groups, bool use_mask) -> Tensor");

  static torch::Library kernels(torch::Library::IMPL, "torchvision", c10::DispatchKey::CPU, __FILE__, __LINE__);
  kernels.impl("nms", TORCH_FN(torchvisionNms));
  kernels.impl("roi_align", TORCH_FN(torchvisionRoiAlign));
  kernels.impl("roi_pool", TORCH_FN(torchvisionRoiPool));
  kernels.impl("ps_roi_align", TORCH_FN(torchvisionPsRoiAlign));
  kernels.impl("ps_roi_pool", TORCH_FN(torchvisionPsRoiPool));
  kernels.impl("deform_conv2d", TORCH_FN(torchvisionDeformConv2d));
}

}  // namespace

void ensureTorchvisionOperators() {
  static std::once_flag once;
  std::call_once(once, registerOperators);
}

}  // namespace modelexport

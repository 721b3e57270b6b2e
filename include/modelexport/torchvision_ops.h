#pragma once
// torchvision's detection operators, registered in the binary under their torchvision
// schemas with CPU kernels of our own, so TorchScript files calling them load and run
// without Python or torchvision.
#include <tuple>

#include <ATen/ATen.h>

namespace modelexport {

// Registers the operators (once; later calls do nothing). The loader calls it, which
// also keeps the registration in every binary that links the loader.
void ensureTorchvisionOperators();

// The kernels, after torchvision.ops' documented semantics. Boxes are (x1, y1, x2, y2)
// with x1 <= x2, y1 <= y2; rois are [K, 5] rows (batch index, x1, y1, x2, y2).

// Indices of the boxes kept, by decreasing score; a box is dropped when its IoU with a
// kept box is above the threshold.
at::Tensor torchvisionNms(const at::Tensor& dets, const at::Tensor& scores, double iouThreshold);

// Average of bilinear samples per bin: [K, C, pooledHeight, pooledWidth].
at::Tensor torchvisionRoiAlign(const at::Tensor& input, const at::Tensor& rois, double spatialScale,
                               int64_t pooledHeight, int64_t pooledWidth, int64_t samplingRatio, bool aligned);

// Max over each quantized bin, and the flat h*W+w position of that max (-1 for an empty bin).
std::tuple<at::Tensor, at::Tensor> torchvisionRoiPool(const at::Tensor& input, const at::Tensor& rois,
                                                      double spatialScale, int64_t pooledHeight, int64_t pooledWidth);

// Position-sensitive RoIAlign: bin (i, j) of output channel c reads input channel
// (c * pooledHeight + i) * pooledWidth + j. Returns the output and that channel map.
std::tuple<at::Tensor, at::Tensor> torchvisionPsRoiAlign(const at::Tensor& input, const at::Tensor& rois,
                                                         double spatialScale, int64_t pooledHeight,
                                                         int64_t pooledWidth, int64_t samplingRatio);

// Position-sensitive RoIPool (average over each quantized bin).
std::tuple<at::Tensor, at::Tensor> torchvisionPsRoiPool(const at::Tensor& input, const at::Tensor& rois,
                                                        double spatialScale, int64_t pooledHeight,
                                                        int64_t pooledWidth);

// Deformable convolution (v2 with use_mask): each kernel tap samples the input at its
// regular position plus a learned (dy, dx) offset, scaled by the mask.
at::Tensor torchvisionDeformConv2d(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& offset,
                                   const at::Tensor& mask, const at::Tensor& bias, int64_t strideH,
                                   int64_t strideW, int64_t padH, int64_t padW, int64_t dilationH,
                                   int64_t dilationW, int64_t groups, int64_t offsetGroups, bool useMask);

}  // namespace modelexport

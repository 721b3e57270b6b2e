// CPU kernel of torchvision::deform_conv2d, from torchvision.ops.deform_conv2d's
// semantics: the input is sampled (bilinearly, zero outside the map) at each kernel
// tap's position plus its offset, scaled by the mask, then the weights apply as in a
// grouped convolution (a column matrix per image and a matrix product per group).
#include <cmath>

#include "modelexport/torchvision_ops.h"

namespace modelexport {
namespace {

// Bilinear sample where each of the four neighbours outside the map counts as 0.
double sampleZeroPadded(const double* plane, int64_t height, int64_t width, double y, double x) {
  if (y <= -1.0 || y >= static_cast<double>(height) || x <= -1.0 || x >= static_cast<double>(width)) return 0.0;
  const auto y0 = static_cast<int64_t>(std::floor(y)), x0 = static_cast<int64_t>(std::floor(x));
  const double ly = y - static_cast<double>(y0), lx = x - static_cast<double>(x0);
  auto at = [&](int64_t yy, int64_t xx) {
    return yy >= 0 && yy < height && xx >= 0 && xx < width ? plane[yy * width + xx] : 0.0;
  };
  return (1 - ly) * (1 - lx) * at(y0, x0) + (1 - ly) * lx * at(y0, x0 + 1) + ly * (1 - lx) * at(y0 + 1, x0) +
         ly * lx * at(y0 + 1, x0 + 1);
}

}  // namespace

at::Tensor torchvisionDeformConv2d(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& offset,
                                   const at::Tensor& mask, const at::Tensor& bias, int64_t strideH,
                                   int64_t strideW, int64_t padH, int64_t padW, int64_t dilationH,
                                   int64_t dilationW, int64_t groups, int64_t offsetGroups, bool useMask) {
  TORCH_CHECK(input.dim() == 4 && weight.dim() == 4 && offset.dim() == 4,
              "torchvision::deform_conv2d: input, weight and offset must be 4-D");
  const int64_t batch = input.size(0), channels = input.size(1), height = input.size(2), width = input.size(3);
  const int64_t outChannels = weight.size(0), kernelH = weight.size(2), kernelW = weight.size(3);
  TORCH_CHECK(groups > 0 && offsetGroups > 0 && channels % groups == 0 && channels % offsetGroups == 0 &&
                  outChannels % groups == 0 && weight.size(1) * groups == channels,
              "torchvision::deform_conv2d: channels (", channels, ") do not fit the weight ", weight.sizes(),
              " with ", groups, " groups and ", offsetGroups, " offset groups");
  TORCH_CHECK(strideH > 0 && strideW > 0 && dilationH > 0 && dilationW > 0,
              "torchvision::deform_conv2d: stride and dilation must be positive");
  const int64_t outH = (height + 2 * padH - (dilationH * (kernelH - 1) + 1)) / strideH + 1;
  const int64_t outW = (width + 2 * padW - (dilationW * (kernelW - 1) + 1)) / strideW + 1;
  const int64_t taps = kernelH * kernelW;
  TORCH_CHECK(outH > 0 && outW > 0, "torchvision::deform_conv2d: the output would be empty");
  TORCH_CHECK(offset.size(0) == batch && offset.size(1) == 2 * offsetGroups * taps && offset.size(2) == outH &&
                  offset.size(3) == outW,
              "torchvision::deform_conv2d: offset must be [", batch, ", ", 2 * offsetGroups * taps, ", ", outH, ", ",
              outW, "], got ", offset.sizes());
  TORCH_CHECK(!useMask || (mask.dim() == 4 && mask.size(1) == offsetGroups * taps),
              "torchvision::deform_conv2d: mask must be [", batch, ", ", offsetGroups * taps, ", ", outH, ", ", outW,
              "], got ", mask.sizes());

  const at::Tensor x = input.to(at::kDouble).contiguous();
  const at::Tensor off = offset.to(at::kDouble).contiguous();
  const at::Tensor m = useMask ? mask.to(at::kDouble).contiguous() : at::Tensor();
  const at::Tensor w = weight.to(at::kDouble).reshape({groups, outChannels / groups, -1});
  const int64_t positions = outH * outW, perOffsetGroup = channels / offsetGroups;
  at::Tensor out = at::empty({batch, outChannels, outH, outW}, at::kDouble);
  // Rows (channel, tap), columns (output y, output x), as the weight's flattening.
  at::Tensor columns = at::empty({channels * taps, positions}, at::kDouble);
  for (int64_t b = 0; b < batch; ++b) {
    double* col = columns.data_ptr<double>();
    for (int64_t c = 0; c < channels; ++c) {
      const double* plane = x.data_ptr<double>() + (b * channels + c) * height * width;
      const int64_t g = c / perOffsetGroup;
      for (int64_t i = 0; i < kernelH; ++i)
        for (int64_t j = 0; j < kernelW; ++j) {
          const int64_t tap = i * kernelW + j;
          const double* dy = off.data_ptr<double>() + ((b * offsetGroups + g) * taps + tap) * 2 * positions;
          const double* dx = dy + positions;
          const double* scale = useMask ? m.data_ptr<double>() + ((b * offsetGroups + g) * taps + tap) * positions : nullptr;
          double* row = col + (c * taps + tap) * positions;
          for (int64_t oy = 0; oy < outH; ++oy)
            for (int64_t ox = 0; ox < outW; ++ox) {
              const int64_t p = oy * outW + ox;
              const double y = static_cast<double>(oy * strideH - padH + i * dilationH) + dy[p];
              const double xx = static_cast<double>(ox * strideW - padW + j * dilationW) + dx[p];
              const double v = sampleZeroPadded(plane, height, width, y, xx);
              row[p] = scale ? v * scale[p] : v;
            }
        }
    }
    const at::Tensor grouped = columns.view({groups, channels / groups * taps, positions});
    out[b] = at::bmm(w, grouped).reshape({outChannels, outH, outW});
  }
  if (bias.defined() && bias.numel() == outChannels) out += bias.to(at::kDouble).view({1, outChannels, 1, 1});
  return out.to(input.scalar_type());
}

}  // namespace modelexport

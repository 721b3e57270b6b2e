// Sampling at computed positions: aten::grid_sampler (F.grid_sample, what optical-flow
// and spatial-transformer models warp with) as ONNX GridSample.
#include <string>

#include "modelexport/convert_context.h"

namespace modelexport {
namespace {

// aten::grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners), and
// grid_sampler_2d with the same arguments: input [N, C, H, W], grid [N, Ho, Wo, 2] of
// (x, y) in [-1, 1]. PyTorch's mode numbers: 0 bilinear, 1 nearest, 2 bicubic; padding
// 0 zeros, 1 border, 2 reflection. ONNX GridSample (opset 16) has the same modes and
// padding rules and names them.
void gridSampler(ConvertContext& ctx) {
  // Volumetric sampling ([N, C, D, H, W]) is GridSample from opset 20, beyond the exporter's opsets.
  if (ctx.rank(ctx.in("input")) == 5) ctx.requireOpset(20, "GridSample of a 5-d input");
  if (ctx.rank(ctx.in("input")) != 4) ctx.unsupported("input of rank " + std::to_string(ctx.rank(ctx.in("input"))) + " (4-d only)");
  ctx.requireOpset(16, "GridSample");
  static const char* const kModes[] = {"bilinear", "nearest", "bicubic"};
  static const char* const kPadding[] = {"zeros", "border", "reflection"};
  const int64_t mode = ctx.toInt(ctx.in("interpolation_mode"));
  const int64_t padding = ctx.toInt(ctx.in("padding_mode"));
  if (mode < 0 || mode > 2) ctx.unsupported("interpolation_mode " + std::to_string(mode));
  if (padding < 0 || padding > 2) ctx.unsupported("padding_mode " + std::to_string(padding));
  const auto type = ctx.dtype(ctx.out());
  ctx.setOutput(ctx.op("GridSample", {ctx.inputAs(ctx.in("input"), type), ctx.inputAs(ctx.in("grid"), type)},
                       {attr::s("mode", kModes[mode]), attr::s("padding_mode", kPadding[padding]),
                        attr::i("align_corners", ctx.toBool(ctx.in("align_corners")) ? 1 : 0)}),
                type);
}

}  // namespace

void registerSamplingConverters(ConverterRegistry& r) {
  r.add("aten::grid_sampler", gridSampler);
  r.add("aten::grid_sampler_2d", gridSampler);
}

}  // namespace modelexport

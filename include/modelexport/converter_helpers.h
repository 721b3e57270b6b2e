#pragma once
// Small pieces several converter families share.
#include <cmath>
#include <string>
#include <vector>

#include "modelexport/convert_context.h"

namespace modelexport {

// Unsqueeze/Squeeze with `axes` in their form at the export's opset: an attribute, or an
// input (onnx_axes_forms.h declares from which opset).
inline std::string unsqueeze(ConvertContext& ctx, const std::string& x, const std::vector<int64_t>& axes) {
  if (ctx.axesForm("Unsqueeze") == AxesForm::Input) return ctx.op("Unsqueeze", {x, ctx.constInts(axes)});
  return ctx.op("Unsqueeze", {x}, {attr::ints("axes", axes)});
}

inline std::string squeeze(ConvertContext& ctx, const std::string& x, const std::vector<int64_t>& axes) {
  if (ctx.axesForm("Squeeze") == AxesForm::Input) return ctx.op("Squeeze", {x, ctx.constInts(axes)});
  return ctx.op("Squeeze", {x}, {attr::ints("axes", axes)});
}

// A Reduce operator over `axes` in its form at the export's opset (ReduceSum takes the
// axes as an input from opset 13, the others from 18). No axes means every axis.
inline std::string reduce(ConvertContext& ctx, const std::string& opType, const std::string& x,
                          const std::vector<int64_t>& axes, bool keepdims) {
  std::vector<onnx::AttributeProto> attrs{attr::i("keepdims", keepdims ? 1 : 0)};
  if (ctx.axesForm(opType) == AxesForm::Input) {
    std::vector<std::string> ins{x};
    if (!axes.empty()) ins.push_back(ctx.constInts(axes));
    return ctx.op(opType, ins, attrs);
  }
  if (!axes.empty()) attrs.push_back(attr::ints("axes", axes));
  return ctx.op(opType, {x}, attrs);
}

// GELU's exact (erf) form, x * (1 + erf(x / sqrt(2))) * 0.5: written once, for aten::gelu
// and for the feed-forward block of the fused transformer encoder layer.
inline std::string erfGelu(ConvertContext& ctx, const std::string& x, at::ScalarType type) {
  std::string e = ctx.op("Erf", {ctx.op("Div", {x, ctx.scalar(std::sqrt(2.0), type)})});
  std::string onePlus = ctx.op("Add", {e, ctx.scalar(1.0, type)});
  return ctx.op("Mul", {ctx.op("Mul", {x, onePlus}), ctx.scalar(0.5, type)});
}

}  // namespace modelexport

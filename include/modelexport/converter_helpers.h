#pragma once
// Small pieces several converter families share.
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "modelexport/convert_context.h"

namespace modelexport {

// One form of a converter, written from opset `since` until the next form's.
struct OpsetForm {
  int since;
  ConverterFn convert;
};

// A converter with one form per opset range, the ranges declared in the registration (as
// torch-mlir's onOp("HardSwish", 14, ...) does): the table's entry picks the form for the
// export's opset, so no converter body tests the opset to choose between forms. The
// forms start at kMinOpset, in increasing order; anything else is a registration slip,
// refused when the table is built.
inline ConverterFn byOpset(std::vector<OpsetForm> forms) {
  for (size_t i = 0; i < forms.size(); ++i)
    if ((i == 0 && forms[i].since != kMinOpset) || (i > 0 && forms[i].since <= forms[i - 1].since))
      throw std::logic_error("opset forms must start at kMinOpset and increase");
  return [forms = std::move(forms)](ConvertContext& ctx) {
    size_t chosen = 0;
    while (chosen + 1 < forms.size() && forms[chosen + 1].since <= ctx.opset()) ++chosen;
    forms[chosen].convert(ctx);
  };
}

// Unsqueeze/Squeeze take axes as an input from opset 13, as an attribute before.
inline std::string unsqueeze(ConvertContext& ctx, const std::string& x, const std::vector<int64_t>& axes) {
  if (ctx.opset() >= 13) return ctx.op("Unsqueeze", {x, ctx.constInts(axes)});
  return ctx.op("Unsqueeze", {x}, {attr::ints("axes", axes)});
}

inline std::string squeeze(ConvertContext& ctx, const std::string& x, const std::vector<int64_t>& axes) {
  if (ctx.opset() >= 13) return ctx.op("Squeeze", {x, ctx.constInts(axes)});
  return ctx.op("Squeeze", {x}, {attr::ints("axes", axes)});
}

// ReduceSum takes its axes as an input from opset 13, the other Reduce ops from opset
// 18 (an attribute before). No axes means every axis.
inline std::string reduce(ConvertContext& ctx, const std::string& opType, const std::string& x,
                          const std::vector<int64_t>& axes, bool keepdims) {
  std::vector<onnx::AttributeProto> attrs{attr::i("keepdims", keepdims ? 1 : 0)};
  if ((opType == "ReduceSum" && ctx.opset() >= 13) || ctx.opset() >= 18) {
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

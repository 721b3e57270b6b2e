#pragma once
// Where an ONNX operator takes its axes: Squeeze, Unsqueeze and the Reduce operators took
// them as an attribute and moved them to an input, ReduceSum, Squeeze and Unsqueeze in
// opset 13, the other Reduce operators in opset 18 (the ONNX operator changelog). The
// opsets are declared once, in onnx_axes_forms.cpp: the converters' shared helpers
// (converter_helpers.h) write the form it gives for the export's opset, and none of them
// compares opsets itself.
#include <string_view>

namespace modelexport {

enum class AxesForm { Attribute, Input };

// The form of `opType` at `opset`. An operator the table lacks is a helper used with an
// operator it was not written for: std::logic_error, no guess.
AxesForm axesFormAt(std::string_view opType, int opset);

}  // namespace modelexport

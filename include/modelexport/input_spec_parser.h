#pragma once
// --input-spec name:dtype:shape[,...], e.g. "input_ids:int64:1x128,attention_mask:int64:1x128".
#include <string>
#include <vector>

#include "modelexport/example_inputs.h"

namespace modelexport {

// dtypes: float32, float16, int64, int32, bool. Shape dims are positive and joined by
// 'x'; "scalar" is a 0-d tensor. Throws UserError saying what is wrong and where.
std::vector<InputSpec> parseInputSpecs(const std::string& text);

// The same syntax back, to show which inputs were tried ("x:float32:1x3x224x224").
std::string formatInputSpecs(const std::vector<InputSpec>& specs);

}  // namespace modelexport

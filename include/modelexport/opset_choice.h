#pragma once
// The ONNX opset an export is written at: the user's (--opset-version), or, when none was
// given, the lowest from kDefaultOpset up that has every op form the model needs.
#include <functional>
#include <optional>
#include <string>

namespace modelexport {

struct OpsetChoice {
  int opset = 0;
  std::string reason;  // what needed `opset` when it was raised above the default, else empty
};

// Runs `attempt(opset)` (convert, build, check) at `given` or, without it, at kDefaultOpset
// and again at the opset each NewerOpsetNeeded names (only up: opsets keep what they have).
// A NewerOpsetNeeded propagates when the opset was given: the user's choice is refused,
// not changed.
OpsetChoice runAtChosenOpset(std::optional<int> given, const std::function<void(int opset)>& attempt);

// The one line that says which opset was chosen and why; empty when the default did.
std::string opsetChoiceNote(const OpsetChoice& choice);

}  // namespace modelexport

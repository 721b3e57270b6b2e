#pragma once
// Errors a user can act on. The CLI prints what() as one line and exits with 1.
#include <stdexcept>
#include <string>
#include <utility>

namespace modelexport {

class UserError : public std::runtime_error {
 public:
  // `detail`: the full text of the error behind this one (LibTorch's, over many lines),
  // which the CLI prints after the one line when -v is given.
  explicit UserError(const std::string& message, std::string detail = "")
      : std::runtime_error(message), detail_(std::move(detail)) {}
  const std::string& detail() const { return detail_; }

 private:
  std::string detail_;
};

// An export that needs a newer ONNX opset than the one it was written at: `opset` is the
// lowest that has what `reason` names ("aten::grid_sampler in /Net needs GridSample").
// The message is the refusal a user who chose the opset gets; without --opset-version the
// exporter converts again at `opset` (opset_choice.h).
class NewerOpsetNeeded : public UserError {
 public:
  NewerOpsetNeeded(const std::string& message, int opset, std::string reason, std::string detail = "")
      : UserError(message, std::move(detail)), opset_(opset), reason_(std::move(reason)) {}
  int opset() const { return opset_; }
  const std::string& reason() const { return reason_; }

 private:
  int opset_;
  std::string reason_;
};

// First line with text of a possibly multi-line message (LibTorch errors carry C++
// backtraces and may start with a newline).
std::string firstLine(const std::string& text);

}  // namespace modelexport

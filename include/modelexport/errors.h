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

// First line with text of a possibly multi-line message (LibTorch errors carry C++
// backtraces and may start with a newline).
std::string firstLine(const std::string& text);

}  // namespace modelexport

#pragma once
// Errors a user can act on. The CLI prints what() as one line and exits with 1.
#include <stdexcept>
#include <string>

namespace modelexport {

class UserError : public std::runtime_error {
 public:
  explicit UserError(const std::string& message) : std::runtime_error(message) {}
};

// First line with text of a possibly multi-line message (LibTorch errors carry C++
// backtraces and may start with a newline).
std::string firstLine(const std::string& text);

}  // namespace modelexport

#include "modelexport/errors.h"

#include <algorithm>

namespace modelexport {

std::string firstLine(const std::string& text) {
  // LibTorch's TorchScript errors start with a newline: the first line with text counts.
  const auto start = std::min(text.find_first_not_of("\n\r "), text.size());
  auto end = text.find('\n', start);
  std::string line = end == std::string::npos ? text.substr(start) : text.substr(start, end - start);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
  return line;
}

}  // namespace modelexport

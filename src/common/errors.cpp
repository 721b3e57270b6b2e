#include "modelexport/errors.h"

namespace modelexport {

std::string firstLine(const std::string& text) {
  auto end = text.find('\n');
  std::string line = end == std::string::npos ? text : text.substr(0, end);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
  return line;
}

}  // namespace modelexport

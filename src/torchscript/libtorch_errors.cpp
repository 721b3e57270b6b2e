#include "modelexport/libtorch_errors.h"

#include <cstdio>
#include <regex>
#include <sstream>
#include <vector>

#include <c10/util/Exception.h>

#include "modelexport/errors.h"

namespace modelexport {

std::string formatBytes(double bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 5) bytes /= 1024, ++unit;
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
  return text;
}

std::optional<InterpreterFailure> interpreterFailure(const std::string& text) {
  static const std::string kHeading = "The following operation failed in the TorchScript interpreter.";
  if (firstLine(text) != kHeading) return std::nullopt;
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  InterpreterFailure failure;
  // Tracebacks are headed "Traceback of TorchScript..." and indented; the exception
  // follows the last one, from its first line that is not indented.
  size_t lastHeading = lines.size();
  for (size_t i = 0; i < lines.size(); ++i)
    if (lines[i].rfind("Traceback of TorchScript", 0) == 0) lastHeading = i;
  if (lastHeading == lines.size()) return std::nullopt;
  for (size_t i = lastHeading + 1; i < lines.size(); ++i)
    if (!lines[i].empty() && lines[i][0] != ' ' && lines[i][0] != '\t') {
      failure.message = lines[i];
      break;
    }
  static const std::string kRuntimeError = "RuntimeError: ";
  if (failure.message.rfind(kRuntimeError, 0) == 0) failure.message.erase(0, kRuntimeError.size());
  if (failure.message.empty()) return std::nullopt;
  // The serialized code's traceback (the first; "original code" repeats it in Python's
  // words): its functions, and the call its last "<--- HERE" marks.
  size_t end = lines.size();
  bool serialized = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].rfind("Traceback of TorchScript", 0) != 0) continue;
    if (serialized) {
      end = i;
      break;
    }
    serialized = true;
  }
  static const std::regex file(R"(^\s*File "[^"]*", line \d+, in (\S+))");
  static const std::regex call(R"((?:ops\.([A-Za-z_]\w*)\.|torch\.)([A-Za-z_]\w*)\s*$)");
  std::string marked;
  for (size_t i = 0; i < end; ++i) {
    std::smatch m;
    if (std::regex_search(lines[i], m, file)) failure.functions.push_back(m[1]);
    const size_t here = lines[i].find("<--- HERE");
    const size_t from = lines[i].find('~');
    if (here == std::string::npos || from == std::string::npos || i == 0) continue;
    // The ~~~ under the code line above marks the callee.
    const size_t to = lines[i].find_first_not_of('~', from);
    const std::string& code = lines[i - 1];
    marked = from < code.size() ? code.substr(from, (to == std::string::npos ? code.size() : to) - from) : "";
  }
  std::smatch m;
  if (std::regex_search(marked, m, call))
    failure.op = (m[1].matched ? m[1].str() : std::string("aten")) + "::" + m[2].str();
  return failure;
}

std::string libTorchCause(const std::exception& error) {
  const auto* c10Error = dynamic_cast<const c10::Error*>(&error);
  const std::string text = c10Error ? c10Error->what_without_backtrace() : error.what();
  // DefaultCPUAllocator: "can't allocate memory: you tried to allocate N bytes. Error code 12 ..."
  static const std::regex allocation(R"(you tried to allocate (\d+) bytes)");
  std::smatch m;
  if (std::regex_search(text, m, allocation))
    return "out of memory: one tensor needed " + formatBytes(std::stod(m[1].str())) +
           ", more than this machine could give";
  if (auto failure = interpreterFailure(text)) return failure->message;
  return firstLine(text);
}

std::string libTorchText(const std::exception& error) { return error.what(); }

}  // namespace modelexport

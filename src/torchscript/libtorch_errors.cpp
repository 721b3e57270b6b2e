#include "modelexport/libtorch_errors.h"

#include <cstdio>
#include <regex>

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

std::string libTorchCause(const std::exception& error) {
  const auto* c10Error = dynamic_cast<const c10::Error*>(&error);
  const std::string text = c10Error ? c10Error->what_without_backtrace() : error.what();
  // DefaultCPUAllocator: "can't allocate memory: you tried to allocate N bytes. Error code 12 ..."
  static const std::regex allocation(R"(you tried to allocate (\d+) bytes)");
  std::smatch m;
  if (std::regex_search(text, m, allocation))
    return "out of memory: one tensor needed " + formatBytes(std::stod(m[1].str())) +
           ", more than this machine could give";
  return firstLine(text);
}

std::string libTorchText(const std::exception& error) { return error.what(); }

}  // namespace modelexport

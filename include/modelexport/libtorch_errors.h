#pragma once
// LibTorch's exceptions in our words: one line with the cause, and the full text
// (many lines, a C++ backtrace) kept for -v.
#include <exception>
#include <string>

namespace modelexport {

// The cause on one line: an allocation that failed says how much memory it asked
// for; other errors give their first line with text, without LibTorch's backtrace.
std::string libTorchCause(const std::exception& error);

// Everything LibTorch said, backtrace included.
std::string libTorchText(const std::exception& error);

// "112 GiB" for a byte count, to the unit that keeps it readable.
std::string formatBytes(double bytes);

}  // namespace modelexport

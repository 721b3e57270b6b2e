#pragma once
// LibTorch's exceptions in our words: one line with the cause, and the full text
// (many lines, a C++ backtrace) kept for -v.
#include <exception>
#include <optional>
#include <string>
#include <vector>

namespace modelexport {

// The cause on one line: an allocation that failed says how much memory it asked
// for; a TorchScript interpreter error its innermost message (interpreterFailure); other
// errors give their first line with text, without LibTorch's backtrace.
std::string libTorchCause(const std::exception& error);

// What "The following operation failed in the TorchScript interpreter." hides under its
// tracebacks: the exception's own message (its first line; a RuntimeError's without the
// "RuntimeError: " prefix), the operator at the innermost "<--- HERE" of the serialized
// code ("quantized::conv2d_prepack"; empty when that is no operator call), and the
// serialized code's functions from the outermost ("__setstate__") to the innermost.
struct InterpreterFailure {
  std::string message;
  std::string op;
  std::vector<std::string> functions;
};
std::optional<InterpreterFailure> interpreterFailure(const std::string& text);

// Everything LibTorch said, backtrace included.
std::string libTorchText(const std::exception& error);

// "112 GiB" for a byte count, to the unit that keeps it readable.
std::string formatBytes(double bytes);

}  // namespace modelexport

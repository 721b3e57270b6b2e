#pragma once
// LibTorch's own warnings (a deprecation inside its quantized kernels, a performance
// hint) speak about LibTorch, not about the model or the command, and nothing the user
// types changes them. While an export runs they go to the -v log, each distinct message
// once, instead of to stderr with LibTorch's timestamped prefix.
#include <memory>
#include <ostream>

namespace modelexport {

class LibTorchWarningsToLog {
 public:
  // `verboseLog` nullptr: the warnings are dropped. LibTorch's handler is per thread:
  // this catches those of the thread that makes it (the export's).
  explicit LibTorchWarningsToLog(std::ostream* verboseLog);
  ~LibTorchWarningsToLog();
  LibTorchWarningsToLog(const LibTorchWarningsToLog&) = delete;
  LibTorchWarningsToLog& operator=(const LibTorchWarningsToLog&) = delete;

 private:
  class Handler;
  std::unique_ptr<Handler> handler_;
};

}  // namespace modelexport

#pragma once
// Files written under a temporary name and renamed into place when complete. A
// temporary file that is not moved into place is removed: by its destructor on every
// error path, and by the handlers of SIGINT, SIGTERM and SIGHUP when the process is
// killed, so an interrupted command leaves neither a `.NAME.tmpNNNN` file nor a partial
// output, and the previous output (if any) stays as it was.
#include <filesystem>
#include <functional>
#include <ostream>
#include <string>

namespace modelexport {

// Holds SIGINT, SIGTERM and SIGHUP back while it lives, so files that belong together
// (a model and its external data) are renamed into place both or neither; a signal that
// came meanwhile takes effect when it ends. One at a time (not nested).
class SignalsHeld {
 public:
  SignalsHeld();
  ~SignalsHeld();
  SignalsHeld(const SignalsHeld&) = delete;
  SignalsHeld& operator=(const SignalsHeld&) = delete;
};

// `.NAME.tmpNNNN` in `tempDir`, or next to `target` when `tempDir` is empty.
std::filesystem::path temporaryPathFor(const std::filesystem::path& target,
                                       const std::filesystem::path& tempDir = {});

class TemporaryFile {
 public:
  // Registers `path` for removal before the caller creates it.
  explicit TemporaryFile(std::filesystem::path path);
  ~TemporaryFile();
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // Renames the file onto `target`; when the two are on different file systems, copies
  // it next to `target` under another temporary name first, so `target` is replaced
  // whole or not at all. Throws UserError naming `target`.
  void moveTo(const std::filesystem::path& target);

 private:
  bool renameOnto(const std::filesystem::path& target, std::error_code& ec);
  void forget();

  std::filesystem::path path_;
  int slot_ = -1;  // index in the signal handlers' list, or -1 when it was full
  bool done_ = false;
};

// Writes to a temporary file in `tempDir` (default: next to `path`), then renames, so a
// failed or interrupted write never leaves a partial file. Throws UserError naming `path`.
void writeFileAtomically(const std::string& path, const std::string& bytes,
                         const std::string& tempDir = "");
// The same, with the content streamed by `writeContent`.
void writeFileAtomically(const std::string& path, const std::function<void(std::ostream&)>& writeContent,
                         const std::string& tempDir = "");

}  // namespace modelexport

#include "modelexport/temporary_file.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <string>

#include "modelexport/errors.h"

namespace fs = std::filesystem;

namespace modelexport {
namespace {

// The paths a signal handler must unlink. Plain C strings in a fixed array: a handler
// may only read memory and call async-signal-safe functions such as unlink().
constexpr int kSlots = 64;
std::atomic<char*> pendingPaths[kSlots];

constexpr int kCaughtSignals[] = {SIGINT, SIGTERM, SIGHUP};
struct sigaction previousActions[3];

// Set while files that belong together are renamed into place. The handler may run on
// any of LibTorch's threads, so a per-thread signal mask would not hold it back: it
// leaves the signal here instead, and SignalsHeld acts on it once the renames are done.
std::atomic<bool> committing{false};
std::atomic<int> deferredSignal{0};

void removePendingAndReraise(int signal) {
  for (auto& slot : pendingPaths) {
    if (char* path = slot.load()) unlink(path);
  }
  for (int i = 0; i < 3; ++i) {
    if (kCaughtSignals[i] == signal) sigaction(signal, &previousActions[i], nullptr);
  }
  // The default action ends the process with the signal, as the caller expects.
  raise(signal);
}

void onCaughtSignal(int signal) {
  if (committing.load()) {
    deferredSignal.store(signal);
    return;
  }
  removePendingAndReraise(signal);
}

void installHandlersOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int i = 0; i < 3; ++i) {
      struct sigaction current {};
      sigaction(kCaughtSignals[i], nullptr, &current);
      // A signal the parent ignores (nohup, a backgrounded shell job) stays ignored.
      if (current.sa_handler == SIG_IGN) continue;
      struct sigaction ours {};
      ours.sa_handler = onCaughtSignal;
      sigemptyset(&ours.sa_mask);
      for (int s : kCaughtSignals) sigaddset(&ours.sa_mask, s);
      sigaction(kCaughtSignals[i], &ours, &previousActions[i]);
    }
  });
}

int registerPending(const fs::path& path) {
  installHandlersOnce();
  char* copy = strdup(path.c_str());
  if (!copy) return -1;
  for (int i = 0; i < kSlots; ++i) {
    char* expected = nullptr;
    if (pendingPaths[i].compare_exchange_strong(expected, copy)) return i;
  }
  std::free(copy);  // more than kSlots at once: removed on errors, not on signals
  return -1;
}

}  // namespace

SignalsHeld::SignalsHeld() { committing.store(true); }

SignalsHeld::~SignalsHeld() {
  committing.store(false);
  if (const int signal = deferredSignal.exchange(0)) removePendingAndReraise(signal);
}

fs::path temporaryPathFor(const fs::path& target, const fs::path& tempDir) {
  const fs::path dir = !tempDir.empty() ? tempDir
                       : target.has_parent_path() ? target.parent_path()
                                                  : fs::path(".");
  static std::random_device device;
  return dir / ("." + target.filename().string() + ".tmp" + std::to_string(device()));
}

TemporaryFile::TemporaryFile(fs::path path) : path_(std::move(path)), slot_(registerPending(path_)) {}

TemporaryFile::~TemporaryFile() {
  if (done_) return;
  std::error_code ignored;
  fs::remove(path_, ignored);
  forget();
}

void TemporaryFile::forget() {
  if (slot_ >= 0) std::free(pendingPaths[slot_].exchange(nullptr));
  slot_ = -1;
  done_ = true;
}

bool TemporaryFile::renameOnto(const fs::path& target, std::error_code& ec) {
  fs::rename(path_, target, ec);
  if (ec) return false;
  forget();
  return true;
}

void TemporaryFile::moveTo(const fs::path& target) {
  std::error_code ec;
  if (renameOnto(target, ec)) return;
  // Another file system (--temp-dir elsewhere): copy beside the target, then rename there.
  TemporaryFile local(temporaryPathFor(target));
  fs::copy_file(path_, local.path(), fs::copy_options::overwrite_existing, ec);
  if (!ec) local.renameOnto(target, ec);
  if (ec) throw UserError(target.string() + ": cannot write: " + ec.message());
}

void writeFileAtomically(const std::string& path, const std::string& bytes,
                         const std::string& tempDir) {
  writeFileAtomically(
      path, [&](std::ostream& out) { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); }, tempDir);
}

void writeFileAtomically(const std::string& path, const std::function<void(std::ostream&)>& writeContent,
                         const std::string& tempDir) {
  const fs::path target(path);
  const fs::path dir = temporaryPathFor(target, tempDir).parent_path();
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw UserError(path + ": cannot write: directory " + dir.string() + " does not exist");
  TemporaryFile temp(temporaryPathFor(target, tempDir));
  {
    std::ofstream out(temp.path(), std::ios::binary | std::ios::trunc);
    if (!out) throw UserError(path + ": cannot write: permission denied in " + dir.string());
    writeContent(out);
    out.close();
    if (!out) throw UserError(path + ": cannot write: disk full or I/O error");
  }
  temp.moveTo(target);
}

}  // namespace modelexport

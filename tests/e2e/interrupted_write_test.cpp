// End-to-end: `modelexport export` killed by SIGTERM, SIGINT or SIGHUP while it writes
// its output leaves no temporary file behind, and the previous output stays byte for
// byte as it was. The binary is stopped (SIGSTOP) the moment its temporary file appears,
// so the signal lands mid-write every time rather than by luck of timing.
#include <signal.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <poll.h>

#include <gtest/gtest.h>

#include "e2e_support.h"

namespace fs = std::filesystem;

namespace modelexport::e2e {
namespace {

bool isTemporaryName(const std::string& name) {
  return !name.empty() && name[0] == '.' && name.find(".tmp") != std::string::npos;
}

std::vector<std::string> temporaryFilesIn(const std::string& dir) {
  std::vector<std::string> found;
  for (const auto& name : listDirectory(dir))
    if (isTemporaryName(name)) found.push_back(name);
  return found;
}

pid_t startBinary(const std::vector<std::string>& arguments) {
  std::vector<char*> argv;
  std::string exe = MODELEXPORT_EXE;
  argv.push_back(exe.data());
  std::vector<std::string> copies = arguments;
  for (auto& a : copies) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    // The test runner may ignore some signals; the child must see them as a shell would.
    for (int s : {SIGINT, SIGTERM, SIGHUP}) signal(s, SIG_DFL);
    const int devnull = ::open("/dev/null", O_WRONLY);
    dup2(devnull, STDOUT_FILENO);
    dup2(devnull, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

// Waits until a temporary file appears in the inotify-watched directory, or the child ends.
bool waitForTemporaryFile(int watch, pid_t pid) {
  alignas(inotify_event) char buffer[4096];
  for (int rounds = 0; rounds < 1200; ++rounds) {  // 120 s at most
    pollfd fd{watch, POLLIN, 0};
    if (poll(&fd, 1, 100) > 0) {
      const ssize_t n = read(watch, buffer, sizeof buffer);
      for (ssize_t at = 0; at < n;) {
        const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
        if (event->len > 0 && isTemporaryName(event->name)) return true;
        at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      }
    }
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return false;
  }
  return false;
}

class InterruptedWriteTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    dir_ = freshWorkDir("e2e/interrupted_write/" + std::to_string(GetParam()));
    output_ = dir_ + "/model.onnx";
  }

  // Runs the export, stops it when its temporary file appears and sends the signal.
  // Returns false when the export finished before it could be stopped (then retried).
  bool interruptOnce(int signalNumber) {
    // A previous output that must survive the interrupted export untouched (written again
    // for each attempt: an attempt the export outran has replaced it).
    for (const auto& name : temporaryFilesIn(dir_)) fs::remove(dir_ + "/" + name);
    std::ofstream(output_) << kPrevious;
    std::ofstream(output_ + ".data") << kPrevious;
    const int watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    EXPECT_GE(watch, 0) << std::strerror(errno);
    inotify_add_watch(watch, dir_.c_str(), IN_CREATE);
    std::vector<std::string> arguments{"export", fixturePath("resnet18"), output_, "--external-data",
                                       "--input-shape", "1,3,224,224"};
    const pid_t pid = startBinary(arguments);
    const bool appeared = waitForTemporaryFile(watch, pid);
    close(watch);
    if (!appeared) {
      int status = 0;
      waitpid(pid, &status, 0);
      ADD_FAILURE() << "the export ended before writing a temporary file";
      return true;
    }
    kill(pid, SIGSTOP);
    const bool midWrite = !temporaryFilesIn(dir_).empty();
    kill(pid, signalNumber);
    kill(pid, SIGCONT);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!midWrite) return false;
    // Stopped while it renamed the pair into place (signals held): both are new, and the
    // attempt proves nothing about a write cut short.
    if (readFile(output_) != kPrevious) {
      EXPECT_NE(readFile(output_ + ".data"), kPrevious) << "the model was replaced without its .data";
      return false;
    }
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == signalNumber)
        << "status " << status << ": the process should end by the signal it got";
    return true;
  }

  static constexpr const char* kPrevious = "previous export\n";
  std::string dir_, output_;
};

TEST_P(InterruptedWriteTest, KilledExportLeavesNoTemporaryFileAndKeepsThePreviousOutput) {
  const std::string previous = kPrevious;
  bool interrupted = false;
  for (int attempt = 0; attempt < 10 && !interrupted; ++attempt) interrupted = interruptOnce(GetParam());
  ASSERT_TRUE(interrupted) << "could not stop the export mid-write in 10 attempts";
  EXPECT_EQ(temporaryFilesIn(dir_), std::vector<std::string>{}) << "temporary files left in " << dir_;
  EXPECT_EQ(readFile(output_), previous);
  EXPECT_EQ(readFile(output_ + ".data"), previous);
}

INSTANTIATE_TEST_SUITE_P(Signals, InterruptedWriteTest, ::testing::Values(SIGTERM, SIGINT, SIGHUP),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(info.param == SIGTERM ? "SIGTERM"
                                              : info.param == SIGINT ? "SIGINT"
                                                                     : "SIGHUP");
                         });

}  // namespace
}  // namespace modelexport::e2e

// The fuzz targets' main() where libFuzzer is not used (the gcc build of the suite):
// runs every corpus file through LLVMFuzzerTestOneInput, then mutates corpus files at
// random until -max_total_time runs out. No coverage feedback, but the same inputs and
// the same kinds of damage (bit flips, cut, repeated and spliced ranges), so the suite
// replays the corpus and the regression inputs with any compiler. Takes the libFuzzer
// flags the suite passes (-max_total_time=N, -runs=N, -seed=N); others are ignored.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {
namespace fs = std::filesystem;

using Bytes = std::vector<uint8_t>;

// The input being run, saved by the crash handler.
const Bytes* gCurrent = nullptr;
char gCrashPath[256] = "fuzz-crash-input";

void saveInputAndDie(int signal) {
  if (gCurrent) {
    const int fd = ::open(gCrashPath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      const ssize_t written = ::write(fd, gCurrent->data(), gCurrent->size());
      (void)written;
      ::close(fd);
    }
    static const char note[] = "\nreplay driver: the crashing input is saved as ";
    ssize_t ignored = ::write(2, note, sizeof note - 1);
    ignored = ::write(2, gCrashPath, std::strlen(gCrashPath));
    ignored = ::write(2, "\n", 1);
    (void)ignored;
  }
  ::signal(signal, SIG_DFL);
  ::raise(signal);
}

void run(const Bytes& input) {
  gCurrent = &input;
  LLVMFuzzerTestOneInput(input.data(), input.size());
  gCurrent = nullptr;
}

Bytes readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Values that make length and offset fields interesting.
const uint64_t kInteresting[] = {0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, UINT64_MAX};

Bytes mutate(const std::vector<Bytes>& corpus, std::mt19937_64& rng, size_t maxLength) {
  auto pick = [&](size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng() % n); };
  Bytes b = corpus[pick(corpus.size())];
  const size_t edits = 1 + pick(8);
  for (size_t e = 0; e < edits; ++e) {
    switch (pick(7)) {
      case 0:  // flip a bit
        if (!b.empty()) b[pick(b.size())] ^= static_cast<uint8_t>(1u << pick(8));
        break;
      case 1:  // a random byte
        if (!b.empty()) b[pick(b.size())] = static_cast<uint8_t>(rng());
        break;
      case 2: {  // an interesting little-endian value of 1, 2, 4 or 8 bytes
        const size_t width = size_t{1} << pick(4);
        if (b.size() < width) break;
        const uint64_t v = kInteresting[pick(std::size(kInteresting))];
        const size_t at = pick(b.size() - width + 1);
        for (size_t i = 0; i < width; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
        break;
      }
      case 3: {  // cut a range
        if (b.empty()) break;
        const size_t at = pick(b.size());
        b.erase(b.begin() + at, b.begin() + at + std::min(b.size() - at, 1 + pick(64)));
        break;
      }
      case 4: {  // repeat a range
        if (b.empty()) break;
        const size_t at = pick(b.size());
        const size_t n = std::min(b.size() - at, 1 + pick(64));
        const Bytes range(b.begin() + at, b.begin() + at + n);
        b.insert(b.begin() + pick(b.size() + 1), range.begin(), range.end());
        break;
      }
      case 5:  // truncate
        b.resize(pick(b.size() + 1));
        break;
      case 6: {  // splice in a range of another input
        const Bytes& other = corpus[pick(corpus.size())];
        if (other.empty()) break;
        const size_t at = pick(other.size());
        const size_t n = std::min(other.size() - at, 1 + pick(256));
        b.insert(b.begin() + pick(b.size() + 1), other.begin() + at, other.begin() + at + n);
        break;
      }
    }
  }
  if (b.size() > maxLength) b.resize(maxLength);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0;
  long long runs = -1;
  uint64_t seed = 1;
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* flag) { return arg.substr(std::strlen(flag)); };
    if (arg.rfind("-max_total_time=", 0) == 0) seconds = std::stod(value("-max_total_time="));
    else if (arg.rfind("-runs=", 0) == 0) runs = std::stoll(value("-runs="));
    else if (arg.rfind("-seed=", 0) == 0) seed = std::stoull(value("-seed="));
    else if (arg.rfind("-", 0) == 0) continue;
    else inputs.emplace_back(arg);
  }
  std::snprintf(gCrashPath, sizeof gCrashPath, "fuzz-crash-%d", static_cast<int>(::getpid()));
  for (int s : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL}) ::signal(s, saveInputAndDie);

  std::vector<Bytes> corpus;
  for (const auto& input : inputs) {
    std::error_code ec;
    if (fs::is_directory(input, ec)) {
      std::vector<fs::path> files;
      for (const auto& entry : fs::recursive_directory_iterator(input, ec))
        if (entry.is_regular_file(ec)) files.push_back(entry.path());
      std::sort(files.begin(), files.end());
      for (const auto& f : files) corpus.push_back(readFile(f));
    } else if (fs::is_regular_file(input, ec)) {
      corpus.push_back(readFile(input));
    } else {
      std::cerr << "replay driver: " << input.string() << ": no such file or directory\n";
      return 2;
    }
  }
  const auto start = std::chrono::steady_clock::now();
  for (const auto& input : corpus) run(input);
  long long executions = static_cast<long long>(corpus.size());
  if (corpus.empty()) corpus.push_back({});
  size_t maxLength = 4096;
  for (const auto& input : corpus) maxLength = std::max(maxLength, input.size());
  std::mt19937_64 rng(seed);
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  while ((runs < 0 || executions < runs) && elapsed() < seconds) {
    run(mutate(corpus, rng, maxLength));
    ++executions;
  }
  std::cout << "replay driver: " << corpus.size() << " corpus inputs, " << executions << " executions in "
            << static_cast<int>(elapsed() * 1000) << " ms (seed " << seed << "), no crash\n";
  return 0;
}

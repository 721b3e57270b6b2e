#include "modelexport/file_backed_tensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "modelexport/errors.h"

namespace modelexport {
namespace {

struct Region {
  const unsigned char* base;
  uint64_t size;
  int fd;
};

// Live mappings; few (one per archive), so a linear search.
class Regions {
 public:
  void add(Region r) {
    std::lock_guard<std::mutex> lock(mutex_);
    regions_.push_back(r);
  }
  void remove(const void* base) {
    std::lock_guard<std::mutex> lock(mutex_);
    regions_.erase(std::remove_if(regions_.begin(), regions_.end(), [&](const Region& r) { return r.base == base; }),
                   regions_.end());
  }
  // The region holding all of [p, p + n).
  std::optional<Region> find(const void* p, size_t n) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto* b = static_cast<const unsigned char*>(p);
    for (const Region& r : regions_)
      if (b >= r.base && b < r.base + r.size && n <= static_cast<uint64_t>(r.base + r.size - b)) return r;
    return std::nullopt;
  }

 private:
  std::mutex mutex_;
  std::vector<Region> regions_;
};

Regions& regions() {
  static auto* live = new Regions();  // outlives every tensor, even at exit
  return *live;
}

const uint64_t kPage = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));

// /proc/self/pagemap (kernel docs admin-guide/mm/pagemap.rst): one 64-bit entry per
// page; bit 63 present, 62 swapped, 61 a file page (not an anonymous copy made by a
// write to a private mapping). Readable without privileges (the frame numbers are not).
constexpr uint64_t kPresent = uint64_t(1) << 63;
constexpr uint64_t kSwapped = uint64_t(1) << 62;
constexpr uint64_t kFilePage = uint64_t(1) << 61;

int pagemapFd() {
  static const int fd = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  return fd;
}

// Calls `visit(firstPage, entries, count)` over the pagemap entries of the pages of
// [p, p + n), a chunk at a time; false when the pagemap cannot be read.
template <typename Visit>
bool forEachPageEntries(const void* p, size_t n, Visit visit) {
  const int fd = pagemapFd();
  if (fd < 0) return false;
  const uint64_t first = reinterpret_cast<uintptr_t>(p) / kPage;
  const uint64_t end = (reinterpret_cast<uintptr_t>(p) + n + kPage - 1) / kPage;
  constexpr uint64_t kChunk = 4096;
  uint64_t entries[kChunk];
  for (uint64_t page = first; page < end;) {
    const uint64_t count = std::min(kChunk, end - page);
    const ssize_t got = ::pread(fd, entries, count * sizeof(uint64_t), static_cast<off_t>(page * sizeof(uint64_t)));
    if (got != static_cast<ssize_t>(count * sizeof(uint64_t))) return false;
    if (!visit(page, entries, count)) return true;
    page += count;
  }
  return true;
}

}  // namespace

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw UserError(path + ": cannot open: " + std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0 || info.st_size <= 0) {
    ::close(fd);
    throw UserError(path + ": cannot read: empty or not a regular file");
  }
  const auto size = static_cast<uint64_t>(info.st_size);
  void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (base == MAP_FAILED) {
    const int err = errno;
    ::close(fd);
    throw UserError(path + ": cannot map: " + std::strerror(err));
  }
  return std::shared_ptr<MappedFile>(new MappedFile(fd, static_cast<unsigned char*>(base), size));
}

MappedFile::MappedFile(int fd, unsigned char* base, uint64_t size) : fd_(fd), base_(base), size_(size) {
  registerFileMapping(base_, size_, fd_);
}

MappedFile::~MappedFile() {
  regions().remove(base_);
  ::munmap(base_, size_);
  ::close(fd_);
}

at::Tensor MappedFile::tensor(uint64_t offset, uint64_t bytes, at::ScalarType dtype) {
  TORCH_CHECK(offset <= size_ && bytes <= size_ - offset, "tensor outside the mapped file");
  const auto elements = static_cast<int64_t>(bytes / c10::elementSize(dtype));
  // The deleter holds a reference: the mapping lives as long as any tensor over it.
  std::shared_ptr<MappedFile> self = shared_from_this();
  return at::from_blob(base_ + offset, {elements}, [self](void*) {}, at::TensorOptions().dtype(dtype));
}

void registerFileMapping(const void* base, uint64_t size, int fd) {
  regions().add({static_cast<const unsigned char*>(base), size, fd});
}

void unregisterFileMapping(const void* base) { regions().remove(base); }

std::optional<FileSpan> pristineFileSpan(const void* p, size_t n) {
  const auto region = regions().find(p, n);
  if (!region) return std::nullopt;
  bool pristine = true;
  const bool read = forEachPageEntries(p, n, [&](uint64_t, const uint64_t* entries, uint64_t count) {
    for (uint64_t i = 0; i < count && pristine; ++i)
      pristine = !(entries[i] & kSwapped) && (!(entries[i] & kPresent) || (entries[i] & kFilePage));
    return pristine;
  });
  if (!read || !pristine) return std::nullopt;
  return FileSpan{region->fd, static_cast<uint64_t>(static_cast<const unsigned char*>(p) - region->base)};
}

void dropReadPages(const void* p, size_t n) {
  if (n == 0) return;
  const auto region = regions().find(p, n);
  if (!region) return;
  forEachPageEntries(p, n, [&](uint64_t first, const uint64_t* entries, uint64_t count) {
    // Runs of present file pages: madvise over each (anonymous copies stay).
    for (uint64_t i = 0; i < count;) {
      if ((entries[i] & (kPresent | kFilePage)) != (kPresent | kFilePage)) {
        ++i;
        continue;
      }
      uint64_t j = i;
      while (j < count && (entries[j] & (kPresent | kFilePage)) == (kPresent | kFilePage)) ++j;
      ::madvise(reinterpret_cast<void*>((first + i) * kPage), (j - i) * kPage, MADV_DONTNEED);
      i = j;
    }
    return true;
  });
}

namespace {

// The bytes a view reaches, from its first element to its last; 0 when there are none or
// its first element is not its lowest address (a negative stride).
size_t reachedBytes(const at::Tensor& tensor) {
  if (!tensor.defined() || tensor.is_sparse() || !tensor.has_storage() || tensor.numel() == 0) return 0;
  int64_t last = 0;
  for (int64_t d = 0; d < tensor.dim(); ++d) {
    if (tensor.stride(d) < 0) return 0;
    last += (tensor.size(d) - 1) * tensor.stride(d);
  }
  return static_cast<size_t>(last + 1) * tensor.element_size();
}

}  // namespace

void dropReadPages(const at::Tensor& tensor) {
  if (const size_t n = reachedBytes(tensor)) dropReadPages(tensor.data_ptr(), n);
}

void adviseWillRead(const at::Tensor& tensor) {
  const size_t n = reachedBytes(tensor);
  if (n == 0 || !regions().find(tensor.data_ptr(), n)) return;
  const auto first = reinterpret_cast<uintptr_t>(tensor.data_ptr()) / kPage * kPage;
  const auto end = reinterpret_cast<uintptr_t>(tensor.data_ptr()) + n;
  ::madvise(reinterpret_cast<void*>(first), end - first, MADV_WILLNEED);
}

}  // namespace modelexport

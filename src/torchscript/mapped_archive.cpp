#include "modelexport/mapped_archive.h"
#include "modelexport/file_backed_tensors.h"
#include "modelexport/pickle_lengths.h"
#include "modelexport/zip_directory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <system_error>
#include <unordered_map>
#include <vector>

#include <c10/core/CPUAllocator.h>
#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/read_adapter_interface.h>

namespace modelexport {
namespace {

// Records smaller than this are copied: lending them saves nothing worth the bookkeeping.
constexpr size_t kMinLentBytes = 4096;
// LibTorch's CPU tensors are 64-byte aligned; PyTorch's zip writer aligns records to 64.
constexpr uint64_t kLentAlignment = 64;

// A file mapping shared by the archive and every tensor lent out of it: unmapped when
// the last of them lets go.
struct Mapping {
  unsigned char* base = nullptr;
  size_t size = 0;
  int fd = -1;  // the file, open while mapped: the writer copies untouched weights from it
  std::atomic<size_t> holders{1};
  bool contains(const void* p) const {
    auto* b = static_cast<const unsigned char*>(p);
    return b >= base && b < base + size;
  }
};

// Mappings with holders. LibTorch frees some buffers through the allocator's raw deleter
// with nothing but the data pointer, so a lent pointer is traced back to its mapping here.
class LiveMappings {
 public:
  void add(Mapping* m) {
    std::lock_guard<std::mutex> lock(mutex_);
    live_.push_back(m);
    count_.store(live_.size(), std::memory_order_release);
  }
  // Drops one holder of the mapping containing p; false when p is in none of them.
  bool release(const void* p) {
    if (count_.load(std::memory_order_acquire) == 0) return false;
    Mapping* done = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = std::find_if(live_.begin(), live_.end(), [&](Mapping* m) { return m->contains(p); });
      if (it == live_.end()) return false;
      if (--(*it)->holders == 0) {
        done = *it;
        live_.erase(it);
        count_.store(live_.size(), std::memory_order_release);
      }
    }
    if (done) {
      unregisterFileMapping(done->base);
      munmap(done->base, done->size);
      if (done->fd >= 0) ::close(done->fd);
      delete done;
    }
    return true;
  }

 private:
  std::mutex mutex_;
  std::vector<Mapping*> live_;
  std::atomic<size_t> count_{0};
};

LiveMappings& liveMappings() {
  static auto* registry = new LiveMappings();  // outlives every tensor, even at exit
  return *registry;
}

// The CPU allocator's own raw deleter, for pointers that were not lent.
at::DeleterFnPtr gFallbackRawDeleter = nullptr;

// Lent buffers have data == context, as raw_allocate requires, so one deleter serves
// DataPtrs and raw frees alike.
void releaseBuffer(void* p) {
  if (!liveMappings().release(p)) gFallbackRawDeleter(p);
}

struct StoredRecord {
  uint64_t offset;  // of the data, in the file
  uint64_t size;
};

// The stored records of a zip file, from its central directory (zip_directory.h).
// Returns nothing when the directory is not what PyTorch writes: unreadable, a stored
// record's local header missing or naming another record, or records that overlap.
std::vector<StoredRecord> storedRecords(const unsigned char* file, uint64_t size) {
  const ZipMemoryBytes bytes(file, size);
  const std::optional<std::vector<ZipEntry>> entries = readZipDirectory(bytes);
  if (!entries) return {};
  std::vector<StoredRecord> records;
  for (const ZipEntry& entry : *entries) {
    if (!entry.stored()) continue;
    const std::optional<uint64_t> data = zipEntryDataOffset(bytes, entry);
    if (!data) return {};
    records.push_back({*data, entry.uncompressedSize});
  }
  // Lent records must not overlap: a copy into one would show through the other.
  std::sort(records.begin(), records.end(), [](const StoredRecord& a, const StoredRecord& b) { return a.offset < b.offset; });
  for (size_t i = 1; i < records.size(); ++i)
    if (records[i - 1].offset + records[i - 1].size > records[i].offset) return {};
  return records;
}

}  // namespace

struct MappedArchive::State {
  Mapping* mapping = nullptr;  // one holder is this state
  // A second, read-only view of the file: what every copy is made from. The lent view
  // cannot serve as the source: lending goes by size, so an allocation that is no
  // record's read (onednn's weight reorder in a packed-params __setstate__, made through
  // this allocator while the load runs) may get a record not read yet and write into it.
  const unsigned char* source = nullptr;
  std::mutex mutex;
  // Offsets of the records not lent yet, by size; each list ends with the first in file
  // order (the order LibTorch reads them), so lending pops the back.
  std::unordered_map<uint64_t, std::vector<uint64_t>> unlent;
  size_t lendable = 0;
  std::atomic<uint64_t> mappedBytes{0};
  std::atomic<uint64_t> copiedBytes{0};

  // A view of the next unlent record of exactly n bytes, or an empty DataPtr.
  at::DataPtr lend(size_t n) {
    std::lock_guard<std::mutex> lock(mutex);
    auto offsets = unlent.find(n);
    if (offsets == unlent.end() || offsets->second.empty()) return {};
    unsigned char* data = mapping->base + offsets->second.back();
    offsets->second.pop_back();
    ++mapping->holders;
    return at::DataPtr(data, data, &releaseBuffer, at::Device(at::kCPU));
  }
  ~State() {
    if (mapping) {
      if (source) munmap(const_cast<unsigned char*>(source), mapping->size);
      liveMappings().release(mapping->base);
    }
  }
};

namespace {

// Wraps LibTorch's CPU allocator: while an archive is loading, an allocation the size of
// one of its records gets that record's mapped bytes; otherwise it passes through.
class LendingAllocator final : public at::Allocator {
 public:
  explicit LendingAllocator(at::Allocator* fallback) : fallback_(fallback) {
    gFallbackRawDeleter = fallback->raw_deleter();
  }

  at::DataPtr allocate(size_t n) override {
    if (n >= kMinLentBytes) {
      if (MappedArchive::State* lender = lender_.load(std::memory_order_acquire)) {
        at::DataPtr lent = lender->lend(n);
        if (lent) return lent;
      }
    }
    return fallback_->allocate(n);
  }

  at::DeleterFnPtr raw_deleter() const override { return gFallbackRawDeleter ? &releaseBuffer : nullptr; }
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    default_copy_data(dest, src, count);
  }

  void setLender(MappedArchive::State* lender) const { lender_.store(lender, std::memory_order_release); }
  bool installed() const { return c10::GetCPUAllocator() == this && gFallbackRawDeleter != nullptr; }

 private:
  at::Allocator* fallback_;
  mutable std::atomic<MappedArchive::State*> lender_{nullptr};
};

const LendingAllocator& lendingAllocator() {
  static LendingAllocator* allocator = [] {
    auto* wrapper = new LendingAllocator(c10::GetCPUAllocator());  // lives as long as the process
    c10::SetCPUAllocator(wrapper, /*priority=*/std::numeric_limits<uint8_t>::max());
    return wrapper;
  }();
  return *allocator;
}

// Reads from the file's read-only view; a read into the record's own lent bytes is already
// done.
class MappedReadAdapter final : public caffe2::serialize::ReadAdapterInterface {
 public:
  explicit MappedReadAdapter(std::shared_ptr<MappedArchive::State> state) : state_(std::move(state)) {}
  size_t size() const override { return state_->mapping->size; }
  size_t read(uint64_t pos, void* buf, size_t n, const char* /*what*/) const override {
    const Mapping& m = *state_->mapping;
    if (pos >= m.size) return 0;
    n = std::min<uint64_t>(n, m.size - pos);
    if (static_cast<unsigned char*>(buf) == m.base + pos) {
      state_->mappedBytes += n;
    } else {
      std::memcpy(buf, state_->source + pos, n);
      state_->copiedBytes += n;
    }
    return n;
  }

 private:
  std::shared_ptr<MappedArchive::State> state_;
};

}  // namespace

MappedArchive::MappedArchive(const std::string& path) : state_(std::make_shared<State>()) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), path);
  struct stat info {};
  if (::fstat(fd, &info) != 0 || info.st_size <= 0) {
    const int err = errno;
    ::close(fd);
    throw std::system_error(err ? err : EINVAL, std::generic_category(), path);
  }
  void* base = ::mmap(nullptr, static_cast<size_t>(info.st_size), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  int err = errno;
  void* source = MAP_FAILED;
  if (base != MAP_FAILED) {
    source = ::mmap(nullptr, static_cast<size_t>(info.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    err = errno;
    if (source == MAP_FAILED) ::munmap(base, static_cast<size_t>(info.st_size));
  }
  if (base == MAP_FAILED || source == MAP_FAILED) {
    ::close(fd);
    throw std::system_error(err, std::generic_category(), path);
  }
  state_->source = static_cast<const unsigned char*>(source);
  state_->mapping = new Mapping();
  state_->mapping->base = static_cast<unsigned char*>(base);
  state_->mapping->size = static_cast<size_t>(info.st_size);
  state_->mapping->fd = fd;
  liveMappings().add(state_->mapping);
  // Lent records are weights over the file's pages: read where used, dropped from the
  // resident set after, copied to external data file to file (file_backed_tensors.h).
  registerFileMapping(base, state_->mapping->size, fd);
  const std::vector<StoredRecord> records = storedRecords(state_->source, state_->mapping->size);
  for (auto r = records.rbegin(); r != records.rend(); ++r) {  // last in file order first
    if (r->size < kMinLentBytes || r->offset % kLentAlignment != 0) continue;
    state_->unlent[r->size].push_back(r->offset);
    ++state_->lendable;
  }
}

MappedArchive::~MappedArchive() = default;

torch::jit::Module MappedArchive::load() {
  checkPickles();
  const LendingAllocator& allocator = lendingAllocator();
  const bool lending = allocator.installed() && state_->lendable > 0;
  struct LenderScope {
    const LendingAllocator& allocator;
    bool active;
    ~LenderScope() {
      if (active) allocator.setLender(nullptr);
    }
  } scope{allocator, lending};
  if (lending) allocator.setLender(state_.get());
  return torch::jit::load(std::make_shared<MappedReadAdapter>(state_), torch::kCPU);
}

// The pickles as LibTorch's reader sees them (stored or compressed), before its
// unpickler allocates the lengths they state.
void MappedArchive::checkPickles() const {
  caffe2::serialize::PyTorchStreamReader reader(std::make_shared<MappedReadAdapter>(state_));
  for (const std::string& name : reader.getAllRecords()) {
    // data.pkl, constants.pkl, and the source ranges of code/*.py.debug_pkl, which
    // LibTorch unpickles when an error message shows a source line.
    const bool pickle = (name.size() > 4 && name.compare(name.size() - 4, 4, ".pkl") == 0) ||
                        (name.size() > 10 && name.compare(name.size() - 10, 10, ".debug_pkl") == 0);
    if (!pickle) continue;
    const auto [bytes, size] = reader.getRecord(name);
    if (auto error = pickleLengthError(static_cast<const unsigned char*>(bytes.get()), size))
      throw std::runtime_error("record " + name + " is damaged: " + *error);
  }
}

ArchiveLoadStats MappedArchive::stats() const { return {state_->mappedBytes.load(), state_->copiedBytes.load()}; }

size_t MappedArchive::lendableRecords() const { return state_->lendable; }

}  // namespace modelexport

#pragma once
// Loading a TorchScript archive without copying its tensors: the file is mapped
// copy-on-write and each stored record becomes a view of the page cache.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <torch/script.h>

namespace modelexport {

// Bytes that a load served as views of the mapping vs. copied out of it.
struct ArchiveLoadStats {
  uint64_t mappedBytes = 0;
  uint64_t copiedBytes = 0;
};

class MappedArchive {
 public:
  // Throws std::system_error when the file cannot be opened or mapped.
  explicit MappedArchive(const std::string& path);
  ~MappedArchive();
  MappedArchive(const MappedArchive&) = delete;
  MappedArchive& operator=(const MappedArchive&) = delete;

  // torch::jit::load over the mapping. While it runs, LibTorch's CPU allocator hands
  // out the mapped bytes of a record not read yet to an allocation of its size, so the
  // read of that record is no copy. Writes to such a tensor stay private to the process
  // (MAP_PRIVATE). Copies come from a second, read-only view of the file: an allocation
  // that was lent a record but is no read of it may write into those bytes.
  torch::jit::Module load();

  ArchiveLoadStats stats() const;
  // Stored (uncompressed) records found in the zip directory; 0 when it could not be read.
  size_t lendableRecords() const;

  struct State;

 private:
  // Throws std::runtime_error naming a pickle record (*.pkl, *.debug_pkl) that
  // pickleLengthError finds damaged.
  void checkPickles() const;
  std::shared_ptr<State> state_;
};

}  // namespace modelexport

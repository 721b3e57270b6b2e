#pragma once
// Tensors whose bytes are a file's mapped pages (the weights of a model archive), so a
// model of any size loads without copying its weights and its export streams them:
// - a tensor over the mapping is read from the page cache only where it is used;
// - its bytes go to the output by an in-kernel copy from the file (copy_file_range)
//   when no page of them was written in memory;
// - pages that were only read are dropped from the process's resident set once read
//   (they stay in the page cache), so the peak RSS does not grow with the weights.
// The mapping is private and writable: a write to such a tensor stays in this process
// and that page is from then on neither copied from the file nor dropped.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <torch/script.h>

namespace modelexport {

class MappedFile : public std::enable_shared_from_this<MappedFile> {
 public:
  // Maps the whole file. Throws UserError naming `path` when it cannot.
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const unsigned char* data() const { return base_; }
  uint64_t size() const { return size_; }
  // A 1-d tensor of `dtype` over bytes [offset, offset + bytes) of the file; it keeps
  // the mapping alive. The range must lie in the file.
  at::Tensor tensor(uint64_t offset, uint64_t bytes, at::ScalarType dtype);

 private:
  MappedFile(int fd, unsigned char* base, uint64_t size);
  int fd_;
  unsigned char* base_;
  uint64_t size_;
};

// Where bytes [p, p + n) of a live mapping come from in its file.
struct FileSpan {
  int fd;
  uint64_t offset;
};

// The file span of [p, p + n) when it lies in one live mapping (MappedFile, or a
// mapping registered below) and none of its pages was written in this process.
std::optional<FileSpan> pristineFileSpan(const void* p, size_t n);

// Drops the pages of [p, p + n) that belong to a live mapping and were never written
// from this process's resident set; a later read maps them again from the page cache.
// Does nothing for memory outside the mappings.
void dropReadPages(const void* p, size_t n);
// The same for a tensor's storage bytes (the whole storage a view reads from).
void dropReadPages(const at::Tensor& tensor);

// Asks the kernel to read the file pages under a tensor's storage range (as
// dropReadPages(tensor) spans it) ahead, in one sequential read, when it lies in a live
// mapping: a transposed view then reads them from the page cache instead of faulting
// them in one by one in its own order. Does nothing elsewhere.
void adviseWillRead(const at::Tensor& tensor);

// Registers another private file mapping (a TorchScript archive's) for the two calls
// above; `fd` stays open until `unregisterFileMapping`.
void registerFileMapping(const void* base, uint64_t size, int fd);
void unregisterFileMapping(const void* base);

}  // namespace modelexport

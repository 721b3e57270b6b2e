#pragma once
// The bytes of a model's weights, row-major, in the order they are written. A weight
// that is a view (a Linear weight transposed for ONNX's MatMul) needs its elements
// reordered; that runs on a second thread, a few slices ahead of the writer and across
// weight boundaries, so reordering one weight overlaps writing the previous one. Memory
// stays bounded: a few slices of about 8 MiB, never a view's full copy.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <torch/script.h>

namespace modelexport {

class ReorderAhead {
 public:
  // Starts reordering the views among `tensors`; contiguous ones are read from their own
  // memory when their turn comes.
  explicit ReorderAhead(std::vector<at::Tensor> tensors);
  // Stops the second thread (also when the reader gave up half-way, on an error).
  ~ReorderAhead();
  ReorderAhead(const ReorderAhead&) = delete;
  ReorderAhead& operator=(const ReorderAhead&) = delete;

  // Hands tensor `index`'s bytes to `sink(data, size)`, a few MiB at a time. Tensors are
  // read once each, in order. Pages read from a mapped archive leave the resident set
  // after use (file_backed_tensors.h). Rethrows what reordering this tensor threw.
  void read(size_t index, const std::function<void(const char*, size_t)>& sink);

 private:
  struct Slice {
    size_t tensor;
    size_t buffer;
    const char* data;
    size_t bytes;
    at::Tensor keep;  // LibTorch's own copy, for a form the tiles do not cover
    bool last;
  };
  void produce();

  std::vector<at::Tensor> tensors_;
  std::vector<std::vector<char>> buffers_;
  std::vector<size_t> freeBuffers_;
  std::deque<Slice> ready_;
  std::exception_ptr error_;
  bool stopping_ = false;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::thread worker_;
};

}  // namespace modelexport

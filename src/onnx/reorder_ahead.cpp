#include "modelexport/reorder_ahead.h"

#include <algorithm>
#include <cstdint>

#include "modelexport/file_backed_tensors.h"
#include "modelexport/transposed_copy.h"
#include "modelexport/weight_payloads.h"

namespace modelexport {
namespace {

// Slices ready or being filled at once: the writer's, one ready, one being reordered.
constexpr size_t kBuffers = 3;

}  // namespace

ReorderAhead::ReorderAhead(std::vector<at::Tensor> tensors)
    : tensors_(std::move(tensors)), buffers_(kBuffers) {
  for (size_t b = 0; b < kBuffers; ++b) freeBuffers_.push_back(b);
  worker_ = std::thread([this] { produce(); });
}

ReorderAhead::~ReorderAhead() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

void ReorderAhead::produce() {
  try {
    for (size_t i = 0; i < tensors_.size(); ++i) {
      const at::Tensor& t = tensors_[i];
      if (t.is_contiguous() || t.numel() == 0) continue;
      // The view reads its whole storage range once per slice: ask for it from the file
      // now, in one sequential read-ahead, not page by page in the view's order.
      adviseWillRead(t);
      const int64_t rows = t.size(0);
      const int64_t step = rowsPerSlice(t);
      for (int64_t r = 0; r < rows; r += step) {
        size_t buffer;
        {
          std::unique_lock<std::mutex> lock(mutex_);
          changed_.wait(lock, [&] { return stopping_ || !freeBuffers_.empty(); });
          if (stopping_) return;
          buffer = freeBuffers_.back();
          freeBuffers_.pop_back();
        }
        const int64_t end = std::min(rows, r + step);
        Slice slice{i, buffer, nullptr, tensorBytes(t) / static_cast<size_t>(rows) * static_cast<size_t>(end - r),
                    at::Tensor(), end == rows};
        std::vector<char>& bytes = buffers_[buffer];
        if (bytes.size() < slice.bytes) bytes.resize(slice.bytes);
        if (copyRowsTiled(t, r, end, bytes.data())) {
          slice.data = bytes.data();
        } else {
          slice.keep = t.slice(0, r, end).contiguous();
          slice.data = static_cast<const char*>(slice.keep.data_ptr());
        }
        if (slice.last) dropReadPages(t);
        {
          std::lock_guard<std::mutex> lock(mutex_);
          ready_.push_back(std::move(slice));
        }
        changed_.notify_all();
      }
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    error_ = std::current_exception();
    changed_.notify_all();
  }
}

void ReorderAhead::read(size_t index, const std::function<void(const char*, size_t)>& sink) {
  const at::Tensor& t = tensors_.at(index);
  if (t.numel() == 0) return;
  if (t.is_contiguous()) {
    constexpr size_t kChunkBytes = size_t(8) << 20;
    const size_t total = tensorBytes(t);
    const char* data = static_cast<const char*>(t.data_ptr());
    for (size_t done = 0; done < total;) {
      const size_t n = std::min(kChunkBytes, total - done);
      sink(data + done, n);
      dropReadPages(data + done, n);
      done += n;
    }
    return;
  }
  for (bool last = false; !last;) {
    Slice slice;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] { return !ready_.empty() || error_; });
      if (ready_.empty()) std::rethrow_exception(error_);
      slice = std::move(ready_.front());
      ready_.pop_front();
    }
    if (slice.tensor != index) throw std::logic_error("ReorderAhead: tensors read out of order");
    sink(slice.data, slice.bytes);
    last = slice.last;
    slice.keep = at::Tensor();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      freeBuffers_.push_back(slice.buffer);
    }
    changed_.notify_all();
  }
}

}  // namespace modelexport

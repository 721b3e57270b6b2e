#include "modelexport/reorder_ahead.h"

#include <algorithm>
#include <cstdint>

#include "modelexport/file_backed_tensors.h"
#include "modelexport/weight_payloads.h"

namespace modelexport {
namespace {

// Slices ready or being filled at once: the writer's, one ready, one being reordered.
constexpr size_t kBuffers = 3;

// A transposed weight reads down its storage's columns: 64x64 tiles keep both sides in
// cache, and each 8x8 block goes through a local array the compiler keeps in registers,
// so reads and writes are both runs of 8 (3x an element-wise tile loop).
template <typename T>
void copyRowsTiledAs(const at::Tensor& t, int64_t r0, int64_t r1, char* out) {
  constexpr int64_t kTile = 64;
  constexpr int64_t kBlock = 8;
  const T* src = static_cast<const T*>(t.data_ptr());
  T* dst = reinterpret_cast<T*>(out);
  const int64_t cols = t.size(1), s0 = t.stride(0), s1 = t.stride(1);
  auto copyEdge = [&](int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    for (int64_t i = i0; i < i1; ++i)
      for (int64_t j = j0; j < j1; ++j) dst[(i - r0) * cols + j] = src[i * s0 + j * s1];
  };
  for (int64_t ib = r0; ib < r1; ib += kTile) {
    const int64_t ie = std::min(r1, ib + kTile);
    for (int64_t jb = 0; jb < cols; jb += kTile) {
      const int64_t je = std::min(cols, jb + kTile);
      for (int64_t i = ib; i < ie; i += kBlock) {
        for (int64_t j = jb; j < je; j += kBlock) {
          if (i + kBlock > ie || j + kBlock > je) {
            copyEdge(i, std::min(ie, i + kBlock), j, std::min(je, j + kBlock));
            continue;
          }
          T block[kBlock][kBlock];
          for (int64_t b = 0; b < kBlock; ++b)
            for (int64_t a = 0; a < kBlock; ++a) block[b][a] = src[(i + a) * s0 + (j + b) * s1];
          for (int64_t a = 0; a < kBlock; ++a)
            for (int64_t b = 0; b < kBlock; ++b) dst[(i + a - r0) * cols + j + b] = block[b][a];
        }
      }
    }
  }
}

}  // namespace

bool copyRowsTiled(const at::Tensor& t, int64_t r0, int64_t r1, char* out) {
  if (t.dim() != 2 || t.is_quantized() || t.stride(0) < 0 || t.stride(1) < 0) return false;
  switch (t.element_size()) {
    case 1: copyRowsTiledAs<uint8_t>(t, r0, r1, out); return true;
    case 2: copyRowsTiledAs<uint16_t>(t, r0, r1, out); return true;
    case 4: copyRowsTiledAs<uint32_t>(t, r0, r1, out); return true;
    case 8: copyRowsTiledAs<uint64_t>(t, r0, r1, out); return true;
    default: return false;
  }
}

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

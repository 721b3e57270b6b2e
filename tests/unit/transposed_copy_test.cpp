// The row copy the writer reorders views with: every element size, the SIMD blocks and
// the portable loops, ranges and shapes that end inside a block, against LibTorch's own
// contiguous copy.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include <torch/script.h>

#include "modelexport/transposed_copy.h"

namespace modelexport {
namespace {

// Rows [r0, r1) of `view` as LibTorch lays them out contiguously.
std::vector<char> expectedRows(const at::Tensor& view, int64_t r0, int64_t r1) {
  const at::Tensor rows = view.slice(0, r0, r1).contiguous();
  const auto* p = static_cast<const char*>(rows.data_ptr());
  return std::vector<char>(p, p + rows.nbytes());
}

std::vector<char> copiedRows(const at::Tensor& view, int64_t r0, int64_t r1, bool allowSimd) {
  std::vector<char> out(static_cast<size_t>((r1 - r0) * view.size(1)) * view.element_size(), '\x5a');
  EXPECT_TRUE(copyRowsTiled(view, r0, r1, out.data(), allowSimd));
  return out;
}

// Distinct bit patterns in every element, NaN payloads included: the copy moves bits.
at::Tensor patterned(int64_t rows, int64_t cols, at::ScalarType dtype) {
  const int64_t bytes = rows * cols * static_cast<int64_t>(c10::elementSize(dtype));
  at::Tensor raw = at::randint(0, 256, {bytes}, at::kByte);
  return raw.view(dtype).view({rows, cols});
}

class TransposedCopy : public testing::TestWithParam<at::ScalarType> {};

TEST_P(TransposedCopy, TransposedViewsMatchLibTorchForEveryRangeAndShape) {
  const at::ScalarType dtype = GetParam();
  // (storage rows, storage cols): whole blocks and tiles, edges of 1..7, one column.
  const std::vector<std::pair<int64_t, int64_t>> shapes = {{64, 64}, {130, 72}, {37, 29}, {8, 8}, {1, 100},
                                                           {100, 1}, {203, 9},  {16, 257}};
  for (const auto& [rows, cols] : shapes) {
    const at::Tensor weight = patterned(rows, cols, dtype);
    const at::Tensor view = weight.t();  // rows run along the storage: stride(0) == 1
    const int64_t n = view.size(0);
    const std::vector<std::pair<int64_t, int64_t>> ranges = {{0, n}, {0, std::min<int64_t>(n, 8)}, {n / 3, n},
                                                             {n / 2, n / 2 + 1}, {std::min<int64_t>(n, 3), n}};
    for (const auto& [r0, r1] : ranges) {
      if (r0 >= r1) continue;
      const auto expected = expectedRows(view, r0, r1);
      for (bool simd : {true, false}) {
        EXPECT_EQ(copiedRows(view, r0, r1, simd), expected)
            << c10::toString(dtype) << " " << rows << "x" << cols << " rows [" << r0 << ", " << r1 << ") simd "
            << simd;
      }
    }
  }
}

TEST_P(TransposedCopy, OtherStridesMatchLibTorch) {
  const at::ScalarType dtype = GetParam();
  const at::Tensor base = patterned(40, 50, dtype);
  // Every other column, a column range, and a transposed column range.
  for (const at::Tensor& view : {base.slice(1, 0, 50, 2), base.slice(1, 5, 44), base.slice(0, 3, 39).t()}) {
    ASSERT_FALSE(view.is_contiguous());
    for (bool simd : {true, false})
      EXPECT_EQ(copiedRows(view, 1, view.size(0), simd), expectedRows(view, 1, view.size(0)))
          << c10::toString(dtype) << " strides " << view.strides() << " simd " << simd;
  }
}

INSTANTIATE_TEST_SUITE_P(ElementSizes, TransposedCopy,
                         testing::Values(at::kByte, at::kHalf, at::kBFloat16, at::kFloat, at::kInt, at::kDouble),
                         [](const testing::TestParamInfo<at::ScalarType>& info) {
                           return std::string(c10::toString(info.param));
                         });

TEST(TransposedCopyForms, RefusesWhatItDoesNotCover) {
  char out[64];
  EXPECT_FALSE(copyRowsTiled(at::zeros({2, 2, 2}).permute({2, 1, 0}), 0, 2, out));
  EXPECT_FALSE(copyRowsTiled(at::zeros({8}), 0, 8, out));
}

}  // namespace
}  // namespace modelexport

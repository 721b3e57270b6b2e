#include "modelexport/transposed_copy.h"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace modelexport {
namespace {

// Tiles of 64x64 elements keep the rows read and the rows written in cache; inside a
// tile, 8x8 blocks.
constexpr int64_t kTile = 64;
constexpr int64_t kBlock = 8;

// A strip of `blocks` 8x8 blocks of a view whose rows run along its storage (stride(0)
// is 1: a transposed weight). Block k reads the 8 storage runs src + 8k + b * s1 (b < 8)
// and writes them as the 8 columns of the rows starting at dst + 8k * cols.
using StripFn = void (*)(const void* src, int64_t s1, void* dst, int64_t cols, int64_t blocks);

template <typename T>
void transposeStripPortable(const void* src, int64_t s1, void* dst, int64_t cols, int64_t blocks) {
  const T* s = static_cast<const T*>(src);
  T* d = static_cast<T*>(dst);
  for (int64_t k = 0; k < blocks; ++k, s += kBlock, d += kBlock * cols) {
    T block[kBlock][kBlock];  // kept in registers: reads and writes are both runs of 8
    for (int64_t b = 0; b < kBlock; ++b)
      for (int64_t a = 0; a < kBlock; ++a) block[b][a] = s[a + b * s1];
    for (int64_t a = 0; a < kBlock; ++a)
      for (int64_t b = 0; b < kBlock; ++b) d[a * cols + b] = block[b][a];
  }
}

#if defined(__x86_64__)
// 4-byte elements, AVX2: eight 256-bit loads, three rounds of shuffles, eight stores
// (2x the portable loop on this kind of machine; chosen at run time).
__attribute__((target("avx2"))) void transposeStrip32Avx2(const void* src, int64_t s1, void* dst, int64_t cols,
                                                          int64_t blocks) {
  const float* s = static_cast<const float*>(src);
  float* d = static_cast<float*>(dst);
  for (int64_t k = 0; k < blocks; ++k, s += kBlock, d += kBlock * cols) {
    const __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + s1), r2 = _mm256_loadu_ps(s + 2 * s1),
                 r3 = _mm256_loadu_ps(s + 3 * s1), r4 = _mm256_loadu_ps(s + 4 * s1), r5 = _mm256_loadu_ps(s + 5 * s1),
                 r6 = _mm256_loadu_ps(s + 6 * s1), r7 = _mm256_loadu_ps(s + 7 * s1);
    const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
                 t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
                 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
                 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
                 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
                 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(d + cols, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(d + 2 * cols, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(d + 3 * cols, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(d + 4 * cols, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(d + 5 * cols, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(d + 6 * cols, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(d + 7 * cols, _mm256_permute2f128_ps(u3, u7, 0x31));
  }
}

// 2-byte elements (float16, bfloat16), SSE2 (every x86-64): eight 128-bit loads,
// interleaved by 16, 32 and 64 bits.
void transposeStrip16Sse2(const void* src, int64_t s1, void* dst, int64_t cols, int64_t blocks) {
  const uint16_t* s = static_cast<const uint16_t*>(src);
  uint16_t* d = static_cast<uint16_t*>(dst);
  for (int64_t k = 0; k < blocks; ++k, s += kBlock, d += kBlock * cols) {
    __m128i r[kBlock];
    for (int64_t b = 0; b < kBlock; ++b) r[b] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + b * s1));
    const __m128i a0 = _mm_unpacklo_epi16(r[0], r[1]), a1 = _mm_unpackhi_epi16(r[0], r[1]),
                  a2 = _mm_unpacklo_epi16(r[2], r[3]), a3 = _mm_unpackhi_epi16(r[2], r[3]),
                  a4 = _mm_unpacklo_epi16(r[4], r[5]), a5 = _mm_unpackhi_epi16(r[4], r[5]),
                  a6 = _mm_unpacklo_epi16(r[6], r[7]), a7 = _mm_unpackhi_epi16(r[6], r[7]);
    const __m128i b0 = _mm_unpacklo_epi32(a0, a2), b1 = _mm_unpackhi_epi32(a0, a2),
                  b2 = _mm_unpacklo_epi32(a1, a3), b3 = _mm_unpackhi_epi32(a1, a3),
                  b4 = _mm_unpacklo_epi32(a4, a6), b5 = _mm_unpackhi_epi32(a4, a6),
                  b6 = _mm_unpacklo_epi32(a5, a7), b7 = _mm_unpackhi_epi32(a5, a7);
    const __m128i rows[kBlock] = {_mm_unpacklo_epi64(b0, b4), _mm_unpackhi_epi64(b0, b4), _mm_unpacklo_epi64(b1, b5),
                                  _mm_unpackhi_epi64(b1, b5), _mm_unpacklo_epi64(b2, b6), _mm_unpackhi_epi64(b2, b6),
                                  _mm_unpacklo_epi64(b3, b7), _mm_unpackhi_epi64(b3, b7)};
    for (int64_t a = 0; a < kBlock; ++a) _mm_storeu_si128(reinterpret_cast<__m128i*>(d + a * cols), rows[a]);
  }
}
#endif

StripFn stripFor(size_t elementSize, bool allowSimd) {
#if defined(__x86_64__)
  static const bool hasAvx2 = __builtin_cpu_supports("avx2");
  if (allowSimd && elementSize == 4 && hasAvx2) return transposeStrip32Avx2;
  if (allowSimd && elementSize == 2) return transposeStrip16Sse2;
#else
  (void)allowSimd;
#endif
  switch (elementSize) {
    case 1: return transposeStripPortable<uint8_t>;
    case 2: return transposeStripPortable<uint16_t>;
    case 4: return transposeStripPortable<uint32_t>;
    case 8: return transposeStripPortable<uint64_t>;
    default: return nullptr;
  }
}

// A view whose rows run along its storage: full 8x8 blocks by `strip`, the edges
// element by element.
template <typename T>
void copyTransposedRows(const T* src, int64_t s1, int64_t r0, int64_t r1, int64_t cols, T* dst, StripFn strip) {
  auto copyEdge = [&](int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    for (int64_t i = i0; i < i1; ++i)
      for (int64_t j = j0; j < j1; ++j) dst[(i - r0) * cols + j] = src[i + j * s1];
  };
  for (int64_t ib = r0; ib < r1; ib += kTile) {
    const int64_t ie = std::min(r1, ib + kTile);
    const int64_t fullRowsEnd = ib + (ie - ib) / kBlock * kBlock;
    for (int64_t jb = 0; jb < cols; jb += kTile) {
      const int64_t je = std::min(cols, jb + kTile);
      const int64_t fullColsEnd = jb + (je - jb) / kBlock * kBlock;
      for (int64_t j = jb; j < fullColsEnd; j += kBlock)
        strip(src + ib + j * s1, s1, dst + (ib - r0) * cols + j, cols, (fullRowsEnd - ib) / kBlock);
      copyEdge(ib, fullRowsEnd, fullColsEnd, je);
      copyEdge(fullRowsEnd, ie, jb, je);
    }
  }
}

// Any other 2-d strides, element by element in 64x64 tiles.
template <typename T>
void copyStridedRows(const T* src, int64_t s0, int64_t s1, int64_t r0, int64_t r1, int64_t cols, T* dst) {
  for (int64_t ib = r0; ib < r1; ib += kTile) {
    const int64_t ie = std::min(r1, ib + kTile);
    for (int64_t jb = 0; jb < cols; jb += kTile) {
      const int64_t je = std::min(cols, jb + kTile);
      for (int64_t i = ib; i < ie; ++i)
        for (int64_t j = jb; j < je; ++j) dst[(i - r0) * cols + j] = src[i * s0 + j * s1];
    }
  }
}

template <typename T>
void copyRowsAs(const at::Tensor& t, int64_t r0, int64_t r1, char* out, bool allowSimd) {
  const T* src = static_cast<const T*>(t.data_ptr());
  T* dst = reinterpret_cast<T*>(out);
  const int64_t cols = t.size(1), s0 = t.stride(0), s1 = t.stride(1);
  if (s0 == 1 && cols > 1)
    copyTransposedRows(src, s1, r0, r1, cols, dst, stripFor(sizeof(T), allowSimd));
  else
    copyStridedRows(src, s0, s1, r0, r1, cols, dst);
}

}  // namespace

bool copyRowsTiled(const at::Tensor& t, int64_t r0, int64_t r1, char* out, bool allowSimd) {
  if (t.dim() != 2 || t.is_quantized() || t.stride(0) < 0 || t.stride(1) < 0) return false;
  switch (t.element_size()) {
    case 1: copyRowsAs<uint8_t>(t, r0, r1, out, allowSimd); return true;
    case 2: copyRowsAs<uint16_t>(t, r0, r1, out, allowSimd); return true;
    case 4: copyRowsAs<uint32_t>(t, r0, r1, out, allowSimd); return true;
    case 8: copyRowsAs<uint64_t>(t, r0, r1, out, allowSimd); return true;
    default: return false;
  }
}

}  // namespace modelexport

#include "kernels/bf16_convert.h"

#include <algorithm>
#include <bit>
#include <cstddef>

#include "kernels/compute_pool.h"
#include "kernels/simd_clones.h"

namespace hclip {

namespace {

// core/half.h's f32_to_bf16 with its NaN branch turned into a mask (GCC leaves a loop with the branch scalar).
inline std::uint16_t narrow(float f) {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
    const std::uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
    const std::uint32_t quiet_nan = (bits >> 16) | 0x40u;
    const std::uint32_t is_nan = 0u - static_cast<std::uint32_t>((bits & 0x7fffffffu) > 0x7f800000u);
    return static_cast<std::uint16_t>((quiet_nan & is_nan) | (rounded & ~is_nan));
}

HCLIP_SIMD_CLONES void narrow_row(const float* src, int count, std::uint16_t* dst) {
    for (int i = 0; i < count; ++i)
        dst[i] = narrow(src[i]);
}

}  // namespace

void f32_to_bf16_rows(const float* src, int rows, int cols, int ld, std::uint16_t* dst) {
    // Split across the pool from 64K values: the products that read these rows wait for all of them. An image's
    // 50 x 3072 activations (154K values) took 19-25 us split against 27-44 us on one core (medians of 4000,
    // alternated); its 50 x 768 (38K) gained nothing reliable, narrowing being cheaper per value than a LayerNorm.
    constexpr std::size_t kMinSplitNarrowing = 4 * kMinSplitValues;
    const std::size_t values =
        static_cast<std::size_t>(std::max(rows, 0)) * static_cast<std::size_t>(std::max(cols, 0));
    parallel_ranges(rows, values < kMinSplitNarrowing ? 1 : machine_cores(), [&](int r0, int r1) {
        for (int r = r0; r < r1; ++r)
            narrow_row(src + static_cast<std::ptrdiff_t>(r) * ld, cols, dst + static_cast<std::ptrdiff_t>(r) * cols);
    });
}

}  // namespace hclip

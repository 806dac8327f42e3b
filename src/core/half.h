// IEEE binary16 and bfloat16 to and from float32. Widening is exact; narrowing rounds to nearest, ties to even,
// as PyTorch's .half() and .bfloat16() do (so a checkpoint rounded by either is reproduced bit for bit).
#pragma once

#include <bit>
#include <cstdint>

namespace hclip {

inline float bf16_to_f32(std::uint16_t h) {
    return std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16);
}

inline float f16_to_f32(std::uint16_t h) {
    const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
    std::uint32_t exp = (h >> 10) & 0x1fu;
    std::uint32_t mant = h & 0x3ffu;
    std::uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {  // subnormal: renormalise
            exp = 127 - 15 + 1;
            while ((mant & 0x400u) == 0) {
                mant <<= 1;
                --exp;
            }
            mant &= 0x3ffu;
            bits = sign | (exp << 23) | (mant << 13);
        }
    } else if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13);  // inf / nan
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    return std::bit_cast<float>(bits);
}

// Narrowing float32 to bfloat16: keep the high 16 bits, rounded to nearest even. NaN stays a (quiet) NaN.
inline std::uint16_t f32_to_bf16(float f) {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40u);
    const std::uint32_t round = 0x7fffu + ((bits >> 16) & 1u);
    return static_cast<std::uint16_t>((bits + round) >> 16);
}

// Narrowing float32 to IEEE binary16, rounded to nearest even; beyond 65504 (from 65520 on) becomes infinity.
inline std::uint16_t f32_to_f16(float f) {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
    const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
    const std::uint32_t mag = bits & 0x7fffffffu;
    if (mag > 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7e00u | ((mag >> 13) & 0x3ffu));  // NaN
    if (mag >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // >= 65520: infinity
    if (mag < 0x38800000u) {
        // Below 2^-14 the result is subnormal: adding 0.5 puts the float's last mantissa bit at 2^-24, the binary16
        // subnormal step, so the FPU's own rounding (nearest even) does the work.
        const float shifted = std::bit_cast<float>(mag) + 0.5f;
        return static_cast<std::uint16_t>(sign | (std::bit_cast<std::uint32_t>(shifted) - 0x3f000000u));
    }
    // Normal: rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits to nearest even; a carry out
    // of the mantissa correctly bumps the exponent.
    const std::uint32_t odd = (mag >> 13) & 1u;
    const std::uint32_t rounded = mag - ((127u - 15u) << 23) + 0xfffu + odd;
    return static_cast<std::uint16_t>(sign | (rounded >> 13));
}

}  // namespace hclip

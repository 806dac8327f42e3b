// How the model stores its large weight matrices: float32 (the default, the reference's own precision), or 16 bits
// (bfloat16 or binary16) with float32 arithmetic, which halves their memory and the bytes a memory-bound pass
// streams (docs/configuration.md, clip.weights).
#pragma once

#include <optional>
#include <string_view>

#include "kernels/half_gemm.h"

namespace hclip {

enum class WeightStorage { kF32, kBf16, kF16 };

inline std::string_view weight_storage_name(WeightStorage w) {
    switch (w) {
        case WeightStorage::kBf16:
            return "bf16";
        case WeightStorage::kF16:
            return "fp16";
        case WeightStorage::kF32:
            break;
    }
    return "fp32";
}

// "fp32", "bf16" or "fp16"; nullopt for anything else.
inline std::optional<WeightStorage> parse_weight_storage(std::string_view name) {
    if (name == "fp32") return WeightStorage::kF32;
    if (name == "bf16") return WeightStorage::kBf16;
    if (name == "fp16") return WeightStorage::kF16;
    return std::nullopt;
}

// The 16-bit type of a reduced-precision storage (meaningless for kF32).
inline HalfType half_type_of(WeightStorage w) {
    return w == WeightStorage::kF16 ? HalfType::kF16 : HalfType::kBf16;
}

}  // namespace hclip

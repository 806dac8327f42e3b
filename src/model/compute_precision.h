// The numbers the CPU towers' matrix products multiply (docs/configuration.md, clip.compute): float32 (the
// default), or bfloat16 inputs with float32 accumulation on CPUs with native bf16 dot products, which halves the
// bytes the packed matrices take and stream. Everything around the products stays float32.
#pragma once

#include <optional>
#include <string_view>

namespace hclip {

enum class ComputePrecision { kF32, kBf16 };

inline std::string_view compute_precision_name(ComputePrecision p) {
    return p == ComputePrecision::kBf16 ? "bf16" : "fp32";
}

// "fp32" or "bf16"; nullopt for anything else.
inline std::optional<ComputePrecision> parse_compute_precision(std::string_view name) {
    if (name == "fp32") return ComputePrecision::kF32;
    if (name == "bf16") return ComputePrecision::kBf16;
    return std::nullopt;
}

}  // namespace hclip

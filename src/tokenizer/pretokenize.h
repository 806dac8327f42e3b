// The reference's pre-tokenizer regex, hand-written:
//   <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+   (IGNORECASE)
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace hclip {

struct PreToken {
    enum class Kind { kText, kStartToken, kEndToken };
    Kind kind = Kind::kText;
    std::size_t begin = 0;  // code-point offsets into the lowercased text
    std::size_t end = 0;
};

// Splits lowercased, whitespace-cleaned text into `out` (which is cleared first).
void pretokenize(std::u32string_view text, std::vector<PreToken>& out);

}  // namespace hclip

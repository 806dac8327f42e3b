// The CLIP tokenizer on arbitrary bytes (prompts are client text: invalid UTF-8, control characters, anything).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tokenizer/clip_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const hclip::ClipTokenizer tokenizer = *hclip::ClipTokenizer::from_builtin();
    const auto t = tokenizer.encode(std::string_view(reinterpret_cast<const char*>(data), size));
    if (t.ids.size() > static_cast<std::size_t>(hclip::kContextLength)) __builtin_trap();
    if (!t.ids.empty() && t.ids.front() != hclip::kStartOfText) __builtin_trap();
    return 0;
}

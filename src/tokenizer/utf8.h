// UTF-8 <-> code points, with Python's errors="replace" behaviour for invalid input.
#pragma once

#include <string>
#include <string_view>

namespace hclip {

// Decodes UTF-8; each maximal invalid subsequence becomes one U+FFFD, exactly as CPython's decoder does.
std::u32string decode_utf8_lossy(std::string_view bytes);

void append_utf8(std::string& out, char32_t code_point);
std::string encode_utf8(std::u32string_view text);

}  // namespace hclip

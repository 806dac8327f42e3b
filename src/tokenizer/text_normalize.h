// The reference's text cleanup: basic_clean, whitespace_clean and str.lower().
#pragma once

#include <string>
#include <string_view>

namespace hclip {

// CPython str.lower(): full lowercase mapping (U+0130 -> "i\u0307") and the Final_Sigma rule.
std::u32string python_lower(std::u32string_view text);

// whitespace_clean(basic_clean(text)).lower() on UTF-8 input (invalid sequences become U+FFFD):
// ftfy, html.unescape twice, strip, collapse whitespace runs to one space, strip, lowercase.
std::u32string normalize_for_clip(std::string_view utf8_text);

}  // namespace hclip

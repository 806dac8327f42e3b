// HTML character-reference decoding, as CPython's html.unescape and ftfy's unescape_html do it.
#pragma once

#include <string>
#include <string_view>

namespace hclip {

// CPython html.unescape: every HTML5 named reference (with or without ';' where HTML5 allows it, longest
// prefix otherwise), decimal and hex references with Python's replacement rules.
std::u32string html_unescape(std::u32string_view text);

// ftfy.fixes.unescape_html: only references closed by ';', plus all-caps spellings such as "&NTILDE;".
std::u32string ftfy_unescape_html(std::u32string_view text);

}  // namespace hclip

// Character classes exactly as the reference tokenizer's Python code sees them.
#pragma once

namespace hclip::chars {

// str.isspace() / str.strip(): Unicode White_Space plus U+001C..U+001F.
bool is_python_space(char32_t c);
// `\s` of the `regex` module, which the reference uses for whitespace_clean and the pre-tokenizer.
bool is_regex_space(char32_t c);
// \p{L} and \p{N} (general categories L* and N*).
bool is_letter(char32_t c);
bool is_number(char32_t c);
// \d of Python's `re` (category Nd).
bool is_decimal_digit(char32_t c);
// Unicode Cased and Case_Ignorable, used by str.lower() for the final-sigma rule.
bool is_cased(char32_t c);
bool is_case_ignorable(char32_t c);

}  // namespace hclip::chars

#include "tokenizer/text_normalize.h"

#include <utf8proc.h>

#include "tokenizer/char_classes.h"
#include "tokenizer/ftfy_fixes.h"
#include "tokenizer/html_unescape.h"
#include "tokenizer/utf8.h"

namespace hclip {
namespace {

constexpr char32_t kCapitalSigma = 0x03A3;
constexpr char32_t kSmallSigma = 0x03C3;
constexpr char32_t kFinalSigma = 0x03C2;

// Final_Sigma: a cased letter before (skipping case-ignorables) and no cased letter after.
bool is_final_sigma(std::u32string_view text, std::size_t index) {
    std::size_t j = index;
    while (j > 0 && chars::is_case_ignorable(text[j - 1]))
        --j;
    if (j == 0 || !chars::is_cased(text[j - 1])) return false;
    std::size_t k = index + 1;
    while (k < text.size() && chars::is_case_ignorable(text[k]))
        ++k;
    return k == text.size() || !chars::is_cased(text[k]);
}

std::u32string_view strip_python_space(std::u32string_view text) {
    while (!text.empty() && chars::is_python_space(text.front()))
        text.remove_prefix(1);
    while (!text.empty() && chars::is_python_space(text.back()))
        text.remove_suffix(1);
    return text;
}

// re.sub(r'\s+', ' ', text).strip() with the `regex` module's \s.
std::u32string collapse_whitespace(std::u32string_view text) {
    std::u32string out;
    out.reserve(text.size());
    bool in_space = false;
    for (char32_t c : text) {
        if (chars::is_regex_space(c)) {
            if (!in_space) out.push_back(' ');
            in_space = true;
        } else {
            out.push_back(c);
            in_space = false;
        }
    }
    return std::u32string(strip_python_space(out));
}

}  // namespace

std::u32string python_lower(std::u32string_view text) {
    std::u32string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char32_t c = text[i];
        if (c < 0x80) {
            out.push_back(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
        } else if (c == 0x0130) {
            // The only unconditional multi-character lowercase mapping (SpecialCasing.txt).
            out.push_back('i');
            out.push_back(0x0307);
        } else if (c == kCapitalSigma) {
            out.push_back(is_final_sigma(text, i) ? kFinalSigma : kSmallSigma);
        } else {
            out.push_back(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
        }
    }
    return out;
}

std::u32string normalize_for_clip(std::string_view utf8_text) {
    std::u32string text = ftfy_fix_text(decode_utf8_lossy(utf8_text));
    text = html_unescape(html_unescape(text));
    return python_lower(collapse_whitespace(strip_python_space(text)));
}

}  // namespace hclip

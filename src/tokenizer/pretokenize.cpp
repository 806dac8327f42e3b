#include "tokenizer/pretokenize.h"

#include "tokenizer/char_classes.h"

namespace hclip {
namespace {

// U+0345 COMBINING GREEK YPOGEGRAMMENI case-folds to a letter, so under IGNORECASE the `regex` module
// matches it neither as \p{L} nor as [^\s\p{L}\p{N}]: the reference drops it like whitespace.
constexpr char32_t kYpogegrammeni = 0x0345;
// U+017F LATIN SMALL LETTER LONG S case-folds to 's' and so matches the literal 's' under IGNORECASE.
constexpr char32_t kLongS = 0x017F;

bool literal_char_matches(char32_t pattern, char32_t c) {
    return c == pattern || (pattern == 's' && c == kLongS);
}

// Length of the match of `literal` at text[pos] under the reference's IGNORECASE, or 0.
std::size_t match_literal(std::u32string_view text, std::size_t pos, std::u32string_view literal) {
    if (text.size() - pos < literal.size()) return 0;
    for (std::size_t k = 0; k < literal.size(); ++k) {
        if (!literal_char_matches(literal[k], text[pos + k])) return 0;
    }
    return literal.size();
}

bool is_other(char32_t c) {
    return !chars::is_regex_space(c) && !chars::is_letter(c) && !chars::is_number(c) && c != kYpogegrammeni;
}

constexpr std::u32string_view kStartOfText = U"<|startoftext|>";
constexpr std::u32string_view kEndOfText = U"<|endoftext|>";
constexpr std::u32string_view kContractions[] = {U"'s", U"'t", U"'re", U"'ve", U"'m", U"'ll", U"'d"};

}  // namespace

void pretokenize(std::u32string_view text, std::vector<PreToken>& out) {
    out.clear();
    std::size_t i = 0;
    const std::size_t n = text.size();
    while (i < n) {
        const char32_t c = text[i];
        if (c == '<') {
            // Only the exact spelling is a special token; "<|ſtartoftext|>" is one ordinary piece.
            if (std::size_t len = match_literal(text, i, kStartOfText)) {
                const bool exact = text.substr(i, len) == kStartOfText;
                out.push_back({exact ? PreToken::Kind::kStartToken : PreToken::Kind::kText, i, i + len});
                i += len;
                continue;
            }
            if (text.substr(i, kEndOfText.size()) == kEndOfText) {
                out.push_back({PreToken::Kind::kEndToken, i, i + kEndOfText.size()});
                i += kEndOfText.size();
                continue;
            }
        }
        if (c == '\'') {
            std::size_t len = 0;
            for (std::u32string_view contraction : kContractions) {
                if ((len = match_literal(text, i, contraction)) != 0) break;
            }
            if (len != 0) {
                out.push_back({PreToken::Kind::kText, i, i + len});
                i += len;
                continue;
            }
        }
        std::size_t end = i;
        if (chars::is_letter(c)) {
            while (end < n && chars::is_letter(text[end]))
                ++end;
        } else if (chars::is_number(c)) {
            end = i + 1;
        } else if (is_other(c)) {
            while (end < n && is_other(text[end]))
                ++end;
        } else {
            ++i;  // whitespace (or U+0345): not part of any piece
            continue;
        }
        out.push_back({PreToken::Kind::kText, i, end});
        i = end;
    }
}

}  // namespace hclip

#include "tokenizer/ftfy_fixes.h"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <memory>

#include "tokenizer/char_classes.h"
#include "tokenizer/html_entities_table.h"
#include "tokenizer/html_unescape.h"
#include "tokenizer/utf8.h"

namespace hclip {
namespace {

// ftfy's max_decode_length: longer lines are fixed in pieces of this many code points.
constexpr std::size_t kMaxSegmentLength = 1'000'000;
// ftfy loops until the text stops changing; each pass undoes one level of nested escaping ("&amp;amp;"), so
// hostile input could make it quadratic. Passes stop once they have touched this many code points in a segment,
// which no text under ~100 KB (at 64+ levels of nesting) reaches.
constexpr std::size_t kPassBudget = std::size_t{8} << 20;
constexpr std::size_t kMinPasses = 64;

template <typename Map>
std::u32string translate(std::u32string_view text, Map&& map) {
    std::u32string out;
    out.reserve(text.size());
    for (char32_t c : text)
        map(c, out);
    return out;
}

// Windows-1252 for U+0080..U+009F, bytes it leaves undefined pass through (ftfy's "sloppy" codec);
// the same table as html.unescape's numeric remaps.
char32_t c1_as_windows_1252(char32_t c) {
    if (c < 0x80 || c > 0x9F) return c;
    for (const auto& remap : html_tables::kCharrefRemaps) {
        if (remap.number == c) return remap.replacement;
    }
    return c;
}

struct Ligature {
    char32_t ligature;
    std::u32string_view letters;
};

// ftfy's LIGATURES: Latin typographic ligatures and legacy digraphs (not æ or œ, which are letters in use).
constexpr Ligature kLatinLigatures[] = {
    {0x0132, U"IJ"},      {0x0133, U"ij"}, {0x0149, U"\u02BCn"}, {0x01C4, U"D\u017D"}, {0x01C5, U"D\u017E"},
    {0x01C6, U"d\u017E"}, {0x01C7, U"LJ"}, {0x01C8, U"Lj"},      {0x01C9, U"lj"},      {0x01CA, U"NJ"},
    {0x01CB, U"Nj"},      {0x01CC, U"nj"}, {0x01F1, U"DZ"},      {0x01F2, U"Dz"},      {0x01F3, U"dz"},
    {0xFB00, U"ff"},      {0xFB01, U"fi"}, {0xFB02, U"fl"},      {0xFB03, U"ffi"},     {0xFB04, U"ffl"},
    {0xFB05, U"\u017Ft"}, {0xFB06, U"st"},
};

// Empty when `c` is not one of the ligatures.
std::u32string_view latin_ligature(char32_t c) {
    for (const Ligature& l : kLatinLigatures) {
        if (l.ligature == c) return l.letters;
    }
    return {};
}

// ftfy's width map: U+3000 -> space, and every U+FF01..U+FFEF that NFKC changes -> its NFKC form.
class WidthMap {
  public:
    static constexpr char32_t kFirst = 0xFF01;
    static constexpr char32_t kLast = 0xFFEF;

    WidthMap() {
        for (char32_t c = kFirst; c <= kLast; ++c) {
            std::string utf8;
            append_utf8(utf8, c);
            std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> mapped(
                utf8proc_NFKC(reinterpret_cast<const utf8proc_uint8_t*>(utf8.c_str())), &std::free);
            std::u32string normalized =
                mapped ? decode_utf8_lossy(reinterpret_cast<const char*>(mapped.get())) : std::u32string(1, c);
            if (normalized != std::u32string(1, c)) forms_[c - kFirst] = std::move(normalized);
        }
    }

    // Empty when the character is left alone.
    std::u32string_view lookup(char32_t c) const {
        if (c == 0x3000) return U" ";
        if (c < kFirst || c > kLast) return {};
        return forms_[c - kFirst];
    }

  private:
    std::array<std::u32string, kLast - kFirst + 1> forms_;
};

const WidthMap& width_map() {
    static const WidthMap map;
    return map;
}

char32_t uncurl_quote(char32_t c) {
    if (c == 0x02BC || (c >= 0x2018 && c <= 0x201B)) return '\'';
    if (c >= 0x201C && c <= 0x201F) return '"';
    return c;
}

std::u32string fix_line_breaks(std::u32string_view text) {
    std::u32string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char32_t c = text[i];
        if (c == '\r') {
            out.push_back('\n');
            if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
        } else if (c == 0x2028 || c == 0x2029 || c == 0x85) {
            out.push_back('\n');
        } else {
            out.push_back(c);
        }
    }
    return out;
}

// Removes ANSI escapes: ESC '[' (digit | ';')* letter, where digit is any Nd as in Python's re.
std::u32string remove_terminal_escapes(std::u32string_view text) {
    std::u32string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        if (text[i] == 0x1B && i + 1 < text.size() && text[i + 1] == '[') {
            std::size_t j = i + 2;
            while (j < text.size() && (text[j] == ';' || chars::is_decimal_digit(text[j])))
                ++j;
            if (j < text.size() && ((text[j] | 0x20) >= 'a' && (text[j] | 0x20) <= 'z')) {
                i = j + 1;
                continue;
            }
        }
        out.push_back(text[i++]);
    }
    return out;
}

bool is_removed_control(char32_t c) {
    return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
           c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

std::u32string fix_segment(std::u32string text, bool unescape_html) {
    const std::size_t max_passes = std::max(kMinPasses, kPassBudget / std::max<std::size_t>(text.size(), 1));
    for (std::size_t pass = 0; pass < max_passes; ++pass) {
        const std::u32string before = text;
        if (unescape_html) text = ftfy_unescape_html(text);
        text = translate(text, [](char32_t c, std::u32string& out) { out.push_back(c1_as_windows_1252(c)); });
        text = translate(text, [](char32_t c, std::u32string& out) {
            const std::u32string_view split = c >= 0x0132 ? latin_ligature(c) : std::u32string_view();
            if (split.empty()) {
                out.push_back(c);
            } else {
                out.append(split);
            }
        });
        text = translate(text, [](char32_t c, std::u32string& out) {
            const std::u32string_view standard = width_map().lookup(c);
            if (standard.empty()) {
                out.push_back(c);
            } else {
                out.append(standard);
            }
        });
        text = translate(text, [](char32_t c, std::u32string& out) { out.push_back(uncurl_quote(c)); });
        text = fix_line_breaks(text);
        text = remove_terminal_escapes(text);
        std::erase_if(text, is_removed_control);
        text = nfc_normalize(text);
        if (text == before) break;
    }
    return text;
}

}  // namespace

std::u32string nfc_normalize(std::u32string_view text) {
    // Nothing below U+0300 ever changes under NFC.
    if (std::all_of(text.begin(), text.end(), [](char32_t c) { return c < 0x300; })) return std::u32string(text);
    const std::string utf8 = encode_utf8(text);
    utf8proc_uint8_t* mapped = nullptr;
    const utf8proc_ssize_t length =
        utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()), static_cast<utf8proc_ssize_t>(utf8.size()),
                     &mapped, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
    if (length < 0) return std::u32string(text);  // cannot happen for valid code points; keep the text
    std::u32string out =
        decode_utf8_lossy(std::string_view(reinterpret_cast<const char*>(mapped), static_cast<std::size_t>(length)));
    std::free(mapped);
    return out;
}

std::u32string ftfy_fix_text(std::u32string_view text) {
    std::u32string out;
    out.reserve(text.size());
    bool unescape_html = true;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find(U'\n', pos);
        end = end == std::u32string_view::npos ? text.size() : end + 1;
        end = std::min(end, pos + kMaxSegmentLength);
        const std::u32string_view segment = text.substr(pos, end - pos);
        // A '<' suggests real HTML, whose references must stay; ftfy decides this once for the rest of the text.
        if (segment.find(U'<') != std::u32string_view::npos) unescape_html = false;
        out += fix_segment(std::u32string(segment), unescape_html);
        pos = end;
    }
    return out;
}

}  // namespace hclip

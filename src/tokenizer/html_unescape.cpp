#include "tokenizer/html_unescape.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>

#include "tokenizer/html_entities_table.h"
#include "tokenizer/utf8.h"

namespace hclip {
namespace {

using html_tables::NamedReference;

constexpr std::size_t kMaxNamedLength = 32;     // html.unescape's [^\t\n\f <&#;]{1,32}
constexpr std::size_t kMaxFtfyNameLength = 24;  // ftfy's &#?[0-9A-Za-z]{1,24};
constexpr std::uint32_t kBeyondUnicode = 0x110000;

template <std::size_t N>
std::optional<std::string_view> find_named(const NamedReference (&table)[N], std::string_view name) {
    const NamedReference* it = std::lower_bound(std::begin(table), std::end(table), name,
                                                [](const NamedReference& e, std::string_view n) { return e.name < n; });
    if (it == std::end(table) || it->name != name) return std::nullopt;
    return it->utf8;
}

void append_decoded(std::u32string& out, std::string_view utf8) {
    out += decode_utf8_lossy(utf8);
}

bool is_ascii_digit(char32_t c) {
    return c >= '0' && c <= '9';
}

int hex_value(char32_t c) {
    if (c >= '0' && c <= '9') return static_cast<int>(c - '0');
    if (c >= 'a' && c <= 'f') return static_cast<int>(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return static_cast<int>(c - 'A' + 10);
    return -1;
}

bool is_ascii_alnum(char32_t c) {
    return is_ascii_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

// Python's rules for a numeric reference's value (which may be arbitrarily large; saturated here).
void append_numeric_reference(std::u32string& out, std::uint32_t number) {
    const auto* remap =
        std::lower_bound(std::begin(html_tables::kCharrefRemaps), std::end(html_tables::kCharrefRemaps), number,
                         [](const html_tables::CharrefRemap& r, std::uint32_t n) { return r.number < n; });
    if (remap != std::end(html_tables::kCharrefRemaps) && remap->number == number) {
        out.push_back(remap->replacement);
        return;
    }
    if ((number >= 0xD800 && number <= 0xDFFF) || number > 0x10FFFF) {
        out.push_back(0xFFFD);
        return;
    }
    const auto* dropped =
        std::upper_bound(std::begin(html_tables::kCharrefDropped), std::end(html_tables::kCharrefDropped), number,
                         [](std::uint32_t n, const html_tables::CodepointRange& r) { return n < r.first; });
    if (dropped != std::begin(html_tables::kCharrefDropped) && number <= std::prev(dropped)->last) return;
    out.push_back(static_cast<char32_t>(number));
}

// Tries to decode a numeric reference starting at text[pos] == '#'. Returns the index after it, or 0.
std::size_t decode_numeric_at(std::u32string_view text, std::size_t pos, std::u32string& out) {
    std::size_t i = pos + 1;
    std::uint32_t number = 0;
    std::size_t digits = 0;
    if (i < text.size() && is_ascii_digit(text[i])) {
        for (; i < text.size() && is_ascii_digit(text[i]); ++i, ++digits) {
            number = std::min<std::uint32_t>(number * 10 + (text[i] - '0'), kBeyondUnicode);
        }
    } else if (i < text.size() && (text[i] == 'x' || text[i] == 'X')) {
        for (++i; i < text.size() && hex_value(text[i]) >= 0; ++i, ++digits) {
            number =
                std::min<std::uint32_t>(number * 16 + static_cast<std::uint32_t>(hex_value(text[i])), kBeyondUnicode);
        }
    }
    if (digits == 0) return 0;
    if (i < text.size() && text[i] == ';') ++i;
    append_numeric_reference(out, number);
    return i;
}

bool ends_named_run(char32_t c) {
    return c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' || c == ';';
}

// Tries to decode a named reference whose name starts at text[pos]. Returns the index after it, or 0.
std::size_t decode_named_at(std::u32string_view text, std::size_t pos, std::u32string& out) {
    std::size_t end = pos;
    while (end < text.size() && end - pos < kMaxNamedLength && !ends_named_run(text[end]))
        ++end;
    if (end == pos) return 0;
    if (end < text.size() && text[end] == ';') ++end;
    const std::u32string_view name = text.substr(pos, end - pos);

    // Table names are ASCII, so only the ASCII head of the candidate can ever match.
    std::string ascii;
    for (char32_t c : name) {
        if (c >= 0x80) break;
        ascii.push_back(static_cast<char>(c));
    }
    if (ascii.size() == name.size()) {
        if (auto value = find_named(html_tables::kHtml5Named, ascii)) {
            append_decoded(out, *value);
            return end;
        }
    }
    // The longest prefix that is a reference allowed without ';' ("&notit;" -> "¬it;").
    for (std::size_t length = std::min(name.size() - 1, ascii.size()); length >= 2; --length) {
        if (auto value = find_named(html_tables::kHtml5Named, std::string_view(ascii).substr(0, length))) {
            append_decoded(out, *value);
            out.append(name.substr(length));
            return end;
        }
    }
    out.push_back('&');
    out.append(name);
    return end;
}

}  // namespace

std::u32string html_unescape(std::u32string_view text) {
    std::u32string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        if (text[i] != '&') {
            out.push_back(text[i++]);
            continue;
        }
        const std::size_t next = i + 1;
        std::size_t after = 0;
        if (next < text.size() && text[next] == '#') {
            after = decode_numeric_at(text, next, out);
        } else {
            after = decode_named_at(text, next, out);
        }
        if (after == 0) {
            out.push_back('&');
            ++i;
        } else {
            i = after;
        }
    }
    return out;
}

std::u32string ftfy_unescape_html(std::u32string_view text) {
    std::u32string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        if (text[i] != '&') {
            out.push_back(text[i++]);
            continue;
        }
        const bool numeric = i + 1 < text.size() && text[i + 1] == '#';
        const std::size_t name_begin = i + 1 + (numeric ? 1 : 0);
        std::size_t name_end = name_begin;
        while (name_end < text.size() && is_ascii_alnum(text[name_end]))
            ++name_end;
        const std::size_t name_length = name_end - name_begin;
        if (name_length == 0 || name_length > kMaxFtfyNameLength || name_end >= text.size() || text[name_end] != ';') {
            out.push_back('&');
            ++i;
            continue;
        }
        const std::u32string_view reference = text.substr(i, name_end + 1 - i);
        if (numeric) {
            // Accepted only when html.unescape consumes the whole reference, ';' included.
            std::u32string decoded = html_unescape(reference);
            out.append(decoded.find(U';') == std::u32string::npos ? std::u32string_view(decoded) : reference);
        } else {
            std::string name;
            for (char32_t c : reference.substr(1))
                name.push_back(static_cast<char>(c));
            auto value = find_named(html_tables::kHtml5Named, name);
            if (!value) value = find_named(html_tables::kFtfyUppercaseNamed, name);
            if (value) {
                append_decoded(out, *value);
            } else {
                out.append(reference);
            }
        }
        i = name_end + 1;
    }
    return out;
}

}  // namespace hclip

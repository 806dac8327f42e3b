#include "server/http/base64.h"

#include <array>

namespace hclip::server {

namespace {

constexpr std::array<std::int8_t, 256> make_table() {
    std::array<std::int8_t, 256> t{};
    for (auto& v : t)
        v = -1;
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i)
        t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return t;
}
constexpr auto kTable = make_table();

bool is_space(char c) {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

}  // namespace

std::string encode_base64(std::string_view bytes) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                                static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                                static_cast<unsigned char>(bytes[i + 2]);
        for (int shift = 18; shift >= 0; shift -= 6)
            out.push_back(kAlphabet[(v >> shift) & 63u]);
    }
    if (const std::size_t rest = bytes.size() - i; rest > 0) {
        std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
        if (rest == 2) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
        out.push_back(kAlphabet[(v >> 18) & 63u]);
        out.push_back(kAlphabet[(v >> 12) & 63u]);
        out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63u] : '=');
        out.push_back('=');
    }
    return out;
}

namespace {

// Whole groups of four symbols from `i` on, three bytes each, into `out` from `n`; stops at the first group
// holding anything else (white space, padding, a bad character), which the symbol-at-a-time loop then reads. About
// four times faster than that loop on a photo's base64.
std::size_t decode_whole_groups(std::string_view text, std::size_t i, std::uint8_t* out, std::size_t& n) {
    const auto symbol = [&](std::size_t at) { return kTable[static_cast<unsigned char>(text[at])]; };
    for (; i + 4 <= text.size(); i += 4) {
        const int a = symbol(i), b = symbol(i + 1), c = symbol(i + 2), d = symbol(i + 3);
        if ((a | b | c | d) < 0) break;
        const auto v = static_cast<std::uint32_t>(a << 18 | b << 12 | c << 6 | d);
        out[n] = static_cast<std::uint8_t>(v >> 16);
        out[n + 1] = static_cast<std::uint8_t>(v >> 8);
        out[n + 2] = static_cast<std::uint8_t>(v);
        n += 3;
    }
    return i;
}

}  // namespace

Result<std::vector<std::uint8_t>> decode_base64(std::string_view text) {
    std::vector<std::uint8_t> out(text.size() / 4 * 3 + 3);
    std::size_t n = 0;
    std::uint32_t acc = 0;
    int bits = 0, padding = 0;
    std::size_t symbols = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (bits == 0 && padding == 0) {  // between groups of four: take whole groups at once
            const std::size_t start = i;
            i = decode_whole_groups(text, i, out.data(), n);
            symbols += i - start;
            if (i == text.size()) break;
        }
        const char c = text[i];
        if (is_space(c)) continue;
        if (c == '=') {
            ++padding;
            continue;
        }
        const std::int8_t v = kTable[static_cast<unsigned char>(c)];
        if (v < 0 || padding > 0) {
            return invalid_argument("'image' is not valid base64: unexpected character at position " +
                                    std::to_string(i));
        }
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        ++symbols;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = static_cast<std::uint8_t>((acc >> bits) & 0xffu);
        }
    }
    if (symbols == 0) return invalid_argument("'image' is empty");
    const std::size_t rem = symbols % 4;
    if (rem == 1 || padding > 2 || (padding > 0 && (symbols + static_cast<std::size_t>(padding)) % 4 != 0)) {
        return invalid_argument("'image' is not valid base64: its length or padding is wrong (truncated data?)");
    }
    out.resize(n);
    return out;
}

Result<std::vector<std::uint8_t>> decode_image_field(std::string_view field) {
    if (field.substr(0, 5) == "data:") {
        const auto comma = field.find(',');
        if (comma == std::string_view::npos) return invalid_argument("'image' data URI has no ',' before the data");
        const std::string_view meta = field.substr(5, comma - 5);
        if (meta.size() < 7 || meta.substr(meta.size() - 7) != ";base64") {
            return invalid_argument("'image' data URI must be base64 encoded (data:image/...;base64,...)");
        }
        return decode_base64(field.substr(comma + 1));
    }
    return decode_base64(field);
}

}  // namespace hclip::server

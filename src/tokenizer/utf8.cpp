#include "tokenizer/utf8.h"

#include <cstdint>

namespace hclip {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

bool is_continuation(std::uint8_t byte) {
    return (byte & 0xC0) == 0x80;
}

}  // namespace

std::u32string decode_utf8_lossy(std::string_view bytes) {
    std::u32string out;
    out.reserve(bytes.size());
    const std::size_t n = bytes.size();
    std::size_t i = 0;
    while (i < n) {
        const auto lead = static_cast<std::uint8_t>(bytes[i]);
        if (lead < 0x80) {
            out.push_back(lead);
            ++i;
            continue;
        }
        int length = 0;
        char32_t code_point = 0;
        // The second byte's valid range excludes overlong forms, surrogates and values above U+10FFFF.
        std::uint8_t second_min = 0x80;
        std::uint8_t second_max = 0xBF;
        if (lead >= 0xC2 && lead <= 0xDF) {
            length = 2;
            code_point = lead & 0x1F;
        } else if (lead >= 0xE0 && lead <= 0xEF) {
            length = 3;
            code_point = lead & 0x0F;
            if (lead == 0xE0) second_min = 0xA0;
            if (lead == 0xED) second_max = 0x9F;
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            length = 4;
            code_point = lead & 0x07;
            if (lead == 0xF0) second_min = 0x90;
            if (lead == 0xF4) second_max = 0x8F;
        } else {
            out.push_back(kReplacement);
            ++i;
            continue;
        }
        std::size_t consumed = 1;
        bool valid = true;
        for (int k = 1; k < length; ++k) {
            if (i + consumed >= n) {
                valid = false;
                break;
            }
            const auto byte = static_cast<std::uint8_t>(bytes[i + consumed]);
            const bool in_range = k == 1 ? (byte >= second_min && byte <= second_max) : is_continuation(byte);
            if (!in_range) {
                valid = false;
                break;
            }
            code_point = (code_point << 6) | (byte & 0x3F);
            ++consumed;
        }
        // An invalid sequence is replaced as a whole up to (not including) the offending byte.
        out.push_back(valid ? code_point : kReplacement);
        i += consumed;
    }
    return out;
}

void append_utf8(std::string& out, char32_t code_point) {
    if (code_point < 0x80) {
        out.push_back(static_cast<char>(code_point));
    } else if (code_point < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
        out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    } else if (code_point < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
        out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
        out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    }
}

std::string encode_utf8(std::u32string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char32_t c : text)
        append_utf8(out, c);
    return out;
}

}  // namespace hclip

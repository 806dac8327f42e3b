#include "tokenizer/char_classes.h"

#include <utf8proc.h>

#include <algorithm>
#include <iterator>

namespace hclip::chars {
namespace {

utf8proc_category_t category(char32_t c) {
    return static_cast<utf8proc_category_t>(utf8proc_category(static_cast<utf8proc_int32_t>(c)));
}

struct Range {
    char32_t first;
    char32_t last;
};

template <std::size_t N>
bool in_ranges(const Range (&ranges)[N], char32_t c) {
    const Range* it = std::upper_bound(std::begin(ranges), std::end(ranges), c,
                                       [](char32_t value, const Range& r) { return value < r.first; });
    return it != std::begin(ranges) && c <= std::prev(it)->last;
}

// Other_Lowercase / Other_Uppercase characters outside the Lu/Ll/Lt categories that are not case-ignorable:
// only these change the final-sigma decision beyond the general category.
constexpr Range kOtherCased[] = {
    {0x00AA, 0x00AA},   {0x00BA, 0x00BA},   {0x2160, 0x217F},   {0x24B6, 0x24E9},
    {0x1F130, 0x1F149}, {0x1F150, 0x1F169}, {0x1F170, 0x1F189},
};

// Word_Break MidLetter, MidNumLet and Single_Quote characters (the rest of Case_Ignorable is by category).
constexpr Range kWordBreakIgnorable[] = {
    {0x0027, 0x0027}, {0x002E, 0x002E}, {0x003A, 0x003A}, {0x00B7, 0x00B7}, {0x0387, 0x0387}, {0x055F, 0x055F},
    {0x05F4, 0x05F4}, {0x2018, 0x2019}, {0x2024, 0x2024}, {0x2027, 0x2027}, {0xFE13, 0xFE13}, {0xFE52, 0xFE52},
    {0xFE55, 0xFE55}, {0xFF07, 0xFF07}, {0xFF0E, 0xFF0E}, {0xFF1A, 0xFF1A},
};

}  // namespace

bool is_regex_space(char32_t c) {
    if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D);
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

bool is_python_space(char32_t c) {
    return is_regex_space(c) || (c >= 0x1C && c <= 0x1F);
}

bool is_letter(char32_t c) {
    if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
    switch (category(c)) {
        case UTF8PROC_CATEGORY_LU:
        case UTF8PROC_CATEGORY_LL:
        case UTF8PROC_CATEGORY_LT:
        case UTF8PROC_CATEGORY_LM:
        case UTF8PROC_CATEGORY_LO:
            return true;
        default:
            return false;
    }
}

bool is_number(char32_t c) {
    if (c < 0x80) return c >= '0' && c <= '9';
    switch (category(c)) {
        case UTF8PROC_CATEGORY_ND:
        case UTF8PROC_CATEGORY_NL:
        case UTF8PROC_CATEGORY_NO:
            return true;
        default:
            return false;
    }
}

bool is_decimal_digit(char32_t c) {
    if (c < 0x80) return c >= '0' && c <= '9';
    return category(c) == UTF8PROC_CATEGORY_ND;
}

bool is_cased(char32_t c) {
    switch (category(c)) {
        case UTF8PROC_CATEGORY_LU:
        case UTF8PROC_CATEGORY_LL:
        case UTF8PROC_CATEGORY_LT:
            return true;
        default:
            return in_ranges(kOtherCased, c);
    }
}

bool is_case_ignorable(char32_t c) {
    switch (category(c)) {
        case UTF8PROC_CATEGORY_MN:
        case UTF8PROC_CATEGORY_ME:
        case UTF8PROC_CATEGORY_CF:
        case UTF8PROC_CATEGORY_LM:
        case UTF8PROC_CATEGORY_SK:
            return true;
        default:
            return in_ranges(kWordBreakIgnorable, c);
    }
}

}  // namespace hclip::chars

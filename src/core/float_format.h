// The shortest decimal that reads back to the same float32, as a double: JSON writers print it without the
// 17-digit noise of a widened float (0.1f prints as 0.1, not 0.10000000149011612).
#pragma once

#include <charconv>
#include <cstdlib>

namespace hclip {

inline double shortest_double(float value) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf) - 1, value);
    if (ec != std::errc()) return static_cast<double>(value);
    *end = '\0';
    return std::strtod(buf, nullptr);
}

}  // namespace hclip

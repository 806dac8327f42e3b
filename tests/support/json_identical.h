// Two nlohmann::json values equal with equal types all the way down: nlohmann's == calls 1u and 1 equal, and the
// endpoints branch on the number types. Shared by the simdjson unit test and the JSON fuzzer.
#pragma once

#include <cstddef>

#include <nlohmann/json.hpp>

namespace hclip::testing {

inline bool json_identical(const nlohmann::json& a, const nlohmann::json& b) {
    if (a.type() != b.type() || a.size() != b.size()) return false;
    if (a.is_object()) {
        for (auto it = a.begin(); it != a.end(); ++it) {
            auto other = b.find(it.key());
            if (other == b.end() || !json_identical(it.value(), *other)) return false;
        }
        return true;
    }
    if (a.is_array()) {
        for (std::size_t i = 0; i < a.size(); ++i)
            if (!json_identical(a[i], b[i])) return false;
        return true;
    }
    return a == b || (a.is_number_float() && a != a && b != b);  // NaN cannot come from JSON; kept total anyway
}

}  // namespace hclip::testing

#include "cli/json_output.h"

#include "core/float_format.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace hclip::cli {

double json_float(float value) {
    return shortest_double(value);
}

nlohmann::json json_floats(std::span<const float> values) {
    nlohmann::json arr = nlohmann::json::array();
    for (float v : values)
        arr.push_back(json_float(v));
    return arr;
}

void print_json(const nlohmann::json& j) {
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

}  // namespace hclip::cli

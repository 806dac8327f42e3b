// JSON on stdout for scripts. Floats are written with the shortest decimal form that reads back to the same
// float32 value, not 17 digits of the widened double.
#pragma once

#include <nlohmann/json.hpp>
#include <span>

namespace hclip::cli {

double json_float(float value);
nlohmann::json json_floats(std::span<const float> values);
void print_json(const nlohmann::json& j);

}  // namespace hclip::cli

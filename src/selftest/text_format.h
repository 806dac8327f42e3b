// Small text helpers shared by the self-test's checks and its report: number and list formatting, softmax.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "selftest/expectations.h"

namespace hclip::selftest {

std::string fmt(double v);  // "%.7g"
std::string fmt_list(const std::vector<double>& v, std::size_t max_shown = 8);
std::string fmt_ids(const std::vector<std::int32_t>& ids);
std::string in_quotes(const std::string& s);
std::string lower(std::string s);
std::string join(const std::vector<std::string>& parts, const std::string& sep);
std::size_t argmax(const std::vector<double>& v);
std::vector<double> softmax(const std::vector<double>& logits);
std::string tolerance_text(const Tolerance& t);  // "±0.001, top-1 same"

}  // namespace hclip::selftest

#include "selftest/text_format.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

namespace hclip::selftest {

std::string fmt(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.7g", v);
    return buf;
}

std::string fmt_list(const std::vector<double>& v, std::size_t max_shown) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size() && i < max_shown; ++i)
        s += (i ? ", " : "") + fmt(v[i]);
    if (v.size() > max_shown) s += ", ... (" + std::to_string(v.size()) + " values)";
    return s + "]";
}

std::string fmt_ids(const std::vector<std::int32_t>& ids) {
    std::string s = "[";
    for (std::size_t i = 0; i < ids.size(); ++i)
        s += (i ? ", " : "") + std::to_string(ids[i]);
    return s + "]";
}

std::string in_quotes(const std::string& s) {
    return "'" + s + "'";
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
    std::string s;
    for (std::size_t i = 0; i < parts.size(); ++i)
        s += (i ? sep : "") + parts[i];
    return s;
}

std::size_t argmax(const std::vector<double>& v) {
    return static_cast<std::size_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

std::vector<double> softmax(const std::vector<double>& logits) {
    std::vector<double> p(logits.size());
    if (logits.empty()) return p;
    const double mx = *std::max_element(logits.begin(), logits.end());
    double sum = 0.0;
    for (std::size_t i = 0; i < logits.size(); ++i)
        sum += (p[i] = std::exp(logits[i] - mx));
    for (double& x : p)
        x /= sum;
    return p;
}

std::string tolerance_text(const Tolerance& t) {
    std::vector<std::string> parts;
    if (t.abs) parts.push_back("±" + fmt(*t.abs));
    if (t.top1) parts.push_back("top-1 same");
    if (t.top_probability) parts.push_back("top probability ±" + fmt(*t.top_probability));
    return join(parts, ", ");
}

}  // namespace hclip::selftest

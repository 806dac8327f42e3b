#include "cli/args.h"

#include <charconv>
#include <cstdlib>

namespace hclip::cli {

Result<Args> Args::parse(const std::vector<std::string>& argv, const std::set<std::string>& value_flags,
                         const std::set<std::string>& switches) {
    Args out;
    bool only_positional = false;
    for (std::size_t i = 0; i < argv.size(); ++i) {
        const std::string& a = argv[i];
        if (only_positional || a.size() < 2 || a.rfind("--", 0) != 0) {
            out.positional_.push_back(a);
            continue;
        }
        if (a == "--") {
            only_positional = true;
            continue;
        }
        if (switches.count(a)) {
            out.switches_.insert(a);
        } else if (value_flags.count(a)) {
            if (i + 1 >= argv.size()) return invalid_argument(a + " needs a value");
            out.values_.emplace(a, argv[++i]);
        } else {
            return invalid_argument("unknown option " + a);
        }
    }
    return out;
}

std::optional<std::string> Args::value(const std::string& flag) const {
    auto range = values_.equal_range(flag);
    if (range.first == range.second) return std::nullopt;
    return std::prev(range.second)->second;  // the last one wins
}

std::vector<std::string> Args::values(const std::string& flag) const {
    std::vector<std::string> out;
    auto range = values_.equal_range(flag);
    for (auto it = range.first; it != range.second; ++it)
        out.push_back(it->second);
    return out;
}

Result<int> Args::int_value(const std::string& flag, int fallback, int min, int max) const {
    auto v = value(flag);
    if (!v) return fallback;
    int out = 0;
    auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    if (ec != std::errc() || ptr != v->data() + v->size() || out < min || out > max) {
        return invalid_argument(flag + " must be a whole number from " + std::to_string(min) + " to " +
                                std::to_string(max) + ", got '" + *v + "'");
    }
    return out;
}

Result<double> Args::number_value(const std::string& flag, double fallback) const {
    auto v = value(flag);
    if (!v) return fallback;
    char* end = nullptr;
    const double out = std::strtod(v->c_str(), &end);
    if (v->empty() || end != v->c_str() + v->size())
        return invalid_argument(flag + " must be a number, got '" + *v + "'");
    return out;
}

Result<std::string> model_dir_from(const Args& args) {
    if (auto v = args.value("--model-dir")) return *v;
    if (const char* env = std::getenv("HAILO_CLIP_MODEL_DIR"); env != nullptr && *env != '\0') return std::string(env);
    return invalid_argument("--model-dir DIR is required (or set HAILO_CLIP_MODEL_DIR)");
}

}  // namespace hclip::cli

#include "selftest/matching.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>

#include "core/mapped_file.h"
#include "selftest/text_format.h"

namespace hclip::selftest {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::vector<std::string> model_names(const ClipModel& model, const SelfTestOptions& options) {
    std::vector<std::string> names;
    auto add = [&](const std::string& n) {
        if (!n.empty() && std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
    };
    for (const auto& n : options.model_names)
        add(n);
    fs::path dir = fs::path(model.model_dir()).lexically_normal();
    if (dir.filename().empty()) dir = dir.parent_path();
    add(dir.filename().string());
    // A Hugging Face download says which model it is.
    if (auto text = read_file((fs::path(model.model_dir()) / "config.json").string()); text.ok()) {
        const Json j = Json::parse(*text, nullptr, false);
        if (j.is_object() && j.contains("_name_or_path") && j["_name_or_path"].is_string()) {
            add(j["_name_or_path"].get<std::string>());
        }
    }
    return names;
}

std::vector<std::string> architecture_differences(const ModelEntry& entry, const Identity& id) {
    std::vector<std::string> diffs;
    for (const auto& [key, want] : entry.architecture) {
        auto it = id.signature.find(key);
        const std::string got = it == id.signature.end() ? "?" : it->second;
        if (got != want) diffs.push_back(key + " " + got + " (entry: " + want + ")");
    }
    return diffs;
}

Match match_entry(const Expectations& e, const Identity& id) {
    Match m;
    for (const auto& entry : e.models) {
        if (std::find(entry.sha256.begin(), entry.sha256.end(), id.sha256) != entry.sha256.end()) {
            m.entry = &entry;
            m.how = "sha256";
            return m;
        }
    }
    for (const auto& entry : e.models) {
        bool named = false;
        for (const auto& n : id.names) {
            for (const auto& accepted : entry.names)
                named = named || lower(n) == lower(accepted);
        }
        const auto diffs = architecture_differences(entry, id);
        const bool layout_ok = entry.layouts.empty() ||
                               std::find(entry.layouts.begin(), entry.layouts.end(), id.layout) != entry.layouts.end();
        const bool built_alike = !entry.architecture.empty() && diffs.empty() && layout_ok;
        if (named && built_alike) {
            m.entry = &entry;
            m.how = "name and architecture";
            m.sha_mismatch = !entry.sha256.empty();
            return m;
        }
        if (built_alike && !entry.names.empty()) {
            m.hints.push_back("its architecture matches '" + entry.id + "' (" + entry.description +
                              "); if these are those weights, name the model one of the entry's names (e.g. '" +
                              entry.names.front() + "')" +
                              (entry.sha256.empty() ? "" : " or add the file's SHA-256 to the entry"));
        } else if (named && !layout_ok) {
            m.hints.push_back("it is named like '" + entry.id + "' but its checkpoint layout '" + id.layout +
                              "' is not one the entry accepts");
        } else if (named && !entry.architecture.empty()) {
            m.hints.push_back("it is named like '" + entry.id + "' but its architecture differs: " + join(diffs, ", "));
        }
    }
    return m;
}

}  // namespace hclip::selftest

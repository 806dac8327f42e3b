// Locating the shared golden fixtures. One setting: HAILO_CLIP_FIXTURES, defaulting to ../shared/fixtures
// beside the source tree. A missing fixture directory fails the test: it is never skipped silently.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace hclip::testing {

inline std::filesystem::path fixtures_dir() {
    if (const char* env = std::getenv("HAILO_CLIP_FIXTURES"); env != nullptr && *env != '\0') return env;
    return std::filesystem::path(HCLIP_SOURCE_DIR) / ".." / "shared" / "fixtures";
}

inline std::string fixture(const std::string& relative) {
    return (fixtures_dir() / relative).string();
}

// A fixture model's name as a gtest parameter name ("tiny-openai" -> "tiny_openai").
inline std::string fixture_test_name(std::string name) {
    for (char& c : name)
        c = (c == '-') ? '_' : c;
    return name;
}

}  // namespace hclip::testing

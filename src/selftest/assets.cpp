#include "selftest/assets.h"

#include <system_error>

namespace hclip::selftest {

namespace fs = std::filesystem;

std::vector<fs::path> selftest_asset_candidates(const std::string& explicit_dir) {
    if (!explicit_dir.empty()) {
        const fs::path dir(explicit_dir);
        return {dir, dir / "selftest"};
    }
    std::vector<fs::path> out;
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec && exe.has_parent_path()) out.push_back(exe.parent_path().parent_path() / "share/hailo-clip/selftest");
#ifdef HCLIP_INSTALL_DATADIR
    out.push_back(fs::path(HCLIP_INSTALL_DATADIR) / "selftest");
#endif
#ifdef HCLIP_SOURCE_ASSETS_DIR
    out.push_back(fs::path(HCLIP_SOURCE_ASSETS_DIR) / "selftest");
#endif
    return out;
}

Result<fs::path> find_selftest_assets(const std::string& explicit_dir) {
    std::string tried;
    for (const auto& dir : selftest_asset_candidates(explicit_dir)) {
        std::error_code ec;
        if (fs::is_regular_file(dir / "expectations.json", ec)) return dir;
        tried += (tried.empty() ? "" : ", ") + dir.string();
    }
    return not_found("the self-test data (expectations.json and its pictures) is not installed: looked in " + tried +
                     (explicit_dir.empty() ? "; give its folder with --assets DIR" : ""));
}

}  // namespace hclip::selftest

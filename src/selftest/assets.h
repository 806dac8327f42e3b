// Where the self-test's data is: a directory holding expectations.json and images/.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/status.h"

namespace hclip::selftest {

// The places looked at, in order. With `explicit_dir` (--assets) only that one (it may be the self-test folder
// itself or a data folder holding selftest/). Otherwise: <program>/../share/hailo-clip/selftest (an installed
// program, and the build tree, which mirrors that layout), the install data folder chosen at build time, and
// the source tree's assets/selftest (for tests run from anywhere).
std::vector<std::filesystem::path> selftest_asset_candidates(const std::string& explicit_dir);

// The first candidate that has expectations.json, or an error listing every place tried.
Result<std::filesystem::path> find_selftest_assets(const std::string& explicit_dir);

}  // namespace hclip::selftest

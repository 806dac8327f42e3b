// SHA-256 of a file, streamed (a weights file can be larger than the memory we want to spend on it).
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace hclip {

// Lowercase hex digest of the file's bytes.
Result<std::string> sha256_file(const std::string& path);

// Lowercase hex digest of `bytes`.
std::string sha256_hex(std::string_view bytes);

}  // namespace hclip

// Decompression of gzip (or zlib) data held in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "core/status.h"

namespace hclip {

// Fails with kResourceExhausted past `max_output` bytes, so a hostile file cannot exhaust memory.
Result<std::string> gunzip(std::span<const std::uint8_t> compressed, std::size_t max_output);

}  // namespace hclip

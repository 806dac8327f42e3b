// A synthetic photo-sized JPEG for benchmarks run without an image of the user's.
#pragma once

#include <cstdint>
#include <vector>

namespace hclip::cli {

std::vector<std::uint8_t> make_synthetic_jpeg(int width, int height);

}  // namespace hclip::cli

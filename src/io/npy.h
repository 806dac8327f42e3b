// NumPy .npy files of float32 (the Hailo CLIP support files: token_embedding_lut.npy, text_projection.npy).
// Only what those files use is accepted, strictly: format version 1.0 or 2.0, dtype '<f4', C order, and a data
// size that equals the shape exactly. Anything else is an error naming the file and the problem.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"

namespace hclip {

struct NpyArray {
    std::vector<std::size_t> shape;
    std::vector<float> data;  // row-major
};

// `source` names the bytes in messages.
Result<NpyArray> parse_npy_f32(std::span<const std::uint8_t> bytes, const std::string& source);
Result<NpyArray> read_npy_f32(const std::string& path);

// Version 1.0 (2.0 when the header needs it), '<f4', C order, header padded to 64 bytes as NumPy writes it.
std::vector<std::uint8_t> encode_npy_f32(std::span<const std::size_t> shape, std::span<const float> data);
Status write_npy_f32(const std::string& path, std::span<const std::size_t> shape, std::span<const float> data);

}  // namespace hclip

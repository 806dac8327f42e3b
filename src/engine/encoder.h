// The backend boundary: a whole encoder tower. A backend (the CPU, or an NPU running a compiled encoder) turns
// prepared inputs into raw embeddings; everything before (decode, resize, tokenize) and after (normalize, score)
// is shared. An encoder is a per-worker session: not thread-safe, owns its scratch memory.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace hclip {

class ImageEncoder {
  public:
    virtual ~ImageEncoder() = default;
    virtual std::string_view backend_name() const = 0;
    virtual int max_batch() const = 0;
    // rgb: count images of image_size x image_size x 3 bytes (HWC, resized and cropped, not normalized).
    // out: count * embed_dim raw (unnormalized) embeddings.
    virtual Status encode(std::span<const std::uint8_t> rgb, int count, std::span<float> out) = 0;
};

class TextEncoder {
  public:
    virtual ~TextEncoder() = default;
    virtual std::string_view backend_name() const = 0;
    virtual int max_batch() const = 0;
    // Each text: SOT ... EOT token ids. out: texts.size() * embed_dim raw (unnormalized) embeddings.
    virtual Status encode(std::span<const std::vector<std::int32_t>> texts, std::span<float> out) = 0;
};

}  // namespace hclip

// Turning prepared inputs into embeddings and zero-shot classifications with one worker's encoders.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "engine/clip_engine.h"
#include "engine/encoder.h"
#include "engine/zero_shot.h"

namespace hclip {

// count * embed_dim values; L2-normalized per row when `normalize`.
Result<std::vector<float>> embed_images(ImageEncoder& encoder, std::span<const PreparedImage> images, int embed_dim,
                                        bool normalize);
Result<std::vector<float>> embed_texts(TextEncoder& encoder, std::span<const std::vector<std::int32_t>> texts,
                                       int embed_dim, bool normalize);

// Cosine similarity of one normalized image embedding with each normalized text embedding (rows of `texts`).
std::vector<float> cosine_similarities(std::span<const float> image, std::span<const float> texts, int embed_dim);

}  // namespace hclip

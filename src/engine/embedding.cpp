#include "engine/embedding.h"

namespace hclip {

Result<std::vector<float>> embed_images(ImageEncoder& encoder, std::span<const PreparedImage> images, int embed_dim,
                                        bool normalize) {
    std::vector<std::uint8_t> rgb;
    for (const auto& img : images)
        rgb.insert(rgb.end(), img.rgb.begin(), img.rgb.end());
    std::vector<float> out(images.size() * static_cast<std::size_t>(embed_dim));
    HCLIP_RETURN_IF_ERROR(encoder.encode(rgb, static_cast<int>(images.size()), out));
    if (normalize) l2_normalize_rows(out, static_cast<std::size_t>(embed_dim));
    return out;
}

Result<std::vector<float>> embed_texts(TextEncoder& encoder, std::span<const std::vector<std::int32_t>> texts,
                                       int embed_dim, bool normalize) {
    std::vector<float> out(texts.size() * static_cast<std::size_t>(embed_dim));
    HCLIP_RETURN_IF_ERROR(encoder.encode(texts, out));
    if (normalize) l2_normalize_rows(out, static_cast<std::size_t>(embed_dim));
    return out;
}

std::vector<float> cosine_similarities(std::span<const float> image, std::span<const float> texts, int embed_dim) {
    const auto d = static_cast<std::size_t>(embed_dim);
    std::vector<float> out;
    for (std::size_t r = 0; r + d <= texts.size(); r += d)
        out.push_back(dot(image, texts.subspan(r, d)));
    return out;
}

}  // namespace hclip

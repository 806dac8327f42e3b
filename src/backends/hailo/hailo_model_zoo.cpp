#include "backends/hailo/hailo_model_zoo.h"

#include <array>
#include <cstddef>

namespace hclip::hailo {

namespace {

constexpr auto kImage = EncoderKind::kImage;
constexpr auto kText = EncoderKind::kText;

// hailo_model_zoo v5.2.0 (commit c83fc030): shapes from cfg/networks/<name>.yaml, figures from the HAILO10H tables.
constexpr std::array<ZooHef, 10> kHefs{{
    {"clip_vit_b_32_image_encoder", kImage, 224, 224, 3, 1, 1, 512, "openai/CLIP ViT-B/32", 65.3, 64.0, 71.8, 335},
    {"clip_vit_b_16_image_encoder", kImage, 224, 224, 3, 1, 1, 512, "openai/CLIP ViT-B/16", 68.6, 65.0, 57.1, 169},
    {"clip_vit_l_14_laion2B_image_encoder", kImage, 224, 224, 3, 1, 1, 768, "laion/CLIP-ViT-L-14-laion2B-s32B-b82K",
     78.6, 77.7, 15.4, 40.8},
    {"clip_resnet_50_image_encoder", kImage, 224, 224, 3, 1, 1, 1024, "openai/CLIP RN50", 42.1, 41.4, 137, 296},
    {"clip_resnet_50x4_image_encoder", kImage, 288, 288, 3, 1, 1, 640, "openai/CLIP RN50x4", 50.3, 51.1, 63.1, 157},
    {"clip_vit_b_32_text_encoder", kText, 1, 77, 512, 1, 77, 512, "openai/clip-vit-base-patch32", 90.6, 89.5, 49.5,
     99.0},
    {"clip_vit_b_16_text_encoder", kText, 1, 77, 512, 1, 77, 512, "openai/clip-vit-base-patch16", 90.9, 90.4, 46.9,
     102},
    {"clip_vit_l_14_laion2B_text_encoder", kText, 1, 77, 768, 1, 77, 768, "laion/CLIP-ViT-L-14-laion2B-s32B-b82K", 94.7,
     94.5, 29.6, 54.8},
    {"clip_resnet_50_text_encoder", kText, 1, 77, 512, 1, 77, 512, "timm/resnet50_clip.openai", 88.8, 86.3, 44.5, 96.1},
    {"clip_resnet_50x4_text_encoder", kText, 1, 77, 640, 1, 77, 640, "timm/resnet50x4_clip.openai", 91.2, 89.8, 37.0,
     73.6},
}};

std::size_t input_elements(const ZooHef& h) {
    return static_cast<std::size_t>(h.input_height) * static_cast<std::size_t>(h.input_width) *
           static_cast<std::size_t>(h.input_features);
}

std::size_t output_elements(const ZooHef& h) {
    return static_cast<std::size_t>(h.output_height) * static_cast<std::size_t>(h.output_width) *
           static_cast<std::size_t>(h.output_features);
}

}  // namespace

std::span<const ZooHef> model_zoo_hefs() {
    return kHefs;
}

const ZooHef* find_zoo_hef(const std::string& name) {
    for (const ZooHef& h : kHefs) {
        if (name == h.name) return &h;
    }
    return nullptr;
}

std::vector<const ZooHef*> zoo_hefs_with_frames(EncoderKind kind, std::size_t in, std::size_t out) {
    std::vector<const ZooHef*> found;
    for (const ZooHef& h : kHefs) {
        if (h.kind == kind && input_elements(h) == in && output_elements(h) == out) found.push_back(&h);
    }
    return found;
}

std::string zoo_hef_url(const std::string& name, const std::string& version, const std::string& arch) {
    return "https://hailo-model-zoo.s3.eu-west-2.amazonaws.com/ModelZoo/Compiled/" + version + "/" + arch + "/" + name +
           ".hef";
}

std::string zoo_hef_hint(EncoderKind kind, std::size_t in, std::size_t out) {
    const std::vector<const ZooHef*> found = zoo_hefs_with_frames(kind, in, out);
    if (found.empty()) return "";
    std::string names;
    for (const ZooHef* h : found)
        names += (names.empty() ? "" : " or ") + std::string(h->name) + ", compiled from " + h->checkpoint;
    return " (its shapes are those of the Model Zoo's " + names + ")";
}

}  // namespace hclip::hailo

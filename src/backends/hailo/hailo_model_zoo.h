// The CLIP-family HEFs of Hailo Model Zoo v5.2.0 for the Hailo-10H: each encoder's tensor shapes, the checkpoint
// it was compiled from, and Hailo's published figures (docs/public_models/HAILO10H/HAILO10H_zero_shot_
// classification.rst and ..._text_image_retrieval.rst at hailo_model_zoo v5.2.0; docs/hailo.md has the table).
// Used to name the model a HEF belongs to when its shapes do not fit the served checkpoint, and by
// `hailo-clip models pull` to find the HEFs.
#pragma once

#include <span>
#include <string>
#include <vector>

namespace hclip::hailo {

enum class EncoderKind { kImage, kText };

struct ZooHef {
    const char* name;  // "clip_vit_b_32_image_encoder": the file is <name>.hef
    EncoderKind kind;
    // Input: image height x width x 3 (uint8 RGB), or 1 x 77 x text width (token-embedding rows).
    int input_height, input_width, input_features;
    // Output: 1 x 1 x embedding (image), or 1 x 77 x text width (rows after the final LayerNorm).
    int output_height, output_width, output_features;
    const char* checkpoint;  // what it was compiled from, as the zoo names it
    // Hailo's figures on the Hailo-10H (measured on an x86 host): accuracy in float and on the chip (image:
    // zero-shot CIFAR-100 top-1 %, text: retrieval@10 % on COCO XTD10), frames per second at batch 1 and 8.
    double float_accuracy, chip_accuracy, fps_batch1, fps_batch8;
};

inline constexpr const char* kModelZooVersion = "v5.2.0";
inline constexpr const char* kModelZooArch = "hailo10h";

// Every entry, image encoders first.
std::span<const ZooHef> model_zoo_hefs();

// The entry called `name` (without .hef), or nullptr.
const ZooHef* find_zoo_hef(const std::string& name);

// The entries of `kind` whose input and output frames have these sizes in elements (features included).
std::vector<const ZooHef*> zoo_hefs_with_frames(EncoderKind kind, std::size_t input_elements,
                                                std::size_t output_elements);

// "https://hailo-model-zoo.s3.eu-west-2.amazonaws.com/ModelZoo/Compiled/v5.2.0/hailo10h/<name>.hef", the URL
// hailo-apps' hailo-download-resources builds for Model Zoo HEFs.
std::string zoo_hef_url(const std::string& name, const std::string& version = kModelZooVersion,
                        const std::string& arch = kModelZooArch);

// " (its shapes are those of clip_vit_l_14_laion2B_image_encoder, compiled from
// laion/CLIP-ViT-L-14-laion2B-s32B-b82K)", or "" when no zoo HEF has them: appended to a frame-size mismatch.
std::string zoo_hef_hint(EncoderKind kind, std::size_t input_elements, std::size_t output_elements);

}  // namespace hclip::hailo

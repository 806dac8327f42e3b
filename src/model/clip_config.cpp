#include "model/clip_config.h"

#include <sstream>

namespace hclip {

std::string_view activation_name(Activation act) {
    return act == Activation::kGelu ? "gelu" : "quick_gelu";
}

std::string_view layout_name(CheckpointLayout layout) {
    return layout == CheckpointLayout::kHuggingFace ? "huggingface" : "openai";
}

std::string ClipConfig::summary() const {
    std::ostringstream s;
    s << "ViT width " << vision.width << ", " << vision.layers << " layers, " << vision.heads << " heads, patch "
      << vision.patch_size << ", " << vision.image_size << " px, " << activation_name(vision.activation)
      << " | text width " << text.width << ", " << text.layers << " layers, " << text.heads << " heads, "
      << activation_name(text.activation) << " | embed " << embed_dim << " | " << layout_name(layout) << " layout";
    return s.str();
}

}  // namespace hclip

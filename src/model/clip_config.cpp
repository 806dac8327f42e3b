#include "model/clip_config.h"

#include <sstream>

namespace hclip {

std::string_view activation_name(Activation act) {
    return act == Activation::kGelu ? "gelu" : "quick_gelu";
}

std::string_view layout_name(CheckpointLayout layout) {
    return layout == CheckpointLayout::kHuggingFace ? "huggingface" : "openai";
}

std::string_view vision_kind_name(VisionKind kind) {
    switch (kind) {
        case VisionKind::kResNet:
            return "resnet";
        case VisionKind::kFastVit:
            return "fastvit";
        case VisionKind::kVitConvStem:
            return "vit_conv_stem";
        case VisionKind::kVit:
            break;
    }
    return "vit";
}

std::string ClipConfig::summary() const {
    std::ostringstream s;
    if (vision.kind == VisionKind::kResNet) {
        const auto& l = vision.resnet.stage_layers;
        s << "ResNet width " << vision.width << ", layers (" << l[0] << "," << l[1] << "," << l[2] << "," << l[3]
          << "), attention pool " << vision.heads << " heads, " << vision.image_size << " px | text width "
          << text.width << ", " << text.layers << " layers, " << text.heads << " heads, "
          << activation_name(text.activation) << " | embed " << embed_dim << " | " << layout_name(layout) << " layout";
        return s.str();
    }
    if (vision.kind == VisionKind::kFastVit) {
        const auto& stages = vision.fastvit.stages;
        s << "FastViT " << (vision.fastvit.timm_name.empty() ? std::string("(no config)") : vision.fastvit.timm_name)
          << " layers (";
        for (std::size_t i = 0; i < stages.size(); ++i)
            s << (i > 0 ? "," : "") << stages[i].layers;
        s << "), widths (";
        for (std::size_t i = 0; i < stages.size(); ++i)
            s << (i > 0 ? "," : "") << stages[i].width;
        s << "), " << vision.image_size << " px | text width " << text.width << ", " << text.layers << " layers, "
          << text.heads << " heads, " << activation_name(text.activation) << (text.causal ? "" : ", not causal")
          << " | embed " << embed_dim;
        return s.str();
    }
    s << (vision.kind == VisionKind::kVitConvStem ? "ViT (conv stem) width " : "ViT width ") << vision.width << ", "
      << vision.layers << " layers, " << vision.heads << " heads, patch " << vision.patch_size << ", "
      << vision.image_size << " px, " << activation_name(vision.activation) << " | text width " << text.width << ", "
      << text.layers << " layers, " << text.heads << " heads, " << activation_name(text.activation)
      << (text.causal ? "" : ", not causal") << " | embed " << embed_dim << " | " << layout_name(layout) << " layout";
    return s.str();
}

}  // namespace hclip

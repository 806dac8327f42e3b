// The parts of timm's vit_base_mci_224 that a CLIP ViT does not have: its convolutional stem (BatchNorms folded at
// load) and the head, a linear layer with a bias. The transformer, class token, positional embedding and final norm
// are VisionWeights' (no ln_pre; the positional embedding covers the patches only).
#pragma once

#include <array>

#include "model/clip_weights.h"
#include "model/resnet_weights.h"

namespace hclip {

struct ConvStemWeights {
    std::array<FoldedConv, 3> convs;  // kernel = stride, no padding; GELU after the first two
    LinearWeights head;               // [embed, width] + bias
};

}  // namespace hclip

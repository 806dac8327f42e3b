// Reading timm's FastViT trunk of a MobileCLIP checkpoint (OpenCLIP names "visual.trunk.*"): the architecture from the
// tensors, checked against the timm model name a config gives, and the weights folded into plain convolutions.
// Checkpoints in the multi-branch training form (conv_kxk / conv_scale / identity BatchNorms, large and small kernel
// branches, layer scales) and already reparameterized ones (reparam_conv) are both accepted.
#pragma once

#include <string>

#include "core/status.h"
#include "io/safetensors.h"
#include "model/clip_config.h"
#include "model/fastvit_weights.h"

namespace hclip {

inline constexpr const char* kFastVitPrefix = "visual.trunk.";

// True when the checkpoint's image tower is a FastViT (its MobileOne stem, in either form).
bool is_fastvit_checkpoint(const SafetensorsFile& file);

// Stages, widths, which stages attend, squeeze-excite and positional convolutions; the head's output width
// (the embedding) in `embed_dim`.
Result<FastVitConfig> infer_fastvit(const SafetensorsFile& file, int& embed_dim);

// The geometry timm gives `timm_name` (fastvit_mci0, fastvit_mci1, fastvit_mci2) against the inferred one.
Status check_fastvit_name(const FastVitConfig& inferred, const std::string& timm_name);

// Every branch folded (BatchNorm running statistics, eps 1e-5) into the weights the CPU tower runs.
Result<FastVitWeights> load_fastvit(const SafetensorsFile& file, const FastVitConfig& config, int embed_dim);

}  // namespace hclip

// The image preprocessing a checkpoint's configuration files ask for: OpenCLIP's `preprocess_cfg` in
// open_clip_config.json (mean, std, interpolation, resize_mode, size), then a Hugging Face preprocessor_config.json
// (CLIPImageProcessor: image_mean, image_std, resample, size, crop_size) over it. What neither says keeps
// OpenCLIP's defaults, which are OpenAI's (mean/std, bicubic, shortest side). Values the engine cannot reproduce
// are refused with the file and key in the message, never approximated.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "core/status.h"
#include "image/preprocess.h"

namespace hclip {

// Either pointer may be null (the file is absent). `image_size` is the image tower's input size: any size a file
// states must equal it.
Result<PreprocessConfig> parse_preprocess_config(const nlohmann::json* open_clip_config,
                                                 const nlohmann::json* preprocessor_config, int image_size);

// "bicubic" and "bilinear" (and OpenCLIP's "random", which its inference transform resolves to bicubic).
Result<ResampleFilter> parse_interpolation(const std::string& name);

// "shortest", "longest", "squash".
Result<ResizeMode> parse_resize_mode(const std::string& name);

}  // namespace hclip

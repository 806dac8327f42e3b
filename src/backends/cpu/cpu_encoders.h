// The CPU backend: the float32 towers of src/model behind the encoder interface.
#pragma once

#include <memory>

#include "engine/encoder.h"
#include "model/clip_model.h"

namespace hclip {

std::unique_ptr<ImageEncoder> make_cpu_image_encoder(std::shared_ptr<const ClipModel> model, int max_batch);
std::unique_ptr<TextEncoder> make_cpu_text_encoder(std::shared_ptr<const ClipModel> model, int max_batch);

}  // namespace hclip

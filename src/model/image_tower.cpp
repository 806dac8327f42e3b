#include "model/image_tower.h"

#include <algorithm>

#include "kernels/compute_pool.h"

#include "model/conv_stem_vit_tower.h"
#include "model/fastvit_tower.h"
#include "model/resnet_tower.h"
#include "model/vision_tower.h"

namespace hclip {

std::unique_ptr<ImageTower> make_image_tower(std::shared_ptr<const ClipModel> model, int max_batch) {
    if (model->config().vision.kind == VisionKind::kResNet) {
        return std::make_unique<ResNetTower>(std::move(model), max_batch);
    }
    if (model->config().vision.kind == VisionKind::kFastVit) {
        return std::make_unique<FastVitTower>(std::move(model), max_batch);
    }
    if (model->config().vision.kind == VisionKind::kVitConvStem) {
        return std::make_unique<ConvStemVitTower>(std::move(model), max_batch);
    }
    return std::make_unique<VisionTower>(std::move(model), max_batch);
}

Status check_image_tower_io(const ClipConfig& cfg, std::size_t pixels, int batch, std::size_t out) {
    const auto s = static_cast<std::size_t>(cfg.vision.image_size);
    if (batch < 0 || pixels != 3u * s * s * static_cast<std::size_t>(batch) ||
        out != static_cast<std::size_t>(batch) * static_cast<std::size_t>(cfg.embed_dim)) {
        return invalid_argument("image tower: expected " + std::to_string(batch) + " images of 3x" + std::to_string(s) +
                                "x" + std::to_string(s) + " pixels");
    }
    return {};
}

Status encode_in_chunks(const ClipConfig& cfg, std::span<const float> pixels, int batch, std::span<float> out,
                        int max_batch, FunctionRef<void(const float* pixels, int count, float* out)> chunk) {
    HCLIP_RETURN_IF_ERROR(check_image_tower_io(cfg, pixels.size(), batch, out.size()));
    const ComputeScope computing;  // this thread counts as busy in the compute pool for the whole pass
    const auto per_image = 3u * static_cast<std::size_t>(cfg.vision.image_size) * cfg.vision.image_size;
    for (int done = 0; done < batch; done += max_batch) {
        chunk(pixels.data() + per_image * static_cast<std::size_t>(done), std::min(max_batch, batch - done),
              out.data() + static_cast<std::size_t>(done) * static_cast<std::size_t>(cfg.embed_dim));
    }
    return {};
}

}  // namespace hclip

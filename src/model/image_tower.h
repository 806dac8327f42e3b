// The CPU image tower of any family: normalized pixels [batch, 3, S, S] -> raw image embeddings [batch, embed].
// One session per worker; not thread-safe; no allocation after construction. make_image_tower picks the family
// the checkpoint has (VisionConfig::kind).
#pragma once

#include <memory>
#include <span>

#include "core/function_ref.h"
#include "core/status.h"
#include "model/clip_model.h"

namespace hclip {

class ImageTower {
  public:
    virtual ~ImageTower() = default;

    virtual int max_batch() const = 0;
    int embed_dim() const { return model().config().embed_dim; }
    int image_size() const { return model().config().vision.image_size; }

    // pixels: batch * 3 * S * S floats (CHW per image, already normalized); out: batch * embed_dim floats.
    // Larger batches than max_batch are processed in chunks.
    virtual Status encode(std::span<const float> pixels, int batch, std::span<float> out) = 0;

  protected:
    virtual const ClipModel& model() const = 0;
};

std::unique_ptr<ImageTower> make_image_tower(std::shared_ptr<const ClipModel> model, int max_batch);

// The size check every family shares.
Status check_image_tower_io(const ClipConfig& cfg, std::size_t pixels, int batch, std::size_t out);

// What every family's encode() does around its own pass: the size check, the calling thread counted busy in the
// compute pool, and the batch cut into chunks of at most max_batch images; `chunk` gets each chunk's first image,
// its image count and where its embeddings go.
Status encode_in_chunks(const ClipConfig& cfg, std::span<const float> pixels, int batch, std::span<float> out,
                        int max_batch, FunctionRef<void(const float* pixels, int count, float* out)> chunk);

}  // namespace hclip

#include "backends/cpu/cpu_encoders.h"

#include "image/preprocess.h"
#include "model/image_tower.h"
#include "model/text_tower.h"

namespace hclip {

namespace {

class CpuImageEncoder final : public ImageEncoder {
  public:
    CpuImageEncoder(std::shared_ptr<const ClipModel> model, int max_batch)
        : tower_(make_image_tower(model, max_batch)),
          image_size_(model->config().vision.image_size),
          spec_(model->config().preprocess_spec()) {
        pixels_.resize(static_cast<std::size_t>(tower_->max_batch()) * per_image_floats());
    }

    std::string_view backend_name() const override { return "cpu"; }
    int max_batch() const override { return tower_->max_batch(); }

    Status encode(std::span<const std::uint8_t> rgb, int count, std::span<float> out) override {
        const std::size_t per_image_bytes = per_image_floats();  // S*S*3 bytes in, S*S*3 floats out
        const auto e = static_cast<std::size_t>(tower_->embed_dim());
        if (count < 0 || rgb.size() != per_image_bytes * static_cast<std::size_t>(count) ||
            out.size() != e * static_cast<std::size_t>(count)) {
            return invalid_argument("image encoder: input or output size does not match " + std::to_string(count) +
                                    " images");
        }
        // Normalize a chunk at a time into the session's own buffer: no allocation per request.
        for (int done = 0; done < count; done += tower_->max_batch()) {
            const int n = std::min(tower_->max_batch(), count - done);
            for (int i = 0; i < n; ++i) {
                normalize_rgb8_to_chw(
                    rgb.subspan(per_image_bytes * static_cast<std::size_t>(done + i), per_image_bytes), image_size_,
                    spec_,
                    std::span<float>(pixels_).subspan(per_image_floats() * static_cast<std::size_t>(i),
                                                      per_image_floats()));
            }
            HCLIP_RETURN_IF_ERROR(
                tower_->encode(std::span<const float>(pixels_).first(per_image_floats() * static_cast<std::size_t>(n)),
                               n, out.subspan(e * static_cast<std::size_t>(done), e * static_cast<std::size_t>(n))));
        }
        return {};
    }

  private:
    std::size_t per_image_floats() const {
        return 3u * static_cast<std::size_t>(image_size_) * static_cast<std::size_t>(image_size_);
    }

    std::unique_ptr<ImageTower> tower_;
    int image_size_;
    PreprocessSpec spec_;
    std::vector<float> pixels_;
};

class CpuTextEncoder final : public TextEncoder {
  public:
    CpuTextEncoder(std::shared_ptr<const ClipModel> model, int max_batch) : tower_(std::move(model), max_batch) {}
    std::string_view backend_name() const override { return "cpu"; }
    int max_batch() const override { return tower_.max_batch(); }
    Status encode(std::span<const std::vector<std::int32_t>> texts, std::span<float> out) override {
        return tower_.encode(texts, out);
    }

  private:
    TextTower tower_;
};

}  // namespace

std::unique_ptr<ImageEncoder> make_cpu_image_encoder(std::shared_ptr<const ClipModel> model, int max_batch) {
    return std::make_unique<CpuImageEncoder>(std::move(model), max_batch);
}

std::unique_ptr<TextEncoder> make_cpu_text_encoder(std::shared_ptr<const ClipModel> model, int max_batch) {
    return std::make_unique<CpuTextEncoder>(std::move(model), max_batch);
}

}  // namespace hclip

#include "backends/hailo/hailo_backend.h"

#include <algorithm>

#include "backends/hailo/hailo_model_zoo.h"
#include "backends/hailo/hailo_status.h"
#include "backends/hailo/text_host.h"
#include "model/text_tower.h"

namespace hclip::hailo {

namespace {

std::string shape_text(const NpuTensorInfo& t) {
    std::string s;
    for (std::size_t d : t.shape)
        s += (s.empty() ? "" : "x") + std::to_string(d);
    return s + (t.format == HostFormat::kFloat32 ? " float32" : " uint8");
}

Status check_single_io(const NpuModel& m, const std::string& path, const char* which) {
    if (m.inputs().size() == 1 && m.outputs().size() == 1) return {};
    return invalid_argument(
        "the " + std::string(which) + " encoder HEF " + path + " has " + std::to_string(m.inputs().size()) +
        " inputs and " + std::to_string(m.outputs().size()) + " outputs; the CLIP " + which +
        " encoder HEF has exactly one of each. Is this the right file? (`hailortcli parse-hef " + path + "`)");
}

Status check_frame(const NpuTensorInfo& t, std::size_t expected, const std::string& path, const std::string& role,
                   const std::string& need) {
    if (t.frame_bytes == expected) return {};
    return invalid_argument("the " + role + " '" + t.name + "' of " + path + " is " + shape_text(t) + " (" +
                            std::to_string(t.frame_bytes) + " bytes per frame) but " + need + " (" +
                            std::to_string(expected) + " bytes); the HEF was compiled for another model");
}

// A HEF whose frames do not fit the served checkpoint: the message names the Model Zoo HEF with its shapes, if any.
Status with_zoo_hint(Status s, EncoderKind kind, const NpuModel& m) {
    if (s.ok()) return s;
    auto elements = [](const NpuTensorInfo& t) { return t.frame_bytes / (t.format == HostFormat::kFloat32 ? 4 : 1); };
    return {s.code(), s.message() + zoo_hef_hint(kind, elements(m.inputs()[0]), elements(m.outputs()[0]))};
}

class HailoImageEncoder final : public ImageEncoder {
  public:
    explicit HailoImageEncoder(std::shared_ptr<HailoBackend> backend)
        : backend_(std::move(backend)), name_(backend_->name()) {}
    std::string_view backend_name() const override { return name_; }
    int max_batch() const override { return 1; }
    Status encode(std::span<const std::uint8_t> rgb, int count, std::span<float> out) override {
        const ClipConfig& c = backend_->model().config();
        const std::size_t per_image = 3u * static_cast<std::size_t>(c.vision.image_size) * c.vision.image_size;
        const auto e = static_cast<std::size_t>(c.embed_dim);
        if (count < 0 || rgb.size() != per_image * static_cast<std::size_t>(count) ||
            out.size() != e * static_cast<std::size_t>(count)) {
            return invalid_argument("image encoder: input or output size does not match " + std::to_string(count) +
                                    " images");
        }
        // The HEF runs one frame at a time; the scheduler interleaves other models between frames.
        for (std::size_t i = 0; i < static_cast<std::size_t>(count); ++i) {
            HCLIP_RETURN_IF_ERROR(backend_->run_image(rgb.subspan(i * per_image, per_image), out.subspan(i * e, e)));
        }
        return {};
    }

  private:
    std::shared_ptr<HailoBackend> backend_;
    std::string name_;
};

class HailoTextEncoder final : public TextEncoder {
  public:
    explicit HailoTextEncoder(std::shared_ptr<HailoBackend> backend)
        : backend_(std::move(backend)), name_(backend_->name()) {
        const auto ctx = static_cast<std::size_t>(backend_->model().config().text.context_length);
        rows_.resize(ctx * static_cast<std::size_t>(backend_->support().width()));
        out_rows_.resize(rows_.size());
    }
    std::string_view backend_name() const override { return name_; }
    int max_batch() const override { return 1; }

    Status encode(std::span<const std::vector<std::int32_t>> texts, std::span<float> out) override {
        const TextConfig& c = backend_->model().config().text;
        const TextSupportFiles& f = backend_->support();
        const auto w = static_cast<std::size_t>(f.width()), e = static_cast<std::size_t>(f.embed());
        if (out.size() != texts.size() * e) {
            return invalid_argument("text encoder: output has room for " + std::to_string(out.size() / e) +
                                    " texts, got " + std::to_string(texts.size()));
        }
        for (std::size_t b = 0; b < texts.size(); ++b) {
            const std::vector<std::int32_t>& ids = texts[b];
            HCLIP_ASSIGN_OR_RETURN(const int eot, TextTower::find_eot(ids, c));
            gather_token_rows(ids, eot, c, f.lut, rows_);
            HCLIP_RETURN_IF_ERROR(backend_->run_text(rows_, out_rows_));
            project_pooled_row(std::span<const float>(out_rows_).subspan(static_cast<std::size_t>(eot) * w, w),
                               f.projection, out.subspan(b * e, e));
        }
        return {};
    }

  private:
    std::shared_ptr<HailoBackend> backend_;
    std::string name_;
    std::vector<float> rows_, out_rows_;
};

}  // namespace

Result<std::shared_ptr<HailoBackend>> HailoBackend::start(const HailoBackendOptions& options,
                                                          std::shared_ptr<const ClipModel> model,
                                                          const NpuDeviceFactory& factory) {
    if (!factory) return unavailable("this build of hailo-clip has no HailoRT, so it cannot use a Hailo NPU");
    std::shared_ptr<HailoBackend> b(new HailoBackend());
    b->options_ = options;
    b->model_ = std::move(model);
    b->factory_ = factory;
    const ClipConfig& c = b->model_->config();
    if (options.text_on_npu) {
        HCLIP_ASSIGN_OR_RETURN(b->support_,
                               load_text_support_files(options.token_embedding_lut, options.text_projection));
        if (b->support_.vocab() != c.text.vocab_size) {
            return invalid_argument(options.token_embedding_lut + " has " + std::to_string(b->support_.vocab()) +
                                    " token rows but the tokenizer's vocabulary has " +
                                    std::to_string(c.text.vocab_size));
        }
        if (b->support_.embed() != c.embed_dim) {
            return invalid_argument(options.text_projection + " projects to " + std::to_string(b->support_.embed()) +
                                    " dimensions but the image embeddings have " + std::to_string(c.embed_dim));
        }
        HCLIP_RETURN_IF_ERROR(check_text_support_files_match(b->support_, *b->model_, options.token_embedding_lut,
                                                             options.text_projection));
    }
    {
        std::unique_lock lock(b->device_mutex_);
        HCLIP_RETURN_IF_ERROR(b->open_all());
    }
    b->ready_ = true;
    b->recovery_ = std::thread([raw = b.get()] { raw->recovery_loop(); });
    return b;
}

HailoBackend::~HailoBackend() {
    {
        std::lock_guard lock(state_mutex_);
        stopping_ = true;
    }
    state_cv_.notify_all();
    if (recovery_.joinable()) recovery_.join();
    std::unique_lock lock(device_mutex_);
    close_all();
}

Status HailoBackend::open_all() {
    std::unique_ptr<NpuDevice> device;
    NpuStatus s = factory_(options_.device, device);
    if (!s.ok()) return to_status(s.code, s.what.empty() ? "opening the Hailo device" : s.what, s.advice);
    const ClipConfig& c = model_->config();
    std::unique_ptr<NpuModel> image, text;
    if (options_.image_on_npu) {
        // Host formats are requested before anything is sized: uint8 pixels in, float32 out (HailoRT dequantizes).
        s = device->open_model(options_.image_hef, {HostFormat::kUint8, HostFormat::kFloat32}, image);
        if (!s.ok()) return to_status(s.code, s.what, s.advice);
        HCLIP_RETURN_IF_ERROR(check_single_io(*image, options_.image_hef, "image"));
        const auto px = static_cast<std::size_t>(c.vision.image_size);
        const std::string served = "the checkpoint in " + model_->model_dir();
        HCLIP_RETURN_IF_ERROR(
            with_zoo_hint(check_frame(image->inputs()[0], px * px * 3, options_.image_hef, "input",
                                      served + " takes " + std::to_string(px) + "x" + std::to_string(px) + "x3 uint8 RGB"),
                          EncoderKind::kImage, *image));
        HCLIP_RETURN_IF_ERROR(with_zoo_hint(
            check_frame(image->outputs()[0], static_cast<std::size_t>(c.embed_dim) * 4, options_.image_hef, "output",
                        "the embeddings of " + served + " are " + std::to_string(c.embed_dim) + " float32"),
            EncoderKind::kImage, *image));
    }
    if (options_.text_on_npu) {
        // Float32 rows in (HailoRT quantizes to the HEF's 16-bit input), float32 rows out.
        s = device->open_model(options_.text_hef, {HostFormat::kFloat32, HostFormat::kFloat32}, text);
        if (!s.ok()) return to_status(s.code, s.what, s.advice);
        HCLIP_RETURN_IF_ERROR(check_single_io(*text, options_.text_hef, "text"));
        const std::size_t rows_bytes =
            static_cast<std::size_t>(c.text.context_length) * static_cast<std::size_t>(support_.width()) * 4;
        const std::string need = std::to_string(c.text.context_length) + " tokens x " +
                                 std::to_string(support_.width()) + " (the width of " + options_.token_embedding_lut +
                                 ") float32";
        HCLIP_RETURN_IF_ERROR(
            with_zoo_hint(check_frame(text->inputs()[0], rows_bytes, options_.text_hef, "input", "it needs " + need),
                          EncoderKind::kText, *text));
        HCLIP_RETURN_IF_ERROR(
            with_zoo_hint(check_frame(text->outputs()[0], rows_bytes, options_.text_hef, "output", "it needs " + need),
                          EncoderKind::kText, *text));
    }
    description_ = device->description();
    emulated_ = device->emulated();
    device_ = std::move(device);
    image_ = std::move(image);
    text_ = std::move(text);
    return {};
}

void HailoBackend::close_all() {
    // Models before the device they were configured on.
    image_.reset();
    text_.reset();
    device_.reset();
}

HailoState HailoBackend::device_state() const {
    std::lock_guard lock(state_mutex_);
    return {ready_, reason_, reinitializations_};
}

BackendState HailoBackend::state() const {
    const HailoState s = device_state();
    return {s.ready, s.ready ? std::string() : "the Hailo device is being reinitialized: " + s.reason};
}

Result<std::unique_ptr<ImageEncoder>> HailoBackend::create_image_encoder() {
    if (!options_.image_on_npu) return internal_error("the Hailo backend was not opened for the image tower");
    return std::unique_ptr<ImageEncoder>(std::make_unique<HailoImageEncoder>(shared_from_this()));
}

Result<std::unique_ptr<TextEncoder>> HailoBackend::create_text_encoder() {
    if (!options_.text_on_npu) return internal_error("the Hailo backend was not opened for the text tower");
    return std::unique_ptr<TextEncoder>(std::make_unique<HailoTextEncoder>(shared_from_this()));
}

Status HailoBackend::run_image(std::span<const std::uint8_t> rgb, std::span<float> embedding) {
    return run(true, rgb, embedding);
}

Status HailoBackend::run_text(std::span<const float> rows, std::span<float> out_rows) {
    return run(false,
               std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(rows.data()), rows.size_bytes()),
               out_rows);
}

Status HailoBackend::run(bool image, std::span<const std::uint8_t> in, std::span<float> out) {
    std::shared_lock device(device_mutex_);
    {
        std::lock_guard lock(state_mutex_);
        if (!ready_) {
            return unavailable("the Hailo device is being reinitialized (" + reason_ + "); retry shortly");
        }
    }
    NpuModel* m = image ? image_.get() : text_.get();
    if (m == nullptr) {
        return internal_error(std::string("the Hailo ") + (image ? "image" : "text") + " encoder is not configured");
    }
    NpuStatus s;
    {
        std::lock_guard lock(image ? image_mutex_ : text_mutex_);
        s = m->run(in, out, options_.timeout);
    }
    if (s.ok()) return {};
    Status mapped =
        to_status(s.code, s.what.empty() ? (image ? "image encoder inference" : "text encoder inference") : s.what);
    if (is_device_lost(s.code)) mark_lost(mapped.message());
    return mapped;
}

void HailoBackend::mark_lost(const std::string& reason) {
    {
        std::lock_guard lock(state_mutex_);
        if (!ready_) return;
        ready_ = false;
        reason_ = reason;
    }
    warn("Hailo device lost: " + reason + "; reinitializing");
    state_cv_.notify_all();
}

void HailoBackend::warn(const std::string& m) const {
    if (options_.log_warning) options_.log_warning(m);
}

void HailoBackend::recovery_loop() {
    std::unique_lock lock(state_mutex_);
    for (;;) {
        state_cv_.wait(lock, [&] { return stopping_ || !ready_; });
        if (stopping_) return;
        auto delay = options_.retry_initial;
        int attempt = 0;
        while (!ready_) {
            // Back off before every attempt: a device that just dropped needs time, and retrying in a tight loop
            // would compete with whoever else tries to open it.
            if (state_cv_.wait_for(lock, delay, [&] { return stopping_; })) return;
            ++attempt;
            lock.unlock();
            Status s;
            {
                std::unique_lock device(device_mutex_);
                close_all();
                s = open_all();
                if (!s.ok()) close_all();
            }
            lock.lock();
            if (s.ok()) {
                ready_ = true;
                ++reinitializations_;
                const std::string was = reason_;
                reason_.clear();
                lock.unlock();
                if (options_.log_info) {
                    options_.log_info("Hailo device reinitialized after " + std::to_string(attempt) +
                                      " attempt(s); it had failed with: " + was);
                }
                lock.lock();
                break;
            }
            delay = std::min(delay * 2, options_.retry_max);
            const std::string m = "reinitializing the Hailo device failed (attempt " + std::to_string(attempt) +
                                  "): " + s.message() + "; next attempt in " + std::to_string(delay.count()) + " ms";
            lock.unlock();
            warn(m);
            lock.lock();
        }
    }
}

}  // namespace hclip::hailo

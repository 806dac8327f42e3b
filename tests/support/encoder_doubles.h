// Encoder test doubles for the inference pool and the health monitor: tiny deterministic outputs, and a control
// that blocks a worker inside encode(), fails batches or throws, the way a stuck NPU, a lost device or an
// exhausted allocator would. Test code only: production has no fault hooks.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <new>

#include "engine/encoder.h"
#include "server/inference/inference_pool.h"

namespace hclip::testing {

struct EncoderControl {
    std::mutex mutex;
    std::condition_variable cv;
    bool gate_open = true;          // closed: encode() blocks until it opens
    std::atomic<int> fail_next{0};  // this many batches fail
    std::atomic<bool> fail_always{false};
    std::atomic<bool> throw_bad_alloc{false};
    std::atomic<int> entered{0};  // encode() calls begun

    void close_gate() {
        std::lock_guard lock(mutex);
        gate_open = false;
    }
    void open_gate() {
        {
            std::lock_guard lock(mutex);
            gate_open = true;
        }
        cv.notify_all();
    }
};

// Two-dimensional raw embeddings: (first byte of the picture + 1, 1); a batch can fail, block or throw on demand.
class ControlledImageEncoder : public ImageEncoder {
  public:
    explicit ControlledImageEncoder(std::shared_ptr<EncoderControl> control) : control_(std::move(control)) {}
    std::string_view backend_name() const override { return "test-double"; }
    int max_batch() const override { return 8; }
    Status encode(std::span<const std::uint8_t> rgb, int count, std::span<float> out) override {
        control_->entered.fetch_add(1);
        {
            std::unique_lock lock(control_->mutex);
            control_->cv.wait(lock, [this] { return control_->gate_open; });
        }
        if (control_->throw_bad_alloc.load()) throw std::bad_alloc();
        if (control_->fail_always.load()) return unavailable("device lost (test double)");
        if (control_->fail_next.fetch_sub(1) > 0) return unavailable("device lost (test double)");
        control_->fail_next.store(0);
        const std::size_t per_image = rgb.size() / static_cast<std::size_t>(count);
        for (int i = 0; i < count; ++i) {
            out[static_cast<std::size_t>(i) * 2] = static_cast<float>(rgb[static_cast<std::size_t>(i) * per_image]) + 1;
            out[static_cast<std::size_t>(i) * 2 + 1] = 1.0f;
        }
        return {};
    }

  private:
    std::shared_ptr<EncoderControl> control_;
};

class ConstantTextEncoder : public TextEncoder {
  public:
    std::string_view backend_name() const override { return "test-double"; }
    int max_batch() const override { return 8; }
    Status encode(std::span<const std::vector<std::int32_t>> texts, std::span<float> out) override {
        for (std::size_t i = 0; i < texts.size(); ++i) {
            out[i * 2] = 1.0f;
            out[i * 2 + 1] = static_cast<float>(texts[i].size());
        }
        return {};
    }
};

inline server::EncoderFactory controlled_factory(std::shared_ptr<EncoderControl> control) {
    return {.image = [control]() -> Result<std::unique_ptr<ImageEncoder>> {
                return std::unique_ptr<ImageEncoder>(std::make_unique<ControlledImageEncoder>(control));
            },
            .text = []() -> Result<std::unique_ptr<TextEncoder>> {
                return std::unique_ptr<TextEncoder>(std::make_unique<ConstantTextEncoder>());
            }};
}

}  // namespace hclip::testing

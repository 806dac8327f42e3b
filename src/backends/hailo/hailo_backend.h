// The Hailo backend: both CLIP encoders on a Hailo NPU behind the tower interface (engine/encoder.h).
//
// One device per process (HailoRT VDevice, model scheduler, round robin), both HEFs configured on it once at
// start-up, their tensor sizes checked against what the model and the support files need. Workers share it: each
// worker's encoder keeps its own host buffers and runs one frame at a time under that model's lock.
//
// Host work around the NPU: image, nothing (the HEF normalizes and projects); text, the token-embedding rows in,
// then the row at the first end-of-text token times text_projection. Both return raw embeddings; the caller
// L2-normalizes.
//
// A lost device (communication closed, RPC failure, driver timeout, disconnected) is reopened by a background
// thread with exponential back-off; meanwhile every call fails with kUnavailable (503) at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>

#include "backends/hailo/npu_session.h"
#include "backends/hailo/support_files.h"
#include "core/status.h"
#include "engine/backend.h"
#include "engine/encoder.h"
#include "model/clip_model.h"

namespace hclip::hailo {

struct HailoBackendOptions {
    std::string image_hef;
    std::string text_hef;
    std::string token_embedding_lut;
    std::string text_projection;
    bool image_on_npu = true;  // which HEFs are configured: the engine may put either tower on another backend
    bool text_on_npu = true;
    NpuDeviceOptions device;
    std::chrono::milliseconds timeout{2000};  // one frame on the NPU
    std::chrono::milliseconds retry_initial{500};
    std::chrono::milliseconds retry_max{30000};
    std::function<void(const std::string&)> log_warning;  // reinitialization progress
    std::function<void(const std::string&)> log_info;
};

struct HailoState {
    bool ready = false;
    std::string reason;  // why not ready
    int reinitializations = 0;
};

class HailoBackend final : public Backend, public std::enable_shared_from_this<HailoBackend> {
  public:
    // Opens the device, configures the HEFs and checks every size. An error here names the file and the fix.
    static Result<std::shared_ptr<HailoBackend>> start(const HailoBackendOptions& options,
                                                       std::shared_ptr<const ClipModel> model,
                                                       const NpuDeviceFactory& factory);
    ~HailoBackend();
    HailoBackend(const HailoBackend&) = delete;
    HailoBackend& operator=(const HailoBackend&) = delete;

    // Per-worker sessions (Backend); an error for a tower whose HEF was not configured.
    Result<std::unique_ptr<ImageEncoder>> create_image_encoder() override;
    Result<std::unique_ptr<TextEncoder>> create_text_encoder() override;

    // "hailo", or "hailo-emulated" when the device says it is an emulation (a test double): such a device is
    // never reported as the NPU.
    std::string name() const override { return emulated_ ? "hailo-emulated" : "hailo"; }
    std::string description() const override { return description_; }
    bool emulated() const { return emulated_; }
    BackendState state() const override;
    HailoState device_state() const;

    // One frame through a model (the encoders call these).
    Status run_image(std::span<const std::uint8_t> rgb, std::span<float> embedding);
    Status run_text(std::span<const float> rows, std::span<float> out_rows);

    const ClipModel& model() const { return *model_; }
    const TextSupportFiles& support() const { return support_; }

  private:
    HailoBackend() = default;
    Status open_all();  // device_mutex_ held exclusively
    void close_all();   // device_mutex_ held exclusively
    Status run(bool image, std::span<const std::uint8_t> in, std::span<float> out);
    void mark_lost(const std::string& reason);
    void recovery_loop();
    void warn(const std::string& m) const;

    HailoBackendOptions options_;
    std::shared_ptr<const ClipModel> model_;
    NpuDeviceFactory factory_;
    TextSupportFiles support_;
    std::string description_;
    bool emulated_ = false;

    std::shared_mutex device_mutex_;  // shared by runs, exclusive to reopen
    std::mutex image_mutex_, text_mutex_;
    std::unique_ptr<NpuDevice> device_;
    std::unique_ptr<NpuModel> image_, text_;

    mutable std::mutex state_mutex_;
    std::condition_variable state_cv_;
    bool ready_ = false;
    bool stopping_ = false;
    std::string reason_;
    int reinitializations_ = 0;
    std::thread recovery_;
};

}  // namespace hclip::hailo

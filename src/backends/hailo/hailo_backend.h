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
#include "engine/encoder.h"
#include "model/clip_model.h"

namespace hclip::hailo {

struct HailoBackendOptions {
    std::string image_hef;
    std::string text_hef;
    std::string token_embedding_lut;
    std::string text_projection;
    bool text_on_npu = true;  // false: the text tower runs on the CPU with the same checkpoint
    NpuDeviceOptions device;
    std::chrono::milliseconds timeout{2000};  // one frame on the NPU
    std::chrono::milliseconds retry_initial{500};
    std::chrono::milliseconds retry_max{30000};
    std::function<void(const std::string&)> log_warning;  // reinitialization progress
    std::function<void(const std::string&)> log_info;
};

// Test seam: each flag is a known host-side bug. Mutation tests switch one on and assert the golden comparison
// fails, which proves that comparison would catch the bug. Never set outside tests.
struct HostFaults {
    bool transposed_projection = false;  // reads text_projection.npy as [embed, width]
    bool eot_by_nonzero_count = false;   // pools at (count of non-zero ids) - 1, as a known example does
};

struct HailoState {
    bool ready = false;
    std::string reason;  // why not ready
    int reinitializations = 0;
};

class HailoBackend : public std::enable_shared_from_this<HailoBackend> {
  public:
    // Opens the device, configures the HEFs and checks every size. An error here names the file and the fix.
    static Result<std::shared_ptr<HailoBackend>> start(const HailoBackendOptions& options,
                                                       std::shared_ptr<const ClipModel> model,
                                                       const NpuDeviceFactory& factory, HostFaults faults = {});
    ~HailoBackend();
    HailoBackend(const HailoBackend&) = delete;
    HailoBackend& operator=(const HailoBackend&) = delete;

    // Per-worker sessions.
    std::unique_ptr<ImageEncoder> create_image_encoder();
    std::unique_ptr<TextEncoder> create_text_encoder(int max_batch);

    // "hailo", or "hailo-emulated" for the CPU stand-in; "+cpu-text" when the text tower runs on the CPU.
    std::string name() const;
    std::string encoder_name() const { return emulated_ ? "hailo-emulated" : "hailo"; }
    std::string description() const { return description_; }
    bool emulated() const { return emulated_; }
    HailoState state() const;

    // One frame through a model (the encoders call these).
    Status run_image(std::span<const std::uint8_t> rgb, std::span<float> embedding);
    Status run_text(std::span<const float> rows, std::span<float> out_rows);

    const ClipModel& model() const { return *model_; }
    const TextSupportFiles& support() const { return support_; }
    const HostFaults& faults() const { return faults_; }

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
    HostFaults faults_;
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

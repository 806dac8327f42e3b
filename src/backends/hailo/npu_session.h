// The narrow interface between the Hailo backend and HailoRT. Everything the backend needs from the NPU is here:
// open one device per process, configure a HEF on it once, read its tensors' names, shapes and frame sizes, and
// run one frame. The real implementation (hailort_session.cpp) exists only in builds that found HailoRT; the CPU
// stand-in (cpu_stand_in.h) emulates each CLIP HEF's contract with our own towers so everything around the NPU call
// is tested without one. Failures are HailoRT status codes (hailo_status numbering); hailo_status.h maps them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace hclip::hailo {

// A HailoRT status and what was being done. code 0 is success. `advice`, when set, is what the call site learned
// about the failure (e.g. error 74 with no device in Device::scan()) and replaces the per-code advice of
// hailo_status.h: the same code can mean different things at different calls.
struct NpuStatus {
    NpuStatus() = default;
    NpuStatus(int status, std::string what_failed, std::string call_site_advice = {})
        : code(status), what(std::move(what_failed)), advice(std::move(call_site_advice)) {}
    int code = 0;
    std::string what;
    std::string advice;
    bool ok() const { return code == 0; }
};

enum class HostFormat { kUint8, kFloat32 };

struct NpuTensorInfo {
    std::string name;
    std::vector<std::size_t> shape;  // height, width, features as the HEF states them
    HostFormat format = HostFormat::kUint8;
    std::size_t frame_bytes = 0;  // one frame in the host format, as HailoRT will check it
};

// The host formats requested for every input and output before the model is configured (and before any size is
// read: HailoRT sizes frames in the requested format).
struct NpuModelRequest {
    HostFormat input = HostFormat::kUint8;
    HostFormat output = HostFormat::kFloat32;
};

// One configured HEF. run() is called under the backend's per-model lock.
class NpuModel {
  public:
    virtual ~NpuModel() = default;
    virtual const std::vector<NpuTensorInfo>& inputs() const = 0;
    virtual const std::vector<NpuTensorInfo>& outputs() const = 0;
    // One frame: `in` is exactly inputs()[0].frame_bytes, `out` exactly outputs()[0].frame_bytes / 4 floats.
    virtual NpuStatus run(std::span<const std::uint8_t> in, std::span<float> out,
                          std::chrono::milliseconds timeout) = 0;
};

struct NpuDeviceOptions {
    int device_index = 0;  // 0: the first device HailoRT finds
    std::string group_id;  // VDevice group: processes with the same id share the chip
};

// The one VDevice of the process (model scheduler, round robin). Models opened from it must be destroyed first.
class NpuDevice {
  public:
    virtual ~NpuDevice() = default;
    virtual NpuStatus open_model(const std::string& hef_path, const NpuModelRequest& request,
                                 std::unique_ptr<NpuModel>& out) = 0;
    // "Hailo-10H via HailoRT 5.2.0, group SHARED", or the stand-in's description.
    virtual std::string description() const = 0;
    // True for the CPU stand-in: such a device can never be reported as the NPU.
    virtual bool emulated() const = 0;
};

using NpuDeviceFactory = std::function<NpuStatus(const NpuDeviceOptions&, std::unique_ptr<NpuDevice>&)>;

// The HailoRT device factory, or nullptr in builds without HailoRT.
NpuDeviceFactory hailort_device_factory();

}  // namespace hclip::hailo

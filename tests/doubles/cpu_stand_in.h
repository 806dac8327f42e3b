// A test double: a CPU stand-in for the Hailo device (never linked into hailo-clip itself). It emulates each CLIP HEF's
// contract with our own float32 towers:
//   image encoder HEF: uint8 RGB NHWC in, normalization inside, the projected embedding out;
//   text encoder HEF:  [context, width] token-embedding rows in, positions added inside, the causal blocks and the
//                      final LayerNorm, [context, width] rows out.
// A "HEF" for the stand-in is a small JSON manifest (write_stand_in_hefs) stating its tensors, so start-up checks
// (missing file, wrong sizes, wrong tensor counts) run against it exactly as against a real HEF. Failures are
// injected on demand through StandInFaults. It is always reported as an emulation, never as the NPU.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "backends/hailo/npu_session.h"
#include "core/status.h"
#include "model/clip_model.h"

namespace hclip::hailo {

inline constexpr const char* kStandInFormat = "hailo-clip-cpu-stand-in/1";
inline constexpr const char* kStandInImageHef = "clip_image_encoder.stand-in.hef";
inline constexpr const char* kStandInTextHef = "clip_text_encoder.stand-in.hef";

struct StandInFaults {
    // Opening the device fails with open_code, open_failures times (-1: always).
    std::atomic<int> open_code{0};
    std::atomic<int> open_failures{0};
    // After runs_to_skip successful runs, run_failures runs fail with run_code (-1: always).
    std::atomic<int> run_code{0};
    std::atomic<int> runs_to_skip{0};
    std::atomic<int> run_failures{0};
    // Mutation seam: the text output gets the final LayerNorm a second time.
    std::atomic<bool> double_final_layer_norm{false};
    // Counters for tests.
    std::atomic<int> device_opens{0};
    std::atomic<int> runs{0};
};

// "open:CODE[:COUNT]" or "run:CODE:SKIP[:COUNT]" (COUNT defaults to -1, always), several joined by ','.
Result<std::shared_ptr<StandInFaults>> parse_stand_in_faults(std::string_view spec);

NpuDeviceFactory cpu_stand_in_factory(std::shared_ptr<const ClipModel> model, std::shared_ptr<StandInFaults> faults);

// The manifest text of a stand-in HEF ("image" or "text"); shapes are [height, width, features] like HailoRT's.
std::string stand_in_manifest(std::string_view emulates, const std::vector<NpuTensorInfo>& inputs,
                              const std::vector<NpuTensorInfo>& outputs);
// Writes kStandInImageHef and kStandInTextHef for `model` into `dir`, with the shapes the real HEFs have.
Status write_stand_in_hefs(const ClipModel& model, const std::string& dir);

}  // namespace hclip::hailo

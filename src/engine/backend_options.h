// What a program tells the engine about the backends it wants: which one serves each tower, and the settings of
// the backends that need any. Plain data, so the configuration and command-line layers can fill it without
// knowing any backend's code.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace hclip {

// The Hailo NPU backend's settings (the `hailo:` section of the service's YAML; docs/hailo.md).
struct HailoOptions {
    std::string image_hef;
    std::string text_hef;
    std::string token_embedding_lut;
    std::string text_projection;
    int device_index = 0;  // 0: the first device HailoRT finds
    std::string group_id = "SHARED";
    std::chrono::milliseconds timeout{2000};  // one frame on the NPU
    std::chrono::milliseconds retry_initial{500};
    std::chrono::milliseconds retry_max{30000};
};

// Where the engine's progress and warnings go (start-up choices, fallbacks, a lost device).
struct EngineLog {
    std::function<void(const std::string&)> info;
    std::function<void(const std::string&)> warning;
};

}  // namespace hclip

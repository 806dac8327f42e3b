// The Hailo backend as the engine sees it: a BackendFactory whose probe says whether this program can reach a
// Hailo device, and whose open starts a HailoBackend for the towers the engine gives it.
#pragma once

#include <functional>

#include "backends/hailo/npu_session.h"
#include "engine/backend.h"

namespace hclip::hailo {

// Where the backend's device comes from. Production programs use HailoRT (hailort_backend_factory); a test program
// registers a double here under the same name (tests/doubles/).
using NpuDeviceProvider = std::function<Result<NpuDeviceFactory>(const BackendContext&)>;

BackendFactory hailo_backend_factory(NpuDeviceProvider devices, std::function<BackendProbe()> probe);

// HailoRT: available when this build has HailoRT and a Hailo device node (/dev/hailoN) exists.
BackendFactory hailort_backend_factory();

}  // namespace hclip::hailo

// Builds without HailoRT: there is no real device factory. The backend reports this as "unavailable".
#include "backends/hailo/npu_session.h"

namespace hclip::hailo {

NpuDeviceFactory hailort_device_factory() {
    return nullptr;
}

}  // namespace hclip::hailo

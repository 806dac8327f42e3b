#include "doubles/stand_in_backend.h"

#include <cstdlib>
#include <string>

#include "backends/hailo/hailo_registration.h"

namespace hclip::hailo {

void register_stand_in_backend(BackendRegistry& registry, std::shared_ptr<StandInFaults> faults) {
    auto devices = [faults](const BackendContext& context) -> Result<NpuDeviceFactory> {
        std::shared_ptr<StandInFaults> injected = faults;
        const char* spec = std::getenv("HAILO_CLIP_STAND_IN_FAULT");
        if (!injected && spec != nullptr && *spec != '\0') {
            HCLIP_ASSIGN_OR_RETURN(injected, parse_stand_in_faults(spec));
            if (context.log != nullptr && context.log->warning) {
                context.log->warning(std::string("HAILO_CLIP_STAND_IN_FAULT: injecting ") + spec +
                                     " into the stand-in");
            }
        }
        if (context.log != nullptr && context.log->warning) {
            context.log->warning(
                "the Hailo backend runs on a CPU EMULATION of the NPU (a test program); nothing runs on a Hailo "
                "device and the towers it serves are reported as hailo-emulated");
        }
        return cpu_stand_in_factory(context.model, injected);
    };
    registry.add(hailo_backend_factory(std::move(devices), [] { return BackendProbe{true, {}}; }));
}

}  // namespace hclip::hailo

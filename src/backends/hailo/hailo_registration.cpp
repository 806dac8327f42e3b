#include "backends/hailo/hailo_registration.h"

#include <cctype>
#include <filesystem>
#include <system_error>

#include "backends/hailo/hailo_backend.h"

namespace hclip::hailo {

namespace {

// True when /dev holds a Hailo device node (hailo0, hailo1, ...), as the Hailo PCIe driver creates them.
bool hailo_device_node_exists() {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/dev", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.size() > 5 && name.rfind("hailo", 0) == 0 && std::isdigit(static_cast<unsigned char>(name[5]))) {
            return true;
        }
    }
    return false;
}

BackendProbe probe_hailort() {
    if (!hailort_device_factory()) {
        return {false, "this build of hailo-clip has no HailoRT (install hailo-h10-all and rebuild; docs/hailo.md)"};
    }
    if (!hailo_device_node_exists()) {
        // A guess: `auto` takes the CPU; `hailo` chosen by name still asks HailoRT, whose device scan says why.
        return {false,
                "no Hailo device: /dev has no hailo device node (is the AI HAT+ 2 fitted and the "
                "hailo1x PCIe driver loaded? `lsmod | grep hailo`)",
                true};
    }
    return {true, {}};
}

}  // namespace

BackendFactory hailo_backend_factory(NpuDeviceProvider devices, std::function<BackendProbe()> probe) {
    auto open = [devices = std::move(devices)](const BackendContext& context) -> Result<std::shared_ptr<Backend>> {
        if (context.hailo == nullptr) return internal_error("the Hailo backend was opened without its options");
        const HailoOptions& h = *context.hailo;
        HailoBackendOptions o;
        o.image_hef = h.image_hef;
        o.text_hef = h.text_hef;
        o.token_embedding_lut = h.token_embedding_lut;
        o.text_projection = h.text_projection;
        o.image_on_npu = context.towers.image;
        o.text_on_npu = context.towers.text;
        o.device.device_index = h.device_index;
        o.device.group_id = h.group_id;
        o.timeout = h.timeout;
        o.retry_initial = h.retry_initial;
        o.retry_max = h.retry_max;
        if (context.log != nullptr) {
            o.log_warning = context.log->warning;
            o.log_info = context.log->info;
        }
        HCLIP_ASSIGN_OR_RETURN(NpuDeviceFactory factory, devices(context));
        HCLIP_ASSIGN_OR_RETURN(std::shared_ptr<HailoBackend> backend, HailoBackend::start(o, context.model, factory));
        return std::shared_ptr<Backend>(std::move(backend));
    };
    return {.name = "hailo", .probe = std::move(probe), .open = std::move(open)};
}

BackendFactory hailort_backend_factory() {
    return hailo_backend_factory(
        [](const BackendContext&) -> Result<NpuDeviceFactory> { return hailort_device_factory(); }, probe_hailort);
}

}  // namespace hclip::hailo

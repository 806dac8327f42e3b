// The real NPU session over HailoRT's InferModel API (HailoRT 4.23 and 5.x; built only where find_package(HailoRT)
// succeeds). Kept to the calls the integration notes document: one VDevice with the round-robin model scheduler
// and a group id, create_infer_model per HEF, host formats set before anything is sized, configure once, then a
// synchronous run per frame with reusable bindings. No activate(): the scheduler owns activation.
//
// This file cannot be compiled on machines without HailoRT; the `hailo` CTest label runs it on a device.
#include <hailo/hailort.hpp>

#include <unistd.h>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "backends/hailo/hailo_status.h"
#include "backends/hailo/npu_session.h"

namespace hclip::hailo {

namespace {

// HailoRT asks for page-aligned buffers whose allocation is a whole number of pages (it may write up to the end of
// the last page of an output). Frames are copied through these, never through the caller's vectors.
class PageBuffer {
  public:
    explicit PageBuffer(std::size_t bytes) : size_(bytes) {
        const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
        const std::size_t rounded = (bytes + page - 1) / page * page;
        data_ = std::aligned_alloc(page, rounded == 0 ? page : rounded);
        if (data_ != nullptr) std::memset(data_, 0, rounded == 0 ? page : rounded);
    }
    ~PageBuffer() { std::free(data_); }
    PageBuffer(const PageBuffer&) = delete;
    PageBuffer& operator=(const PageBuffer&) = delete;
    void* data() const { return data_; }
    std::size_t size() const { return size_; }

  private:
    void* data_ = nullptr;
    std::size_t size_ = 0;
};

hailo_format_type_t format_type(HostFormat f) {
    return f == HostFormat::kFloat32 ? HAILO_FORMAT_TYPE_FLOAT32 : HAILO_FORMAT_TYPE_UINT8;
}

NpuTensorInfo describe(const hailort::InferModel::InferStream& s, HostFormat f) {
    const hailo_3d_image_shape_t shape = s.shape();
    return {s.name(), {shape.height, shape.width, shape.features}, f, s.get_frame_size()};
}

class HailoRtModel final : public NpuModel {
  public:
    // The VDevice is shared so it outlives every model configured on it.
    std::shared_ptr<hailort::VDevice> device;
    std::shared_ptr<hailort::InferModel> model;
    hailort::ConfiguredInferModel configured;
    hailort::ConfiguredInferModel::Bindings bindings;
    std::vector<NpuTensorInfo> in_info, out_info;
    std::unique_ptr<PageBuffer> in_buffer, out_buffer;
    std::string hef_path;
    bool is_configured = false;

    ~HailoRtModel() override {
        // Stop the pipeline before the InferModel and the VDevice go away.
        if (is_configured) (void)configured.shutdown();
    }

    const std::vector<NpuTensorInfo>& inputs() const override { return in_info; }
    const std::vector<NpuTensorInfo>& outputs() const override { return out_info; }

    NpuStatus run(std::span<const std::uint8_t> in, std::span<float> out, std::chrono::milliseconds timeout) override {
        if (in.size() != in_buffer->size() || out.size_bytes() != out_buffer->size()) {
            return {code::kInvalidOperation, "running " + hef_path + ": buffer size differs from the frame size"};
        }
        std::memcpy(in_buffer->data(), in.data(), in.size());
        const hailo_status s = configured.run(bindings, timeout);
        if (s != HAILO_SUCCESS) return {static_cast<int>(s), "inference on the Hailo device"};
        std::memcpy(out.data(), out_buffer->data(), out.size_bytes());
        return {};
    }
};

class HailoRtDevice final : public NpuDevice {
  public:
    std::shared_ptr<hailort::VDevice> vdevice;
    std::string text;

    NpuStatus open_model(const std::string& hef_path, const NpuModelRequest& request,
                         std::unique_ptr<NpuModel>& out) override {
        const std::string what = "configuring " + hef_path + " on the Hailo device";
        auto m = std::make_unique<HailoRtModel>();
        m->device = vdevice;
        m->hef_path = hef_path;
        auto infer_model = vdevice->create_infer_model(hef_path);
        if (!infer_model) return {static_cast<int>(infer_model.status()), "loading " + hef_path};
        m->model = infer_model.release();
        m->model->set_batch_size(1);
        // Host formats first: HailoRT sizes frames (and checks buffers) in the requested format.
        for (const std::string& name : m->model->get_input_names()) {
            auto s = m->model->input(name);
            if (!s) return {static_cast<int>(s.status()), what};
            s->set_format_type(format_type(request.input));
        }
        for (const std::string& name : m->model->get_output_names()) {
            auto s = m->model->output(name);
            if (!s) return {static_cast<int>(s.status()), what};
            s->set_format_type(format_type(request.output));
        }
        for (const auto& s : m->model->inputs())
            m->in_info.push_back(describe(s, request.input));
        for (const auto& s : m->model->outputs())
            m->out_info.push_back(describe(s, request.output));
        // More than one input or output: the backend reports it with the HEF's tensor list.
        if (m->in_info.size() != 1 || m->out_info.size() != 1) {
            out = std::move(m);
            return {};
        }
        auto configured = m->model->configure();
        if (!configured) return {static_cast<int>(configured.status()), what};
        m->configured = configured.release();
        m->is_configured = true;
        auto bindings = m->configured.create_bindings();
        if (!bindings) return {static_cast<int>(bindings.status()), what};
        m->bindings = bindings.release();
        m->in_buffer = std::make_unique<PageBuffer>(m->in_info[0].frame_bytes);
        m->out_buffer = std::make_unique<PageBuffer>(m->out_info[0].frame_bytes);
        if (m->in_buffer->data() == nullptr || m->out_buffer->data() == nullptr) {
            return {code::kInternalFailure, what + ": out of memory for the frame buffers"};
        }
        auto in = m->bindings.input();
        if (!in) return {static_cast<int>(in.status()), what};
        hailo_status s = in->set_buffer(hailort::MemoryView(m->in_buffer->data(), m->in_buffer->size()));
        if (s != HAILO_SUCCESS) return {static_cast<int>(s), what};
        auto o = m->bindings.output();
        if (!o) return {static_cast<int>(o.status()), what};
        s = o->set_buffer(hailort::MemoryView(m->out_buffer->data(), m->out_buffer->size()));
        if (s != HAILO_SUCCESS) return {static_cast<int>(s), what};
        out = std::move(m);
        return {};
    }

    std::string description() const override { return text; }
    bool emulated() const override { return false; }
};

// The devices HailoRT can see, for the messages below. A failed scan is reported as such, not as "no device".
struct DeviceList {
    std::vector<std::string> ids;
    hailo_status status = HAILO_SUCCESS;
};

DeviceList scan_devices() {
    auto ids = hailort::Device::scan();
    if (!ids) return {{}, ids.status()};
    return {ids.release(), HAILO_SUCCESS};
}

std::string scan_failure(const DeviceList& devices) {
    return "listing the Hailo devices failed too (" + status_name(static_cast<int>(devices.status)) +
           "); is the driver loaded? `ls /dev/hailo*`, `hailortcli fw-control identify`";
}

// clip.device names a device that does not exist: say how many do.
NpuStatus device_index_out_of_range(int index, const DeviceList& devices) {
    const std::string what = "opening Hailo device " + std::to_string(index) + " (clip.device)";
    if (devices.status != HAILO_SUCCESS) return {code::kOutOfPhysicalDevices, what, scan_failure(devices)};
    if (devices.ids.empty()) {
        return {code::kOutOfPhysicalDevices, what,
                "clip.device is " + std::to_string(index) + " but " + kNoDeviceAdvice};
    }
    std::string list;
    for (const std::string& id : devices.ids)
        list += (list.empty() ? "" : ", ") + id;
    return {code::kOutOfPhysicalDevices, what,
            "clip.device is " + std::to_string(index) + " but only " + std::to_string(devices.ids.size()) +
                " Hailo device(s) exist (" + list + "); use an index from 0 to " +
                std::to_string(devices.ids.size() - 1)};
}

// VDevice::create failed. Error 74 means "not enough free devices": either none is there (HAT not seated, driver
// not loaded) or another process holds it. Only Device::scan() tells the two apart.
NpuStatus vdevice_failure(hailo_status s, const std::string& what, bool through_service) {
    if (through_service && s == HAILO_RPC_FAILED) {
        return {static_cast<int>(s), what,
                "the HailoRT service that shares a Hailo-8 between processes does not answer. Start it with `sudo "
                "systemctl enable --now hailort.service`, or set hailo.group_id: UNIQUE to use the chip from this "
                "process alone"};
    }
    if (s != HAILO_OUT_OF_PHYSICAL_DEVICES) return {static_cast<int>(s), what};
    const DeviceList devices = scan_devices();
    if (devices.status != HAILO_SUCCESS) return {static_cast<int>(s), what, scan_failure(devices)};
    if (devices.ids.empty()) return {static_cast<int>(s), what, kNoDeviceAdvice};
    return {static_cast<int>(s), what};  // present but taken: the per-code advice (busy) fits
}

NpuStatus open_device(const NpuDeviceOptions& options, std::unique_ptr<NpuDevice>& out) {
    hailo_vdevice_params_t params;
    hailo_status s = hailo_init_vdevice_params(&params);
    if (s != HAILO_SUCCESS) return {static_cast<int>(s), "preparing the Hailo device parameters"};
    // One VDevice per process, both models on it, the scheduler switching between them (and other processes of
    // the same group). A second VDevice, or another process under another group id, gives error 74.
    params.scheduling_algorithm = HAILO_SCHEDULING_ALGORITHM_ROUND_ROBIN;
    params.group_id = options.group_id.empty() ? HAILO_UNIQUE_VDEVICE_GROUP_ID : options.group_id.c_str();
#if defined(HAILORT_MAJOR_VERSION) && HAILORT_MAJOR_VERSION < 5
    // HailoRT 4.x (Hailo-8/8L): processes share the chip only through the HailoRT service (hailort.service);
    // without it the group id does not reach beyond this process. 5.x (Hailo-10H) shares through the driver.
    params.multi_process_service = std::string(params.group_id) != HAILO_UNIQUE_VDEVICE_GROUP_ID;
#endif
    hailo_device_id_t id{};
    if (options.device_index > 0) {
        const DeviceList devices = scan_devices();
        if (devices.status != HAILO_SUCCESS || static_cast<std::size_t>(options.device_index) >= devices.ids.size()) {
            return device_index_out_of_range(options.device_index, devices);
        }
        const std::string& chosen = devices.ids[static_cast<std::size_t>(options.device_index)];
        std::strncpy(id.id, chosen.c_str(), sizeof(id.id) - 1);
        params.device_ids = &id;
        params.device_count = 1;
    }
    auto vdevice = hailort::VDevice::create(params);
    if (!vdevice) {
        return vdevice_failure(vdevice.status(),
                               "creating the Hailo VDevice (group " + std::string(params.group_id) + ")",
                               params.multi_process_service);
    }
    auto d = std::make_unique<HailoRtDevice>();
    d->vdevice = std::shared_ptr<hailort::VDevice>(vdevice.release());
    hailo_version_t v{};
    std::string version = "HailoRT";
    if (hailo_get_library_version(&v) == HAILO_SUCCESS) {
        version += " " + std::to_string(v.major) + "." + std::to_string(v.minor) + "." + std::to_string(v.revision);
    }
    d->text = "Hailo NPU via " + version + ", group " + std::string(params.group_id) + ", round-robin scheduler";
    out = std::move(d);
    return {};
}

}  // namespace

NpuDeviceFactory hailort_device_factory() {
    return open_device;
}

}  // namespace hclip::hailo

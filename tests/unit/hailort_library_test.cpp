// The HailoRT session against the real libhailort on a machine without a Hailo device: the messages a user gets
// when the HAT is missing or clip.device names a device that does not exist. Builds without HailoRT and machines
// that do have a device report these tests as skipped, with the reason.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "backends/hailo/hailo_backend.h"
#include "backends/hailo/hailo_status.h"
#include "backends/hailo/npu_session.h"
#include "model/clip_model.h"
#include "support/fixtures.h"

namespace hclip::hailo {
namespace {

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

bool hailo_device_node_exists() {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/dev", ec)) {
        if (e.path().filename().string().rfind("hailo", 0) == 0) return true;
    }
    return false;
}

// Skips unless this build has HailoRT and this machine has no Hailo device (the tests are about its absence).
#define SKIP_UNLESS_HAILORT_WITHOUT_DEVICE()                                                          \
    do {                                                                                              \
        if (!hailort_device_factory()) GTEST_SKIP() << "this build has no HailoRT";                   \
        if (hailo_device_node_exists()) GTEST_SKIP() << "a Hailo device is present; these need none"; \
    } while (0)

Status open_through_backend(int device_index) {
    auto model = ClipModel::load(testing::fixture("models/tiny-openai"));
    EXPECT_TRUE(model.ok()) << model.status().to_string();
    if (!model.ok()) return model.status();
    HailoBackendOptions o;
    o.image_hef = "image.hef";  // never reached: the device is opened first
    o.text_on_npu = false;
    o.device.device_index = device_index;
    o.device.group_id = "SHARED";
    return HailoBackend::start(o, std::move(model).value(), hailort_device_factory()).status();
}

TEST(HailoRtLibrary, NoDeviceSaysSoInsteadOfBusy) {
    SKIP_UNLESS_HAILORT_WITHOUT_DEVICE();
    const Status s = open_through_backend(0);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.to_string();  // so hailo.on_unavailable: cpu can apply
    EXPECT_TRUE(has(s.message(), "HAILO_OUT_OF_PHYSICAL_DEVICES (74)")) << s.message();
    EXPECT_TRUE(has(s.message(), "no Hailo device found")) << s.message();
    EXPECT_TRUE(has(s.message(), "ls /dev/hailo*")) << s.message();
    EXPECT_FALSE(has(s.message(), "busy")) << s.message();
    EXPECT_FALSE(has(s.message(), "group_id")) << s.message();
}

TEST(HailoRtLibrary, DeviceIndexOutOfRangeNamesHowManyExist) {
    SKIP_UNLESS_HAILORT_WITHOUT_DEVICE();
    const Status s = open_through_backend(1);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.to_string();
    EXPECT_TRUE(has(s.message(), "clip.device is 1")) << s.message();
    EXPECT_TRUE(has(s.message(), "no Hailo device found")) << s.message();
    // Not error 61's hint about a HEF's layers.
    EXPECT_FALSE(has(s.message(), "HAILO_NOT_FOUND")) << s.message();
    EXPECT_FALSE(has(s.message(), "layer")) << s.message();
}

TEST(HailoRtLibrary, FactoryReportsTheStatusAndTheCallSiteAdvice) {
    SKIP_UNLESS_HAILORT_WITHOUT_DEVICE();
    std::unique_ptr<NpuDevice> device;
    const NpuStatus s = hailort_device_factory()({0, "SHARED"}, device);
    EXPECT_EQ(s.code, code::kOutOfPhysicalDevices);
    EXPECT_TRUE(has(s.what, "creating the Hailo VDevice (group SHARED)")) << s.what;
    EXPECT_EQ(s.advice, kNoDeviceAdvice);
    EXPECT_EQ(device, nullptr);
}

// The per-code advice stays for callers that know nothing more; call-site advice replaces it, keeping the kind.
TEST(HailoStatusAdvice, CallSiteAdviceReplacesThePerCodeAdvice) {
    const Status busy = to_status(code::kOutOfPhysicalDevices, "creating the Hailo VDevice");
    EXPECT_TRUE(has(busy.message(), "busy")) << busy.message();
    const Status none = to_status(code::kOutOfPhysicalDevices, "creating the Hailo VDevice", kNoDeviceAdvice);
    EXPECT_EQ(none.code(), busy.code());
    EXPECT_EQ(none.message(),
              "creating the Hailo VDevice: HAILO_OUT_OF_PHYSICAL_DEVICES (74): " + std::string(kNoDeviceAdvice));
}

}  // namespace
}  // namespace hclip::hailo

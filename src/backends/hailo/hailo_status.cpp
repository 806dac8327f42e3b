#include "backends/hailo/hailo_status.h"

namespace hclip::hailo {

namespace {

const char* known_name(int c) {
    switch (c) {
        case code::kSuccess:
            return "HAILO_SUCCESS";
        case code::kInvalidArgument:
            return "HAILO_INVALID_ARGUMENT";
        case code::kTimeout:
            return "HAILO_TIMEOUT";
        case code::kInvalidOperation:
            return "HAILO_INVALID_OPERATION";
        case code::kNotImplemented:
            return "HAILO_NOT_IMPLEMENTED";
        case code::kInternalFailure:
            return "HAILO_INTERNAL_FAILURE";
        case code::kOpenFileFailure:
            return "HAILO_OPEN_FILE_FAILURE";
        case code::kInvalidHef:
            return "HAILO_INVALID_HEF";
        case code::kDriverOperationFailed:
            return "HAILO_DRIVER_OPERATION_FAILED";
        case code::kNotFound:
            return "HAILO_NOT_FOUND";
        case code::kCommunicationClosed:
            return "HAILO_COMMUNICATION_CLOSED";
        case code::kStreamAbort:
            return "HAILO_STREAM_ABORT";
        case code::kDriverNotInstalled:
            return "HAILO_DRIVER_NOT_INSTALLED";
        case code::kDeviceInUse:
            return "HAILO_DEVICE_IN_USE";
        case code::kOutOfPhysicalDevices:
            return "HAILO_OUT_OF_PHYSICAL_DEVICES";
        case code::kInvalidDriverVersion:
            return "HAILO_INVALID_DRIVER_VERSION";
        case code::kRpcFailed:
            return "HAILO_RPC_FAILED";
        case code::kNotSupported:
            return "HAILO_NOT_SUPPORTED";
        case code::kDriverInvalidResponse:
            return "HAILO_DRIVER_INVALID_RESPONSE";
        case code::kDriverInvalidIoctl:
            return "HAILO_DRIVER_INVALID_IOCTL";
        case code::kDriverTimeout:
            return "HAILO_DRIVER_TIMEOUT";
        case code::kHefFileCorrupted:
            return "HAILO_HEF_FILE_CORRUPTED";
        case code::kHefNotSupported:
            return "HAILO_HEF_NOT_SUPPORTED";
        case code::kHefNotCompatibleWithDevice:
            return "HAILO_HEF_NOT_COMPATIBLE_WITH_DEVICE";
        case code::kDeviceNotConnected:
            return "HAILO_DEVICE_NOT_CONNECTED";
        case code::kDeviceTemporarilyUnavailable:
            return "HAILO_DEVICE_TEMPORARILY_UNAVAILABLE";
        default:
            return nullptr;
    }
}

}  // namespace

std::string status_name(int c) {
    const char* n = known_name(c);
    return n != nullptr ? std::string(n) + " (" + std::to_string(c) + ")" : "HailoRT status " + std::to_string(c);
}

bool is_device_lost(int c) {
    return c == code::kCommunicationClosed || c == code::kRpcFailed || c == code::kDriverTimeout ||
           c == code::kDeviceNotConnected || c == code::kDeviceTemporarilyUnavailable || c == code::kStreamAbort;
}

Status to_status(int c, std::string_view what, std::string_view advice) {
    const std::string head = std::string(what) + ": " + status_name(c) + ": ";
    if (!advice.empty()) {
        Status kind = to_status(c, what);
        return {kind.code(), head + std::string(advice)};
    }
    switch (c) {
        case code::kOutOfPhysicalDevices:
        case code::kDeviceInUse:
            return unavailable(head +
                               "the Hailo device is busy. Another process holds it under a different group_id "
                               "(hailo-ollama, a hailo-apps/GStreamer pipeline, or a previous hailo-clip that is "
                               "still running). Find it with `sudo lsof /dev/hailo0`, stop it, or give every "
                               "program that shares the chip the same group_id (hailo.group_id)");
        case code::kDriverNotInstalled:
            return unavailable(head +
                               "the Hailo PCIe driver is not loaded. Install it with `sudo apt install dkms "
                               "hailo-h10-all`, reboot, and check `hailortcli fw-control identify`");
        case code::kInvalidDriverVersion:
        case code::kDriverInvalidResponse:
        case code::kDriverInvalidIoctl:
        case code::kDriverOperationFailed:
            return unavailable(head +
                               "the HailoRT library, the kernel driver and the firmware do not match. Reinstall "
                               "one package set (`sudo apt install --reinstall hailo-h10-all`; it cannot coexist "
                               "with hailo-all), reboot, and compare the versions `hailortcli fw-control identify` "
                               "prints");
        case code::kHefNotCompatibleWithDevice:
            return invalid_argument(head +
                                    "the HEF was compiled for another Hailo chip. The AI HAT+ 2 needs the hailo10h "
                                    "HEFs (models/hailo10h/ in the Model Zoo), not the hailo8/hailo8l ones");
        case code::kHefNotSupported:
        case code::kInvalidHef:
        case code::kHefFileCorrupted:
            return invalid_argument(head +
                                    "the HEF is damaged or was built for another HailoRT version. Download the "
                                    "Model Zoo HEF whose version matches the installed HailoRT (`hailortcli "
                                    "--version`), e.g. v5.2.0/hailo10h for HailoRT 5.2");
        case code::kOpenFileFailure:
            return not_found(head + "the HEF file cannot be opened; check the path and its permissions");
        case code::kNotFound:
            return invalid_argument(head +
                                    "a layer or stream the HEF should have is missing; inspect it with "
                                    "`hailortcli parse-hef`");
        case code::kTimeout:
            return unavailable(head +
                               "the NPU did not answer in time (hailo.timeout_ms); it may be overloaded by "
                               "other models sharing it");
        case code::kCommunicationClosed:
        case code::kRpcFailed:
        case code::kDriverTimeout:
        case code::kDeviceNotConnected:
        case code::kDeviceTemporarilyUnavailable:
        case code::kStreamAbort:
            return unavailable(head + "the connection to the Hailo device was lost; it is being reinitialized");
        case code::kInvalidOperation:
            return internal_error(head +
                                  "HailoRT refused the call (often a buffer whose size differs from the "
                                  "HEF's frame size)");
        default:
            return internal_error(head + "unexpected HailoRT failure");
    }
}

}  // namespace hclip::hailo

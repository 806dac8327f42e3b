// HailoRT status codes (hailo_status in hailort.h; the same numbers in HailoRT 4.23 and 5.x) mapped to messages a
// user can act on. The mapping lives here, at the backend boundary, so the rest of the program sees a Status
// whose message keeps the original name and number.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace hclip::hailo {

// The codes this backend treats specially; any other code is reported by number.
namespace code {
inline constexpr int kSuccess = 0;
inline constexpr int kInvalidArgument = 2;
inline constexpr int kTimeout = 4;
inline constexpr int kInvalidOperation = 6;
inline constexpr int kNotImplemented = 7;
inline constexpr int kInternalFailure = 8;
inline constexpr int kOpenFileFailure = 13;
inline constexpr int kInvalidHef = 26;
inline constexpr int kDriverOperationFailed = 36;
inline constexpr int kNotFound = 61;
inline constexpr int kCommunicationClosed = 62;
inline constexpr int kStreamAbort = 63;
inline constexpr int kDriverNotInstalled = 64;
inline constexpr int kDeviceInUse = 73;
inline constexpr int kOutOfPhysicalDevices = 74;
inline constexpr int kInvalidDriverVersion = 76;
inline constexpr int kRpcFailed = 77;
inline constexpr int kNotSupported = 79;
inline constexpr int kDriverInvalidResponse = 85;
inline constexpr int kDriverInvalidIoctl = 86;
inline constexpr int kDriverTimeout = 87;
inline constexpr int kHefFileCorrupted = 91;
inline constexpr int kHefNotSupported = 92;
inline constexpr int kHefNotCompatibleWithDevice = 93;
inline constexpr int kDeviceNotConnected = 96;
inline constexpr int kDeviceTemporarilyUnavailable = 97;
}  // namespace code

// "HAILO_OUT_OF_PHYSICAL_DEVICES (74)", or "HailoRT status 123" for a code this table does not name.
std::string status_name(int hailo_status);

// True for the codes that mean the device went away at run time (communication closed, RPC failure, driver
// timeout, device disconnected or temporarily unavailable, stream aborted): the backend reinitializes.
bool is_device_lost(int hailo_status);

// `what` failed with `hailo_status`: a Status whose message is "<what>: <NAME> (<code>): <what to do>". Busy,
// lost, timed-out and missing-driver devices become kUnavailable (503 at the service); a HEF for another chip
// or runtime kInvalidArgument; a missing file kNotFound; anything else kInternal.
// `advice`, when not empty, replaces the per-code advice (the kind of Status still follows the code).
Status to_status(int hailo_status, std::string_view what, std::string_view advice = {});

// The advice for error 74 when Device::scan() finds no device at all: on Linux a HAT that is not seated or a driver
// that is not loaded gives the same code as a device another process holds.
inline constexpr const char* kNoDeviceAdvice =
    "no Hailo device found (is the AI HAT+ 2 seated, the driver loaded? `ls /dev/hailo*`, `hailortcli fw-control "
    "identify`)";

}  // namespace hclip::hailo

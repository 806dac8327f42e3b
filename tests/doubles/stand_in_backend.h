// A test double for the "hailo" backend: the real Hailo backend code (host side, start-up checks, recovery) over
// the CPU stand-in device (cpu_stand_in.h) instead of HailoRT. Registered under "hailo" by test programs only;
// everything it serves is reported as hailo-emulated.
#pragma once

#include <memory>

#include "doubles/cpu_stand_in.h"
#include "engine/backend_registry.h"

namespace hclip::hailo {

// Replaces "hailo" in `registry`. Faults: `faults` when given, else parsed from HAILO_CLIP_STAND_IN_FAULT at each
// open ("open:CODE[:COUNT]", "run:CODE:SKIP[:COUNT]"; see parse_stand_in_faults).
void register_stand_in_backend(BackendRegistry& registry, std::shared_ptr<StandInFaults> faults = nullptr);

}  // namespace hclip::hailo

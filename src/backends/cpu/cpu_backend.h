// The CPU backend as the engine sees it: both towers in float32 (cpu_encoders.h), always available.
#pragma once

#include "engine/backend.h"

namespace hclip {

BackendFactory cpu_backend_factory();

}  // namespace hclip

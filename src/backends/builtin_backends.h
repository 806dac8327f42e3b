// The backends every hailo-clip program offers: "cpu" and "hailo" (HailoRT). Programs call this once, before they
// open an engine; the engine itself links no backend (docs/architecture.md).
#pragma once

#include "engine/backend_registry.h"

namespace hclip {

void register_builtin_backends(BackendRegistry& registry = BackendRegistry::global());

}  // namespace hclip

#include "backends/builtin_backends.h"

#include "backends/cpu/cpu_backend.h"
#include "backends/hailo/hailo_registration.h"

namespace hclip {

void register_builtin_backends(BackendRegistry& registry) {
    registry.add(cpu_backend_factory());
    registry.add(hailo::hailort_backend_factory());
}

}  // namespace hclip

// hailo-clip-test: the hailo-clip program with the CPU stand-in registered as its "hailo" backend, for the tests
// that drive the Hailo backend's code end to end without a device (tests/e2e/test_hailo_backend.py).
#include "backends/builtin_backends.h"
#include "cli/program_backends.h"
#include "doubles/stand_in_backend.h"

namespace hclip::cli {

void register_program_backends() {
    register_builtin_backends();
    hailo::register_stand_in_backend(BackendRegistry::global());
}

}  // namespace hclip::cli

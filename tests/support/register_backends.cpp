// Linked into every unit test program: the built-in backends are registered before any test opens an engine, as
// main() does in hailo-clip.
#include "backends/builtin_backends.h"

namespace {

const bool kRegistered = [] {
    hclip::register_builtin_backends();
    return true;
}();

}  // namespace

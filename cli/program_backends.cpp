#include "cli/program_backends.h"

#include "backends/builtin_backends.h"

namespace hclip::cli {

void register_program_backends() {
    register_builtin_backends();
}

}  // namespace hclip::cli

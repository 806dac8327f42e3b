#include "cli/blas_core_restart.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "kernels/blas_core.h"

namespace hclip::cli {

void restart_for_better_blas_core(char** argv) {
    if (std::getenv(kOpenBlasCoreVariable) != nullptr) return;
    const std::string own = blas_core();
    const auto better = better_blas_core(own, this_cpu());
    if (!better) return;
    setenv(kOpenBlasCoreVariable, better->core.c_str(), 1);
    setenv(kOpenBlasOwnCoreVariable, own.c_str(), 1);
    execv("/proc/self/exe", argv);
    // Still here: exec failed (no /proc, a sandbox without exec). Go on with OpenBLAS's own kernels, and say so.
    const std::string error = std::strerror(errno);
    unsetenv(kOpenBlasCoreVariable);
    unsetenv(kOpenBlasOwnCoreVariable);
    setenv(kOpenBlasRestartFailedVariable, error.c_str(), 1);
}

}  // namespace hclip::cli

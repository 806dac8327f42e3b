// Starts hailo-clip again, once, with OPENBLAS_CORETYPE set, when OpenBLAS took generic kernels on this CPU
// (kernels/blas_core.h says when and why). OpenBLAS reads that variable only as it is loaded, before main runs,
// so setting it in a running process changes nothing; exec keeps the process id, its open files and its
// environment, so a service manager sees the same process.
#pragma once

namespace hclip::cli {

// Returns only when no restart is needed (OpenBLAS's own choice suits the CPU, or OPENBLAS_CORETYPE is already
// set: by the user, whose choice is kept, or by the restart itself) or when it failed; then the reason is left
// for blas_core_summary() and the program goes on with the generic kernels.
void restart_for_better_blas_core(char** argv);

}  // namespace hclip::cli

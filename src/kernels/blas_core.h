// Which of OpenBLAS's kernel sets ("cores") the plain GEMM runs on, and a better one where OpenBLAS fell back to
// generic kernels.
//
// Why: Debian's OpenBLAS (0.3.21, built for every core, DYNAMIC_ARCH) picks its kernels by CPU model number, and on
// a model newer than it knows it falls back to generic ones. Seen: an Intel Xeon of family 6 model 207 (Emerald
// Rapids) gets the SSE3 "Prescott" kernels: on one thread a 1024^3 product ran at 15 GFLOP/s, against 93-111 with
// its AVX-512 "SkylakeX" kernels. OpenBLAS reads OPENBLAS_CORETYPE once, as it is loaded, so only a program that
// starts again with it set can change the choice (cli/blas_core_restart.h).
//
// Only x86-64 is changed. The Raspberry Pi 5's Cortex-A76 also gets generic kernels ("armv8"; newer OpenBLAS
// releases give it their Cortex-A73 ones), but whether another set is faster there has not been measured on a Pi,
// so it keeps OpenBLAS's choice (docs/performance.md, "On the Raspberry Pi 5").
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hclip {

// The environment variables of the choice: OpenBLAS's own, and two that tell the restarted program what happened.
inline constexpr const char* kOpenBlasCoreVariable = "OPENBLAS_CORETYPE";
inline constexpr const char* kOpenBlasOwnCoreVariable = "HAILO_CLIP_OPENBLAS_OWN_CORE";  // OpenBLAS's own choice
inline constexpr const char* kOpenBlasRestartFailedVariable = "HAILO_CLIP_OPENBLAS_RESTART_FAILED";  // why

// What the choice depends on, read from the CPU (this_cpu) or written by a test.
struct CpuFacts {
    enum class Arch { kOther, kX86_64 };
    Arch arch = Arch::kOther;
    bool avx2_fma = false;  // x86-64: AVX2 and FMA
    bool avx512 = false;    // x86-64: AVX-512 F, CD, BW, DQ and VL (what OpenBLAS's SkylakeX kernels use)
};

CpuFacts this_cpu();

// OpenBLAS's name for the kernels it runs ("SkylakeX", "Prescott", "armv8", "cortexa73", ...).
std::string blas_core();

struct BlasCoreChoice {
    std::string core;  // a value for OPENBLAS_CORETYPE
    std::string why;   // one sentence for the start-up log
};

// A better core than `current` for `cpu`, when `current` is one of OpenBLAS's x86-64 cores from before AVX2 and
// the CPU has AVX2: SkylakeX with AVX-512, else Haswell. nullopt otherwise: a core OpenBLAS chose for a model it knows
// is kept.
std::optional<BlasCoreChoice> better_blas_core(std::string_view current, const CpuFacts& cpu);

// How the plain GEMM's kernels came to be, for logs and `hailo-clip bench`: "SkylakeX kernels", with the reason
// when they were chosen at start-up (environment variables set by cli/blas_core_restart.h), or a warning when
// OpenBLAS runs generic kernels that were not changed (OPENBLAS_CORETYPE asks for them, or the restart failed).
std::string blas_core_summary();

}  // namespace hclip

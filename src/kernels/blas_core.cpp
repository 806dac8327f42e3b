#include "kernels/blas_core.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>

// OpenBLAS's own function (cblas.h declares it; repeated so that this file needs no BLAS header).
extern "C" char* openblas_get_corename(void);

namespace hclip {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

// OpenBLAS's x86 cores from before AVX2: on a CPU with AVX2 they can only be a fallback for a model OpenBLAS did
// not recognise (a CPU that really is one of these has no AVX2).
constexpr std::array<std::string_view, 14> kPreAvx2Cores = {
    "prescott", "core2",      "penryn",    "dunnington", "nehalem",   "sandybridge", "atom",
    "katmai",   "coppermine", "northwood", "banias",     "barcelona", "bobcat",      "opteron"};

}  // namespace

CpuFacts this_cpu() {
    CpuFacts cpu;
#if defined(__x86_64__)
    cpu.arch = CpuFacts::Arch::kX86_64;
    __builtin_cpu_init();
    cpu.avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    cpu.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
                 __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
                 __builtin_cpu_supports("avx512vl");
#endif
    return cpu;
}

std::string blas_core() {
    const char* name = openblas_get_corename();
    return name != nullptr ? std::string(name) : std::string();
}

std::optional<BlasCoreChoice> better_blas_core(std::string_view current, const CpuFacts& cpu) {
    const std::string core = lower(current);
    const bool generic = std::find(kPreAvx2Cores.begin(), kPreAvx2Cores.end(), core) != kPreAvx2Cores.end();
    if (cpu.arch != CpuFacts::Arch::kX86_64 || !generic || !cpu.avx2_fma) return std::nullopt;
    const std::string features = cpu.avx512 ? "AVX-512" : "AVX2";
    return BlasCoreChoice{.core = cpu.avx512 ? "SkylakeX" : "Haswell",
                          .why = "OpenBLAS did not recognise this CPU and took its " + std::string(current) +
                                 " kernels, which use none of its " + features + " instructions"};
}

std::string blas_core_summary() {
    const std::string core = blas_core();
    const char* own = std::getenv(kOpenBlasOwnCoreVariable);
    const char* asked = std::getenv(kOpenBlasCoreVariable);
    if (own != nullptr && asked != nullptr) {
        return core + " kernels, chosen at start-up: on its own OpenBLAS takes its generic " + own +
               " kernels on this CPU";
    }
    const auto better = better_blas_core(core, this_cpu());
    if (!better) return core + " kernels";
    std::string summary =
        core + " kernels, a generic fallback: " + better->why + "; hailo-clip's choice here is its " + better->core;
    if (asked != nullptr) return summary + ", not taken: OPENBLAS_CORETYPE asks for " + asked;
    if (const char* failed = std::getenv(kOpenBlasRestartFailedVariable); failed != nullptr) {
        return summary + ", not taken: starting again with OPENBLAS_CORETYPE=" + better->core + " failed: " + failed;
    }
    return summary;
}

}  // namespace hclip

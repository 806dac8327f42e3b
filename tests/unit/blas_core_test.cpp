// When hailo-clip overrides OpenBLAS's kernel choice (kernels/blas_core.h): only where OpenBLAS fell back to
// generic kernels on a CPU that can run better ones it has; never over a choice it made for a model it knows.
#include "kernels/blas_core.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace hclip {
namespace {

CpuFacts x86(bool avx2_fma, bool avx512) {
    return {.arch = CpuFacts::Arch::kX86_64, .avx2_fma = avx2_fma, .avx512 = avx512};
}

TEST(BlasCore, AnUnrecognisedAvx512CpuGetsTheSkylakeXKernels) {
    // What Debian's OpenBLAS 0.3.21 does on an Intel Xeon of family 6 model 207 (Emerald Rapids).
    const auto choice = better_blas_core("Prescott", x86(true, true));
    ASSERT_TRUE(choice.has_value());
    EXPECT_EQ(choice->core, "SkylakeX");
    EXPECT_NE(choice->why.find("Prescott"), std::string::npos) << choice->why;
    EXPECT_NE(choice->why.find("AVX-512"), std::string::npos) << choice->why;
}

TEST(BlasCore, AnUnrecognisedAvx2CpuGetsTheHaswellKernels) {
    for (const char* generic : {"Prescott", "Core2", "Nehalem", "Sandybridge", "Barcelona", "prescott"}) {
        const auto choice = better_blas_core(generic, x86(true, false));
        ASSERT_TRUE(choice.has_value()) << generic;
        EXPECT_EQ(choice->core, "Haswell") << generic;
    }
}

TEST(BlasCore, KeepsWhatOpenBlasChoseForACpuItKnows) {
    for (const char* known : {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"}) {
        EXPECT_FALSE(better_blas_core(known, x86(true, true)).has_value()) << known;
        EXPECT_FALSE(better_blas_core(known, x86(true, false)).has_value()) << known;
    }
}

TEST(BlasCore, AnOldCpuKeepsItsOldKernels) {
    // A CPU without AVX2 really is one of the older cores: nothing better exists for it.
    EXPECT_FALSE(better_blas_core("Prescott", x86(false, false)).has_value());
    EXPECT_FALSE(better_blas_core("Sandybridge", x86(false, false)).has_value());
}

TEST(BlasCore, OtherArchitecturesKeepOpenBlasChoice) {
    // The Raspberry Pi 5's Cortex-A76 gets OpenBLAS 0.3.21's generic armv8 kernels; no other set has been
    // measured faster on it, so it is left alone.
    const CpuFacts other{};
    EXPECT_FALSE(better_blas_core("armv8", other).has_value());
    EXPECT_FALSE(better_blas_core("Prescott", other).has_value());
    EXPECT_FALSE(better_blas_core("armv8", x86(true, true)).has_value());  // not one of the x86 fallbacks
}

TEST(BlasCore, ThisProcessRunsKernelsThatSuitItsCpuOrSaysWhy) {
    // Test programs are not restarted: where OpenBLAS fell back here, the summary must say so, and name the
    // better kernels; where it did not, it names OpenBLAS's own choice.
    const std::string core = blas_core();
    ASSERT_FALSE(core.empty());
    const std::string summary = blas_core_summary();
    EXPECT_EQ(summary.rfind(core + " kernels", 0), 0u) << summary;
    const auto better = better_blas_core(core, this_cpu());
    if (better && std::getenv(kOpenBlasOwnCoreVariable) == nullptr) {
        EXPECT_NE(summary.find("a generic fallback"), std::string::npos) << summary;
        EXPECT_NE(summary.find(better->core), std::string::npos) << summary;
        // What a failed restart leaves for the log (cli/blas_core_restart.cpp sets the variable).
        if (std::getenv(kOpenBlasCoreVariable) != nullptr) return;  // the user's choice is reported instead
        setenv(kOpenBlasRestartFailedVariable, "Permission denied", 1);
        const std::string failed = blas_core_summary();
        unsetenv(kOpenBlasRestartFailedVariable);
        EXPECT_NE(failed.find(", not taken: starting again with OPENBLAS_CORETYPE=" + better->core +
                              " failed: Permission denied"),
                  std::string::npos)
            << failed;
    } else {
        EXPECT_EQ(summary.find("generic"), std::string::npos) << summary;
    }
}

TEST(BlasCore, ReadsThisCpu) {
    const CpuFacts cpu = this_cpu();
#if defined(__x86_64__)
    EXPECT_EQ(cpu.arch, CpuFacts::Arch::kX86_64);
    EXPECT_EQ(cpu.avx2_fma, __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
    if (cpu.avx512) {
        EXPECT_TRUE(cpu.avx2_fma);
    }
#else
    EXPECT_EQ(cpu.arch, CpuFacts::Arch::kOther);
#endif
}

}  // namespace
}  // namespace hclip

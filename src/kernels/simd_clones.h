// HCLIP_SIMD_CLONES: compile a hot loop once more for x86-64-v3 (AVX2, FMA, F16C) and v4 (AVX-512), picked at
// load time by the CPU (GCC/Clang function multi-versioning). The default clone is the portable build (SSE2 on
// x86-64, NEON on aarch64, where no clones are made). Not under ThreadSanitizer: the clones' ifunc resolvers run
// before its runtime is up and crash the program at start.
#pragma once

#if defined(__x86_64__) && defined(__has_attribute) && !defined(__SANITIZE_THREAD__)
#if __has_attribute(target_clones)
#define HCLIP_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
#endif
#ifndef HCLIP_SIMD_CLONES
#define HCLIP_SIMD_CLONES
#endif

// HCLIP_SIMD_CLONES: put before a hot function to have it compiled once more for x86-64-v3 (AVX2, FMA, F16C) and
// v4 (AVX-512) and picked at load time by the CPU (GCC/Clang function multi-versioning); the default clone is the
// portable build (SSE2 on x86-64, NEON on aarch64, where no clones are made). Inline helpers it calls are compiled
// into every clone. Not under ThreadSanitizer: the clones' ifunc resolvers run before its runtime is up and crash
// the program at start.
#pragma once

#if defined(__x86_64__) && defined(__has_attribute) && !defined(__SANITIZE_THREAD__)
#if __has_attribute(target_clones)
#define HCLIP_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
#endif
#ifndef HCLIP_SIMD_CLONES
#define HCLIP_SIMD_CLONES
#endif

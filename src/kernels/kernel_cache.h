// GEMM kernel timings kept on disk, so a start-up on the same machine skips timing them again. The file is keyed by
// what the timings depend on: the CPU model and core count, both GEMM libraries' builds, the compute threads and
// the numbers multiplied (float32, or bf16 under clip.compute bf16, kept in a file of their own); a file written
// under another key is ignored (and replaced on the next write).
#pragma once

#include <string>

#include "core/status.h"
#include "kernels/kernel_choice.h"
#include "kernels/packed_gemm.h"

namespace hclip {

struct GemmCacheKey {
    std::string cpu;        // "AMD EPYC 9R14, 2 cores"
    std::string libraries;  // gemm_library_version() and packed_gemm_library_version()
    int threads = 0;        // compute_threads()
    std::string products;   // "float32" or "bf16"
    bool operator==(const GemmCacheKey&) const = default;
};

// This process's key (the compute pool's current thread count) for products of that type.
GemmCacheKey current_gemm_cache_key(PackedType products = PackedType::kF32);

// The timings in `path`. not_found: there is no file; unavailable: it was written under
// another key (the message says which part differs); data_loss: it is not a timings file or is cut short.
Result<GemmTimings> read_gemm_cache(const std::string& path, const GemmCacheKey& key);

// Writes `timings` under `key`, creating the directory; replaces the file atomically (a unique temporary file,
// then rename), so concurrent writers and readers never see half a file.
Status write_gemm_cache(const std::string& path, const GemmCacheKey& key, const GemmTimings& timings);

// Where the service keeps the file unless configured: $CACHE_DIRECTORY (systemd's CacheDirectory=), else
// $XDG_CACHE_HOME/hailo-clip, else $HOME/.cache/hailo-clip; "" when none of them is set.
std::string default_gemm_cache_path();

// The file for products of that type next to `path` (the float32 one): "gemm-kernels.txt" for float32,
// "gemm-kernels-bf16.txt" for bf16. "" stays "".
std::string gemm_cache_path_for(const std::string& path, PackedType products);

}  // namespace hclip

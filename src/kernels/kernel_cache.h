// GEMM kernel timings kept on disk, so a start-up on the same machine skips timing them again. The file is keyed by
// what the timings depend on: the CPU model and core count, both GEMM libraries' builds and the compute threads;
// a file written under another key is ignored (and replaced on the next write).
#pragma once

#include <string>

#include "core/status.h"
#include "kernels/kernel_choice.h"

namespace hclip {

struct GemmCacheKey {
    std::string cpu;        // "AMD EPYC 9R14, 2 cores"
    std::string libraries;  // gemm_library_version() and packed_gemm_library_version()
    int threads = 0;        // compute_threads()
    bool operator==(const GemmCacheKey&) const = default;
};

// This process's key (the compute pool's current thread count).
GemmCacheKey current_gemm_cache_key();

// The timings in `path`. not_found: there is no file; unavailable: it was written under
// another key (the message says which part differs); data_loss: it is not a timings file or is cut short.
Result<GemmTimings> read_gemm_cache(const std::string& path, const GemmCacheKey& key);

// Writes `timings` under `key`, creating the directory; replaces the file atomically (a unique temporary file,
// then rename), so concurrent writers and readers never see half a file.
Status write_gemm_cache(const std::string& path, const GemmCacheKey& key, const GemmTimings& timings);

// Where the service keeps the file unless configured: $CACHE_DIRECTORY (systemd's CacheDirectory=), else
// $XDG_CACHE_HOME/hailo-clip, else $HOME/.cache/hailo-clip; "" when none of them is set.
std::string default_gemm_cache_path();

}  // namespace hclip

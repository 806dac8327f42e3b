// The one process-wide pool of compute threads that every tower's matrix products and attention heads are split
// across, whichever inference worker runs them. A lone request gets every core; concurrent requests share the
// cores without oversubscribing them, because pool threads only join in while fewer than compute_threads()
// threads of the process are computing (docs/architecture.md, "Threads").
//
// Shaped after onnxruntime's intra-op pool and ggml's threadpool: the caller always works on its own loop, helpers
// claim iterations with an atomic counter, and a loop started from inside a task runs inline. Unlike them, idle
// helpers sleep instead of spinning, because the service shares its machine (and spinning threads starved other
// work in the measurements of docs/performance.md).
#pragma once

#include <cstddef>

#include "core/function_ref.h"

namespace hclip {

// Threads that may compute at once in the whole process, callers included; 0 means one per core. Takes effect
// for the next parallel_for; safe to call at any time from any thread.
void set_compute_threads(int threads);
int compute_threads();

// The number of cores the machine reports (at least 1). Kernels split work into parts by this, never by
// compute_threads(), so a result does not depend on how many threads computed it.
int machine_cores();

// Products of fewer multiply-adds (about 20 us on one core) are not split: waking a pool thread would cost more
// than it saves.
inline constexpr double kMinSplitMultiplyAdds = 1 << 20;
// Element passes (a few operations per value) over fewer values stay on the calling thread too. Handing a part to
// a pool thread that watches for work costs about 0.3 us ("compute pool hand-off" in `hailo-clip bench`), so a
// pass of a few microseconds is worth splitting: an image's LayerNorm over 50 x 768 values (10.5 us on one core)
// is. Measured, passes of the two thresholds interleaved in one process: the ViT-B/32 image tower 0.4-1.6% faster
// with this one than with 64K values.
inline constexpr std::size_t kMinSplitValues = std::size_t{1} << 14;

// Runs task(i) for every i in [0, count) and returns when all have finished. The calling thread runs tasks
// itself; idle pool threads join while the process has fewer than compute_threads() threads computing. Called
// from inside a task, it runs the tasks inline on that thread. Tasks must not throw.
void parallel_for(int count, FunctionRef<void(int)> task);

// Runs part(begin, end) over [0, count) cut into min(parts, count) contiguous ranges, through parallel_for (one
// range: on the caller). The cut depends only on count and parts, so a caller that derives parts from the shape
// and machine_cores() gets the same result on any number of threads.
void parallel_ranges(int count, int parts, FunctionRef<void(int, int)> part);

// Counts the calling thread as computing for the scope's lifetime (a whole tower pass, including its
// single-threaded stretches between products), so pool threads do not join other callers' loops when every
// core already has a caller of its own. Nestable; parallel_for opens one itself.
class ComputeScope {
  public:
    ComputeScope();
    ~ComputeScope();
    ComputeScope(const ComputeScope&) = delete;
    ComputeScope& operator=(const ComputeScope&) = delete;
};

}  // namespace hclip

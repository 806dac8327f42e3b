// The kernel choice for every weight shape of a model, made once at load: forced by configuration, or from
// timings read from the cache file (kernels/kernel_cache.h) and taken on this machine for whatever it lacks.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "kernels/kernel_choice.h"
#include "kernels/packed_gemm.h"

namespace hclip {

struct GemmPlanOptions {
    GemmKernelMode mode = GemmKernelMode::kAuto;
    std::string cache_path = {};  // "" = keep no timings on disk
    // Weights smaller than this (only test models have them) are not timed (a timings file may still hold them): timing
    // them costs more at load than any choice could save. They take `small_kernel` where the build has it (packed won
    // every small product measured, docs/performance.md), else the first candidate.
    long min_timed_elements = 512 * 512;  // the smallest weight of a real CLIP model (a 512-wide text tower)
    GemmKernel small_kernel = GemmKernel::kPacked;
    PackedType products = PackedType::kF32;  // part of the timings file's key
    // Whether kPacked and kPanels compute from one packed copy (choose_gemm_kernel).
    bool packed_panels_shared = true;
};

struct GemmPlan {
    std::vector<GemmChoice> choices;  // one per shape, in shape order
    GemmTimings timings;              // those the auto choice was made from
    double timing_ms = 0.0;           // spent timing at this load (0 when all came from the cache)
    int timed = 0, cached = 0;        // timings taken now / read from the cache file
    std::vector<std::string> notes;   // what happened to the cache file, for the log

    const GemmChoice* find(GemmShape shape) const;
    // Log lines: how the choice was made, then one per shape.
    std::vector<std::string> describe() const;
};

// Seconds per product (a failure: the kernel cannot run that shape, and is not chosen for it).
using GemmMeasure = std::function<Result<double>(GemmShape shape, int m, GemmKernel kernel)>;

// The choice for `shapes` among `candidates` (auto: every one is timed at every row bucket through `measure` unless
// the cache has it; a forced kernel missing from the candidates falls back to the first candidate). Cache
// problems never fail the load: they end up in notes.
GemmPlan plan_gemm_kernels(std::span<const GemmShape> shapes, const GemmPlanOptions& options,
                           std::span<const GemmKernel> candidates, const GemmMeasure& measure);

}  // namespace hclip

#include "kernels/kernel_plan.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <set>

#include "core/timer.h"
#include "kernels/kernel_cache.h"

namespace hclip {

namespace {
// Re-timings of a shape whose first timings chose two kernels (see below).
constexpr int kRetimeRounds = 2;
}  // namespace

const GemmChoice* GemmPlan::find(GemmShape shape) const {
    for (const GemmChoice& c : choices) {
        if (c.shape == shape) return &c;
    }
    return nullptr;
}

std::vector<std::string> GemmPlan::describe() const {
    std::vector<std::string> lines = notes;
    char text[200];
    if (timed + cached > 0) {
        std::snprintf(text, sizeof text,
                      "gemm kernels: chosen by timing, %d timings taken in %.0f ms, %d from the cache", timed,
                      timing_ms, cached);
        lines.emplace_back(text);
    }
    for (const GemmChoice& c : choices)
        lines.push_back("gemm kernel for " + gemm_shape_name(c.shape) + " weights: " + c.describe());
    return lines;
}

GemmPlan plan_gemm_kernels(std::span<const GemmShape> shapes, const GemmPlanOptions& options,
                           std::span<const GemmKernel> candidates, const GemmMeasure& measure) {
    GemmPlan plan;
    const std::span<const int> rows = gemm_row_buckets();
    if (candidates.empty()) return plan;
    if (options.mode != GemmKernelMode::kAuto || candidates.size() == 1) {
        GemmKernel kernel = candidates[0];
        const auto wanted = parse_gemm_kernel(gemm_kernel_mode_name(options.mode));
        if (wanted && std::find(candidates.begin(), candidates.end(), *wanted) != candidates.end()) kernel = *wanted;
        for (GemmShape s : shapes)
            plan.choices.push_back(forced_gemm_choice(s, rows, kernel));
        if (wanted && kernel != *wanted) {
            plan.notes.push_back("gemm kernels: performance.gemm_kernel asks for " +
                                 std::string(gemm_kernel_name(*wanted)) + ", which this build or CPU does not have");
        }
        plan.notes.push_back("gemm kernels: " + std::string(gemm_kernel_name(kernel)) + " for every shape (" +
                             (options.mode == GemmKernelMode::kAuto ? "the only kernel of this build"
                              : kernel == wanted                    ? "performance.gemm_kernel"
                                                                    : "the first kernel of this build") +
                             ")");
        return plan;
    }
    const GemmCacheKey key = options.cache_path.empty() ? GemmCacheKey{} : current_gemm_cache_key(options.products);
    if (!options.cache_path.empty()) {
        auto cached = read_gemm_cache(options.cache_path, key);
        if (cached.ok()) {
            plan.timings = std::move(cached).value();
        } else if (cached.status().code() != StatusCode::kNotFound) {
            plan.notes.push_back("gemm kernels: ignoring the timings file: " + cached.status().message());
        }
    }
    Stopwatch sw;
    std::set<GemmShape> timed_now;
    const bool has_small_kernel =
        std::find(candidates.begin(), candidates.end(), options.small_kernel) != candidates.end();
    const auto is_small = [&](GemmShape s) { return static_cast<long>(s.n) * s.k < options.min_timed_elements; };
    const auto fully_timed = [&](GemmShape s) {
        for (int m : rows) {
            for (GemmKernel k : candidates) {
                if (!plan.timings.contains({s, m, k})) return false;
            }
        }
        return true;
    };
    for (GemmShape s : shapes) {
        if (is_small(s)) continue;
        for (int m : rows) {
            for (GemmKernel k : candidates) {
                const GemmTimingKey tk{s, m, k};
                if (plan.timings.contains(tk)) {
                    ++plan.cached;
                    continue;
                }
                auto seconds = measure(s, m, k);
                ++plan.timed;
                timed_now.insert(s);
                // A kernel that cannot run the shape is simply never chosen (no timing: infinitely slow).
                if (seconds.ok()) plan.timings[tk] = *seconds;
            }
        }
    }
    for (GemmShape s : shapes) {
        if (is_small(s) && !fully_timed(s)) {
            plan.choices.push_back(
                forced_gemm_choice(s, rows, has_small_kernel ? options.small_kernel : candidates[0]));
            continue;
        }
        GemmChoice choice = choose_gemm_kernel(s, rows, candidates, plan.timings, options.packed_panels_shared);
        // A second kernel for a shape costs a second copy of its weights; a burst of other work on the machine
        // during one timing can fake such a win. So the buckets whose kernel needs another copy than the first
        // bucket's are timed again (fastest of all runs kept) before the choice is final.
        for (int round = 0; round < kRetimeRounds && timed_now.contains(s); ++round) {
            const auto& ks = choice.kernels;
            const auto other_copy = [&](GemmKernel x) { return !same_copy(x, ks[0], options.packed_panels_shared); };
            if (std::none_of(ks.begin(), ks.end(), other_copy)) break;
            for (std::size_t i = 0; i < rows.size(); ++i) {
                if (!other_copy(choice.kernels[i])) continue;
                for (GemmKernel k : candidates) {
                    auto seconds = measure(s, rows[i], k);
                    ++plan.timed;
                    auto& best = plan.timings[{s, rows[i], k}];
                    if (seconds.ok() && (best == 0.0 || *seconds < best)) best = *seconds;
                }
            }
            choice = choose_gemm_kernel(s, rows, candidates, plan.timings, options.packed_panels_shared);
        }
        plan.choices.push_back(std::move(choice));
    }
    plan.timing_ms = plan.timed > 0 ? sw.elapsed_ms() : 0.0;
    if (plan.timed > 0 && !options.cache_path.empty()) {
        const Status written = write_gemm_cache(options.cache_path, key, plan.timings);
        plan.notes.push_back(written.ok() ? "gemm kernels: timings saved to '" + options.cache_path + "'"
                                          : "gemm kernels: timings not saved: " + written.message());
    }
    return plan;
}

}  // namespace hclip

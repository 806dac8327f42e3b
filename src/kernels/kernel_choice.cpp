#include "kernels/kernel_choice.h"

#include <algorithm>
#include <iterator>
#include <limits>

namespace hclip {

std::string_view gemm_kernel_name(GemmKernel kernel) {
    switch (kernel) {
        case GemmKernel::kPlain:
            return "plain";
        case GemmKernel::kPacked:
            return "packed";
        case GemmKernel::kPanels:
            return "panels";
    }
    return "unknown";
}

std::optional<GemmKernel> parse_gemm_kernel(std::string_view name) {
    for (GemmKernel k : {GemmKernel::kPlain, GemmKernel::kPacked, GemmKernel::kPanels}) {
        if (gemm_kernel_name(k) == name) return k;
    }
    return std::nullopt;
}

std::string_view gemm_kernel_mode_name(GemmKernelMode mode) {
    switch (mode) {
        case GemmKernelMode::kAuto:
            return "auto";
        case GemmKernelMode::kPacked:
            return "packed";
        case GemmKernelMode::kPlain:
            return "plain";
        case GemmKernelMode::kPanels:
            return "panels";
    }
    return "unknown";
}

std::optional<GemmKernelMode> parse_gemm_kernel_mode(std::string_view name) {
    for (GemmKernelMode m :
         {GemmKernelMode::kAuto, GemmKernelMode::kPacked, GemmKernelMode::kPlain, GemmKernelMode::kPanels}) {
        if (gemm_kernel_mode_name(m) == name) return m;
    }
    return std::nullopt;
}

std::string gemm_shape_name(GemmShape shape) {
    return std::to_string(shape.n) + "x" + std::to_string(shape.k);
}

std::span<const int> gemm_row_buckets() {
    // 1: a projection of one embedding; 8: a short prompt; 64: one image (50 rows); up to 512: batches.
    static constexpr int kRows[] = {1, 8, 32, 64, 128, 256, 512};
    return kRows;
}

GemmKernel GemmChoice::kernel_for(int m) const {
    for (std::size_t i = 0; i < bucket_rows.size(); ++i) {
        if (m <= bucket_rows[i]) return kernels[i];
    }
    return kernels.empty() ? GemmKernel::kPlain : kernels.back();
}

bool GemmChoice::uses(GemmKernel kernel) const {
    return std::find(kernels.begin(), kernels.end(), kernel) != kernels.end();
}

bool GemmChoice::uses_packed_copy() const {
    return uses(GemmKernel::kPacked) || uses(GemmKernel::kPanels);
}

bool same_copy(GemmKernel a, GemmKernel b, bool packed_panels_shared) {
    if (a == b) return true;
    if (a == GemmKernel::kPlain || b == GemmKernel::kPlain) return false;
    return packed_panels_shared;  // kPacked and kPanels
}

std::string GemmChoice::describe() const {
    std::string text;
    std::size_t i = 0;
    while (i < kernels.size()) {
        std::size_t j = i;
        while (j + 1 < kernels.size() && kernels[j + 1] == kernels[i])
            ++j;
        if (!text.empty()) text += ", ";
        text += gemm_kernel_name(kernels[i]);
        if (i == 0 && j + 1 == kernels.size()) break;  // one kernel for every row count
        if (i == 0)
            text += " for m <= " + std::to_string(bucket_rows[j]);
        else if (j + 1 == kernels.size())
            text += " for m > " + std::to_string(bucket_rows[i - 1]);
        else
            text += " for m in " + std::to_string(bucket_rows[i - 1] + 1) + ".." + std::to_string(bucket_rows[j]);
        i = j + 1;
    }
    return text;
}

GemmChoice forced_gemm_choice(GemmShape shape, std::span<const int> rows, GemmKernel kernel) {
    return {shape, std::vector<int>(rows.begin(), rows.end()), std::vector<GemmKernel>(rows.size(), kernel)};
}

namespace {

double timed_seconds(const GemmTimings& timings, GemmShape shape, int m, GemmKernel k) {
    const auto it = timings.find({shape, m, k});
    return it == timings.end() ? std::numeric_limits<double>::infinity() : it->second;
}

// The summed slow-down over the buckets of `kernels` (one per bucket) against each bucket's fastest candidate.
double slow_down(GemmShape shape, std::span<const int> rows, std::span<const GemmKernel> kernels,
                 std::span<const GemmKernel> candidates, const GemmTimings& timings) {
    double score = 0.0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        double fastest = std::numeric_limits<double>::infinity();
        for (GemmKernel other : candidates)
            fastest = std::min(fastest, timed_seconds(timings, shape, rows[i], other));
        score += timed_seconds(timings, shape, rows[i], kernels[i]) / fastest;
    }
    return score;
}

GemmChoice choose_among(GemmShape shape, std::span<const int> rows, std::span<const GemmKernel> candidates,
                        const GemmTimings& timings, bool packed_panels_shared) {
    const auto seconds = [&](int m, GemmKernel k) { return timed_seconds(timings, shape, m, k); };
    GemmChoice choice = forced_gemm_choice(shape, rows, candidates.empty() ? GemmKernel::kPlain : candidates[0]);
    if (candidates.size() < 2) return choice;
    // The main kernel: the least summed slow-down against each bucket's fastest.
    GemmKernel main = candidates[0];
    double best_score = std::numeric_limits<double>::infinity();
    for (GemmKernel k : candidates) {
        const std::vector<GemmKernel> all_k(rows.size(), k);
        const double score = slow_down(shape, rows, all_k, candidates, timings);
        if (score < best_score) {
            best_score = score;
            main = k;
        }
    }
    for (std::size_t i = 0; i < rows.size(); ++i) {
        GemmKernel pick = main;
        for (GemmKernel k : candidates) {
            const double margin =
                1.0 + (same_copy(k, main, packed_panels_shared) ? kMinGainSameCopy : kMinGainForSecondKernel);
            if (seconds(rows[i], main) > margin * seconds(rows[i], k) && seconds(rows[i], k) < seconds(rows[i], pick)) {
                pick = k;
            }
        }
        choice.kernels[i] = pick;
    }
    return choice;
}

}  // namespace

GemmChoice choose_gemm_kernel(GemmShape shape, std::span<const int> rows, std::span<const GemmKernel> candidates,
                              const GemmTimings& timings, bool packed_panels_shared) {
    const auto has = [&](GemmKernel k) {
        return std::find(candidates.begin(), candidates.end(), k) != candidates.end();
    };
    if (packed_panels_shared || !has(GemmKernel::kPacked) || !has(GemmKernel::kPanels))
        return choose_among(shape, rows, candidates, timings, packed_panels_shared);
    // Two packed copies for one matrix are never kept: choose without one of them, then without the other.
    const auto without = [&](GemmKernel dropped) {
        std::vector<GemmKernel> kept;
        std::copy_if(candidates.begin(), candidates.end(), std::back_inserter(kept),
                     [&](GemmKernel k) { return k != dropped; });
        return choose_among(shape, rows, kept, timings, packed_panels_shared);
    };
    GemmChoice packed = without(GemmKernel::kPanels), panels = without(GemmKernel::kPacked);
    // Judged where a single request's products fall (kLatencyRows), else on every bucket.
    std::vector<int> judged;
    std::vector<GemmKernel> judged_panels, judged_packed;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (rows[i] < kLatencyRows.first || rows[i] > kLatencyRows.second) continue;
        judged.push_back(rows[i]);
        judged_panels.push_back(panels.kernels[i]);
        judged_packed.push_back(packed.kernels[i]);
    }
    if (judged.empty()) {
        judged.assign(rows.begin(), rows.end());
        judged_panels = panels.kernels;
        judged_packed = packed.kernels;
    }
    return slow_down(shape, judged, judged_panels, candidates, timings) <
                   slow_down(shape, judged, judged_packed, candidates, timings)
               ? std::move(panels)
               : std::move(packed);
}

bool use_packed(const PackedWeights* packed, const void* plain, const GemmChoice* choice, int m) {
    if (packed == nullptr) return false;
    if (plain == nullptr || choice == nullptr) return true;
    return choice->kernel_for(m) != GemmKernel::kPlain;
}

bool use_panels(const GemmChoice* choice, int m) {
    return choice != nullptr && choice->kernel_for(m) == GemmKernel::kPanels;
}

}  // namespace hclip

#include "kernels/kernel_choice.h"

#include <algorithm>
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

bool same_copy(GemmKernel a, GemmKernel b) {
    return (a == GemmKernel::kPlain) == (b == GemmKernel::kPlain);
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

GemmChoice choose_gemm_kernel(GemmShape shape, std::span<const int> rows, std::span<const GemmKernel> candidates,
                              const GemmTimings& timings) {
    const auto seconds = [&](int m, GemmKernel k) {
        const auto it = timings.find({shape, m, k});
        return it == timings.end() ? std::numeric_limits<double>::infinity() : it->second;
    };
    GemmChoice choice = forced_gemm_choice(shape, rows, candidates.empty() ? GemmKernel::kPlain : candidates[0]);
    if (candidates.size() < 2) return choice;
    // The main kernel: the least summed slow-down against each bucket's fastest.
    GemmKernel main = candidates[0];
    double best_score = std::numeric_limits<double>::infinity();
    for (GemmKernel k : candidates) {
        double score = 0.0;
        for (int m : rows) {
            double fastest = std::numeric_limits<double>::infinity();
            for (GemmKernel other : candidates)
                fastest = std::min(fastest, seconds(m, other));
            score += seconds(m, k) / fastest;
        }
        if (score < best_score) {
            best_score = score;
            main = k;
        }
    }
    for (std::size_t i = 0; i < rows.size(); ++i) {
        GemmKernel pick = main;
        for (GemmKernel k : candidates) {
            const double margin = 1.0 + (same_copy(k, main) ? kMinGainSameCopy : kMinGainForSecondKernel);
            if (seconds(rows[i], main) > margin * seconds(rows[i], k) && seconds(rows[i], k) < seconds(rows[i], pick)) {
                pick = k;
            }
        }
        choice.kernels[i] = pick;
    }
    return choice;
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

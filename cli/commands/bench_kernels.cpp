#include "cli/commands/bench_kernels.h"

#include <cstdio>
#include <set>
#include <string>

#include "kernels/kernel_timing.h"

namespace hclip::cli {

double print_gemm_kernel_table(const ClipModel& model, double peak) {
    const GemmPlan& plan = model.gemm_plan();
    std::printf("gemm kernels at load:\n");
    for (const std::string& line : plan.describe())
        std::printf("  %s\n", line.c_str());
    if (plan.choices.empty()) std::printf("  none (weights not packed: plain for every shape)\n");
    const PackedType products = model.compute() == ComputePrecision::kBf16 ? PackedType::kBf16 : PackedType::kF32;
    const std::vector<GemmKernel> candidates = available_gemm_kernels(products);
    if (plan.choices.empty() || candidates.size() < 2) return 0.0;

    // Timed again now, next to the peak: chosen and rejected kernels in the same run.
    GemmKernelTimer timer(products);
    GemmTimings now;
    double best = 0.0;
    std::printf("gemm kernels timed now (%sGFLOP/s, %% of the float32 peak; * = faster now, [x] = chosen at load):\n",
                products == PackedType::kBf16 ? "bf16 products, " : "");
    std::printf("  %-10s %5s", "weights", "m");
    for (GemmKernel k : candidates)
        std::printf(" %19s", std::string(gemm_kernel_name(k)).c_str());
    std::printf("\n");
    for (const GemmChoice& choice : plan.choices) {
        for (int m : gemm_row_buckets()) {
            std::printf("  %-10s %5d", gemm_shape_name(choice.shape).c_str(), m);
            double fastest = 1e30;
            std::vector<double> seconds;
            for (GemmKernel k : candidates) {
                auto s = timer.seconds(choice.shape, m, k);
                seconds.push_back(s.ok() ? *s : 0.0);
                if (s.ok()) {
                    now[{choice.shape, m, k}] = *s;
                    fastest = std::min(fastest, *s);
                }
            }
            for (std::size_t i = 0; i < candidates.size(); ++i) {
                if (seconds[i] <= 0.0) {
                    std::printf(" %19s", "n/a");
                    continue;
                }
                const double gflops = 2.0 * m * choice.shape.n * choice.shape.k / (seconds[i] * 1e9);
                best = std::max(best, gflops);
                const bool chosen = choice.kernel_for(m) == candidates[i];
                char cell[64];
                std::snprintf(cell, sizeof cell, "%s%.1f (%.0f%%)%s%s", chosen ? "[" : " ", gflops,
                              peak > 0.0 ? 100.0 * gflops / peak : 0.0, chosen ? "]" : " ",
                              seconds[i] == fastest ? "*" : " ");
                std::printf(" %19s", cell);
            }
            std::printf("\n");
        }
    }
    // Where the fresh timings would choose differently (timing noise on a busy machine, or a stale cache file).
    int differ = 0;
    for (const GemmChoice& choice : plan.choices) {
        const GemmChoice again = choose_gemm_kernel(choice.shape, gemm_row_buckets(), candidates, now,
                                                    packed_library_layout_is_panels(products));
        if (again.kernels != choice.kernels) {
            ++differ;
            std::printf("  %s: timed now it would be %s\n", gemm_shape_name(choice.shape).c_str(),
                        again.describe().c_str());
        }
    }
    if (differ == 0) std::printf("  timed now, the choice is the same for every shape\n");
    return best;
}

}  // namespace hclip::cli

#include "cli/commands/bench_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "kernels/compute_pool.h"

namespace hclip::cli {

namespace {

using Clock = std::chrono::steady_clock;

double microseconds(Clock::duration d) {
    return std::chrono::duration<double, std::micro>(d).count();
}

// Busy for about `us` microseconds: a stand-in for one part of a small product.
void busy_for(double us) {
    const auto until = Clock::now() + std::chrono::duration<double, std::micro>(us);
    while (Clock::now() < until) {
    }
}

}  // namespace

void print_pool_handoff() {
    if (compute_threads() < 2 || machine_cores() < 2) return;
    constexpr int kLoops = 2000;
    constexpr double kPartMicroseconds = 20.0;  // a 50-row part of a 768x768 product is about this long
    const auto caller = std::this_thread::get_id();
    int joined = 0;
    std::vector<double> lag;
    lag.reserve(kLoops);
    for (int i = 0; i < kLoops; ++i) {
        const auto start = Clock::now();
        Clock::time_point second_start;
        bool other_thread = false;
        parallel_for(2, [&](int part) {
            if (part == 1) {
                second_start = Clock::now();
                other_thread = std::this_thread::get_id() != caller;
            }
            busy_for(kPartMicroseconds);
        });
        if (other_thread) {
            ++joined;
            lag.push_back(microseconds(second_start - start));
        }
    }
    std::sort(lag.begin(), lag.end());
    const auto at = [&](double q) { return lag.empty() ? 0.0 : lag[static_cast<std::size_t>(q * (lag.size() - 1))]; };
    std::printf(
        "compute pool hand-off: a pool thread took the second part of %.1f%% of %d two-part loops of %.0f us each "
        "(the caller took the rest), starting %.2f us after the loop (median; p99 %.2f us)\n",
        100.0 * joined / kLoops, kLoops, kPartMicroseconds, at(0.5), at(0.99));
}

}  // namespace hclip::cli
